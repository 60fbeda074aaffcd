import { EventEmitter } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** Bytes an answer holds back before anyone reads it; past this, the upstream connection is paused. */
const HELD_BYTES_MAX = 64 * 1024;
/** What `dump()` reads off an unwanted answer so its connection can be reused; a longer one costs its connection. */
const DUMP_BYTES_MAX = 128 * 1024;

/**
 * The body of an upstream answer, handed over chunk by chunk as undici's
 * parser produces it (its dispatch API): no Readable, no promise, no
 * `nextTick` per chunk in between, which on a small JSON answer was most of
 * what the edge spent on the upstream's answer (docs/performance.md).
 *
 * Chunks are held until a consumer attaches (a small answer usually arrives
 * whole with its headers, before anyone could listen), then passed on as they
 * come; while the consumer takes no more, the upstream connection is paused.
 * Emits `error` if the answer fails after it started (to whoever listens
 * then, or at the consumer's attaching if it failed before), and `close`
 * once: after the end was handed on, a failure, or {@link destroy}.
 */
export class UpstreamBody extends EventEmitter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private deliver: ((chunk: Buffer) => void) | null = null;
  /** Ends the consumer, with the answer's last chunk when it is still held (a response then sends it in its `end`). */
  private deliverEnd: ((last: Buffer | undefined) => void) | null = null;
  /** The consumer takes no more for now (a full socket, a full Readable). */
  private paused = false;
  /** undici's parser was told to stop reading the answer. */
  private upstreamPaused = false;
  private ended = false;
  private closed = false;
  /** Why the answer failed, for a consumer that attaches after it did. */
  private failure: Error | null = null;

  /** `upstream`: the request's dispatch controller, which pauses, resumes and aborts it. */
  constructor(private readonly upstream: Dispatcher.DispatchController) {
    super();
  }

  /** Whether the answer ended, failed or was destroyed: nothing more comes. */
  get done(): boolean {
    return this.closed;
  }

  /** Writes every chunk to `target` as it comes and ends it with the answer; the upstream waits while `target` is full. */
  forwardTo(target: Writable): void {
    const resume = (): void => this.resume();
    this.attach(
      (chunk) => {
        if (target.write(chunk)) return;
        this.paused = true;
        target.once('drain', resume);
      },
      // end(last) rather than write(last) and end(): a response's write() corks its socket until the next tick.
      (last) => (last === undefined ? target.end() : target.end(last)),
    );
  }

  /** The answer as a Readable, for a consumer that needs one (a Transform to pipe it through). Errors are not passed on: listen here for them. */
  toReadable(): Readable {
    const readable = new Readable({
      read: () => this.resume(),
      destroy: (error, callback) => {
        this.destroy();
        callback(error);
      },
    });
    this.attach(
      (chunk) => {
        if (!readable.push(chunk)) this.paused = true;
      },
      (last) => {
        if (last !== undefined) readable.push(last);
        readable.push(null);
      },
    );
    return readable;
  }

  /** Reads off an unwanted answer (bounded) so its connection can carry the next request; a longer one is cut, costing that connection. */
  dump(): void {
    let read = 0;
    this.attach(
      (chunk) => {
        read += chunk.length;
        if (read > DUMP_BYTES_MAX) this.destroy();
      },
      () => undefined,
    );
  }

  /** Stops the answer: the upstream request is aborted unless it already ended. */
  destroy(): void {
    if (this.closed) return;
    const unfinished = !this.ended;
    this.close();
    if (unfinished) this.upstream.abort(new Error('the upstream answer was not wanted any more'));
  }

  /** From the dispatch handler: one chunk of the answer. */
  push(chunk: Buffer): void {
    if (this.closed) return;
    if (this.deliver !== null && !this.paused && this.held.length === 0) {
      this.deliver(chunk);
    } else {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
    }
    if (this.closed || !(this.paused || this.heldBytes >= HELD_BYTES_MAX)) return;
    this.upstreamPaused = true;
    this.upstream.pause();
  }

  /** From the dispatch handler: the answer ended. */
  finish(): void {
    if (this.closed) return;
    this.ended = true;
    this.flush();
  }

  /** From the dispatch handler: the answer failed after it started. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.close();
  }

  private attach(deliver: (chunk: Buffer) => void, deliverEnd: (last: Buffer | undefined) => void): void {
    if (this.deliver !== null) throw new Error('an upstream answer has one consumer');
    this.deliver = deliver;
    this.deliverEnd = deliverEnd;
    // Failed before anyone listened (between the head's promise and its consumer): told now, to whoever listens.
    if (this.failure !== null && this.listenerCount('error') > 0) this.emit('error', this.failure);
    this.flush();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flush();
  }

  /** Hands on what is held while the consumer takes it, then the end (with the last chunk), then lets the upstream go on. */
  private flush(): void {
    if (this.deliver === null || this.closed) return;
    // Once the answer ended, its last held chunk goes with the end.
    while (this.held.length > (this.ended ? 1 : 0) && !this.paused) {
      const chunk = this.held.shift()!;
      this.heldBytes -= chunk.length;
      this.deliver(chunk);
      if (this.closed) return;
    }
    if (this.paused) return;
    if (this.ended) {
      this.deliverEnd!(this.held.pop());
      this.close();
      return;
    }
    if (this.upstreamPaused) {
      this.upstreamPaused = false;
      this.upstream.resume();
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    this.heldBytes = 0;
    this.emit('close');
  }
}
