/** One server-sent event: its type (`message` when unnamed) and its data lines joined by `\n`. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/** The most an event may hold before the stream is refused: a legacy upstream's messages arrive whole as one event. */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * An incremental `text/event-stream` reader (WHATWG HTML §9.2.6): fed decoded
 * text in chunks of any size, it calls `onEvent` once per complete event.
 * Comments, `id` and `retry` fields are ignored (the edge never reconnects a
 * legacy stream: it opens a new one and initializes again).
 * @throws Error from `feed` when one event grows past {@link MAX_EVENT_CHARS}
 */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private dataChars = 0;
  /** A chunk ended on `\r`: a `\n` starting the next one belongs to the same line break. */
  private skipLeadingLf = false;

  constructor(private readonly onEvent: (event: ServerSentEvent) => void) {}

  feed(chunk: string): void {
    if (this.skipLeadingLf && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.skipLeadingLf = false;
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', start);
      const lf = this.buffer.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      this.line(this.buffer.slice(start, end));
      if (this.buffer[end] === '\r' && this.buffer[end + 1] === '\n') start = end + 2;
      else {
        start = end + 1;
        if (this.buffer[end] === '\r' && start === this.buffer.length) this.skipLeadingLf = true;
      }
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.dataChars > MAX_EVENT_CHARS) throw new Error('server-sent event too large');
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length + 1;
      if (this.dataChars > MAX_EVENT_CHARS) throw new Error('server-sent event too large');
    }
  }

  private dispatch(): void {
    const event = { event: this.event || 'message', data: this.data.join('\n') };
    const hadData = this.data.length > 0;
    this.event = '';
    this.data = [];
    this.dataChars = 0;
    // An event without data lines is not dispatched (WHATWG).
    if (hadData) this.onEvent(event);
  }
}

/** One event as written to a client. */
export function serverSentEvent(data: string, event = 'message'): string {
  return `event: ${event}\ndata: ${data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}
