import { checkInjectedHeaders, clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers';

describe('upstreamRequestHeaders', () => {
  it('forwards the transport headers and drops the gateway token, cookies and the client\'s (sealed) session id', () => {
    const { headers } = upstreamRequestHeaders(
      {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 's1',
        'mcp-protocol-version': '2025-06-18',
        'last-event-id': 'e9',
        authorization: 'Bearer gateway-token',
        cookie: 'session=1',
        'x-forwarded-for': '10.0.0.1',
        host: 'gateway.example',
      },
      {},
    );
    expect(headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      'last-event-id': 'e9',
    });
  });

  it('sends the upstream its own session id, restored from the sealed one', () => {
    expect(upstreamRequestHeaders({ 'mcp-session-id': 'sealed' }, {}, 'upstream-session').headers).toEqual({ 'mcp-session-id': 'upstream-session' });
  });

  it('injects the credential headers, including an upstream Authorization', () => {
    const { headers } = upstreamRequestHeaders({ authorization: 'Bearer gateway-token' }, { Authorization: 'Bearer upstream-token', 'X-Api-Key': 'k' });
    expect(headers).toEqual({ authorization: 'Bearer upstream-token', 'x-api-key': 'k' });
  });

  it('stops an injected header from splitting the request or rewriting the protocol', () => {
    const { headers, refused } = upstreamRequestHeaders(
      { 'mcp-session-id': 'sealed' },
      { 'X-Evil': 'a\r\nX-Injected: 1', 'Mcp-Session-Id': 'theirs', Host: 'elsewhere', Accept: 'text/html', 'Bad Name': 'v' },
      'mine',
    );
    expect(headers).toEqual({ 'mcp-session-id': 'mine' });
    expect(refused.sort()).toEqual(['Accept', 'Bad Name', 'Host', 'Mcp-Session-Id', 'X-Evil']);
  });
});

describe('checkInjectedHeaders', () => {
  it('stops header splitting from a cached (frozen) credential on every call, checking it once', () => {
    const cached = Object.freeze({ 'X-Api-Key': 'k', 'X-Evil': 'a\r\nX-Injected: 1' });
    const first = checkInjectedHeaders(cached);
    expect(first).toEqual({ safe: { 'x-api-key': 'k' }, refused: ['X-Evil'] });
    expect(checkInjectedHeaders(cached)).toBe(first);
    expect(upstreamRequestHeaders({}, cached)).toEqual({ headers: { 'x-api-key': 'k' }, refused: ['X-Evil'] });
  });

  it('checks a header object that may still change again on each call', () => {
    const mutable: Record<string, string> = { 'X-Api-Key': 'k' };
    expect(upstreamRequestHeaders({}, mutable).headers).toEqual({ 'x-api-key': 'k' });
    mutable['Host'] = 'elsewhere';
    expect(upstreamRequestHeaders({}, mutable)).toEqual({ headers: { 'x-api-key': 'k' }, refused: ['Host'] });
  });
});

describe('clientResponseHeaders', () => {
  it('returns the transport headers and never upstream cookies, challenges or the upstream\'s session id', () => {
    expect(
      clientResponseHeaders({
        'content-type': 'text/event-stream',
        'mcp-session-id': 's1',
        'set-cookie': ['a=1'],
        'www-authenticate': 'Bearer realm="upstream"',
        connection: 'keep-alive',
        'transfer-encoding': 'chunked',
      }),
    ).toEqual({ 'content-type': 'text/event-stream', 'x-accel-buffering': 'no' });
    expect(clientResponseHeaders({ 'content-type': 'application/json', 'mcp-session-id': 's1' }, 'sealed')).toEqual({ 'content-type': 'application/json', 'mcp-session-id': 'sealed' });
  });
});
