import { MAX_EVENT_CHARS, ServerSentEvent, SseParser, serverSentEvent } from './sse-parser';

function parse(chunks: string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const chunk of chunks) parser.feed(chunk);
  return events;
}

describe(SseParser.name, () => {
  const stream = 'event: endpoint\ndata: /message?sessionId=1\n\n: a comment\nid: 7\ndata: {"a":1}\n\nevent: message\ndata: line one\ndata: line two\n\n';
  const expected = [
    { event: 'endpoint', data: '/message?sessionId=1' },
    { event: 'message', data: '{"a":1}' },
    { event: 'message', data: 'line one\nline two' },
  ];

  it('reads named and unnamed events, multi-line data, and skips comments and ids', () => {
    expect(parse([stream])).toEqual(expected);
  });

  it('gives the same events whatever the chunking, one character at a time included', () => {
    expect(parse(stream.split(''))).toEqual(expected);
    expect(parse([stream.slice(0, 10), stream.slice(10, 37), stream.slice(37)])).toEqual(expected);
  });

  it('accepts CRLF and CR line breaks, a CRLF split across chunks included', () => {
    const crlf = stream.replace(/\n/g, '\r\n');
    expect(parse([crlf])).toEqual(expected);
    expect(parse(crlf.split(''))).toEqual(expected);
    expect(parse([stream.replace(/\n/g, '\r')])).toEqual(expected);
  });

  it('dispatches nothing for an event without data, nor for an unfinished one', () => {
    expect(parse(['event: ping\n\n', 'data: half'])).toEqual([]);
  });

  it('refuses an event larger than the bound instead of buffering it', () => {
    const parser = new SseParser(() => undefined);
    expect(() => {
      for (let i = 0; i < 20; i++) parser.feed(`data: ${'x'.repeat(MAX_EVENT_CHARS / 10)}\n`);
    }).toThrow('server-sent event too large');
  });

  it('writes events the parser reads back, data with line breaks included', () => {
    expect(parse([serverSentEvent('{"x":"a"}'), serverSentEvent('two\nlines', 'other')])).toEqual([
      { event: 'message', data: '{"x":"a"}' },
      { event: 'other', data: 'two\nlines' },
    ]);
  });
});
