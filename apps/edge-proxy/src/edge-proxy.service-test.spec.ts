import { request } from 'undici';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EventSubjects, RequestSubjects, ServerTarget } from '@portcullis/contracts';
import { MetricsRegistry } from '@portcullis/telemetry';
import { EchoMcpServer, freePort, startEchoMcpServer } from '@portcullis/testing';
import { eventually, initializeRequest, settle, MCP_HEADERS, principal, PUBLIC_URL, RunningEdge, startEdge, target } from '../test/edge-harness';
import { EdgeProxyModule } from './edge-proxy.module';

const GATEWAY_TOKEN = 'pcl_AbCdEfGh_gateway-secret-token';
const UPSTREAM_SECRET = 'upstream-secret-value';

describe(EdgeProxyModule.name, () => {
  let edge: RunningEdge;
  let echo: EchoMcpServer;
  let hanging: HangingUpstream;
  let echoServerId: string;
  let slow: ServerTarget;
  const alice = principal();

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    hanging = await startHangingUpstream();
    edge = await startEdge();
    echoServerId = edge.directory.addServer(target('echo', echo.url), {
      status: 'ready',
      credentialKind: 'header',
      credentialId: 'cred-echo',
      headers: { 'X-Upstream-Key': UPSTREAM_SECRET },
      expiresAt: null,
    }).id;
    edge.directory.addServer(target('down', `http://127.0.0.1:${await freePort()}/mcp`));
    slow = edge.directory.addServer(target('slow', hanging.url, { timeoutMs: 300 }));
    edge.directory.addServer(target('rejecting', `${hanging.url}?status=401`));
    edge.directory.addServer(target('legacy', echo.url, { transport: 'sse' }));
    edge.directory.addToken(GATEWAY_TOKEN, alice);
  });

  afterAll(async () => {
    await edge?.close();
    await echo?.close();
    await hanging?.close();
  });

  function connectClient(slug = 'echo', token = GATEWAY_TOKEN, extraHeaders: Record<string, string> = {}) {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl(slug)), {
      requestInit: { headers: { Authorization: `Bearer ${token}`, ...extraHeaders } },
    });
    const client = new Client({ name: 'service-test', version: '1.0.0' });
    return { client, transport, connect: () => client.connect(transport) };
  }

  /** The session id the upstream itself gave the client's session (the client holds a sealed one). */
  async function upstreamSessionOf(client: Client): Promise<string> {
    const result = await client.callTool({ name: 'request_headers', arguments: {} });
    return (JSON.parse((result.content as { text: string }[])[0].text) as Record<string, string>)['mcp-session-id'];
  }

  function post(slug: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${GATEWAY_TOKEN}` }) {
    return fetch(edge.mcpUrl(slug), { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body });
  }

  describe('proxying through the MCP SDK client', () => {
    it('lists tools and calls echo on the upstream', async () => {
      const { client, transport, connect } = connectClient();
      await connect();
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'request_headers']);
        const result = await client.callTool({ name: 'echo', arguments: { message: 'through the gate' } });
        expect(result.content).toEqual([{ type: 'text', text: 'through the gate' }]);
      } finally {
        await transport.terminateSession();
        await client.close();
      }
    });

    it('injects the credential and never leaks the gateway token or client cookies to the upstream', async () => {
      const { client, transport, connect } = connectClient('echo', GATEWAY_TOKEN, { Cookie: 'gateway_session=s3cr3t' });
      await connect();
      try {
        const result = await client.callTool({ name: 'request_headers', arguments: {} });
        const seen = JSON.parse((result.content as { text: string }[])[0].text) as Record<string, string>;
        expect(seen['x-upstream-key']).toBe(UPSTREAM_SECRET);
        expect(seen['authorization']).toBeUndefined();
        expect(seen['cookie']).toBeUndefined();
        expect(JSON.stringify(seen)).not.toContain(GATEWAY_TOKEN);
        // The upstream sees its own session id; the client holds the sealed one.
        expect(seen['mcp-session-id']).toEqual(expect.any(String));
        expect(seen['mcp-session-id']).not.toBe(transport.sessionId);
      } finally {
        await transport.terminateSession();
        await client.close();
      }
      // No request of any kind (POST, GET stream, DELETE) carried the gateway token upstream.
      for (const request of echo.requests) {
        expect(JSON.stringify(request)).not.toContain(GATEWAY_TOKEN);
        expect(request['cookie']).toBeUndefined();
      }
    });

    it('passes the session end (DELETE) through to the upstream', async () => {
      const { client, transport, connect } = connectClient();
      await connect();
      const sessionId = await upstreamSessionOf(client);
      await transport.terminateSession();
      await client.close();
      const deletes = echo.requests.filter((request) => request[':method'] === 'DELETE' && request['mcp-session-id'] === sessionId);
      expect(deletes).toHaveLength(1);
      expect(deletes[0]['x-upstream-key']).toBe(UPSTREAM_SECRET);
    });

    it('opens the GET event stream on the upstream for the session', async () => {
      const { client, transport, connect } = connectClient();
      await connect();
      const sessionId = await upstreamSessionOf(client);
      try {
        await eventually(() => echo.requests.some((request) => request[':method'] === 'GET' && request['mcp-session-id'] === sessionId));
      } finally {
        await transport.terminateSession();
        await client.close();
      }
    });
  });

  describe('authentication', () => {
    it('rejects a request without a bearer token with a challenge naming the resource metadata', async () => {
      const response = await post('echo', initializeRequest(7), {});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/echo"`);
      expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32000, message: expect.any(String), data: { code: 'unauthenticated' } } });
    });

    it('rejects an unknown token with error="invalid_token"', async () => {
      const response = await post('echo', initializeRequest(), { authorization: 'Bearer pcl_unknown_token' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/echo", error="invalid_token"`,
      );
    });

    it('treats a non-Bearer Authorization header as no token', async () => {
      const response = await post('echo', initializeRequest(), { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).not.toContain('error=');
    });

    it('stops slug probing: an anonymous caller gets 401 for an unknown slug, not 404', async () => {
      const response = await post('no-such-server', initializeRequest(), {});
      expect(response.status).toBe(401);
    });

    it('stops header injection through the slug: the challenge carries it percent-encoded', async () => {
      const response = await post(encodeURIComponent('x", error="forged'), initializeRequest(), {});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/x%22%2C%20error%3D%22forged"`,
      );
    });
  });

  describe('DNS rebinding and cross-site requests', () => {
    async function postWith(headers: Record<string, string>) {
      const seen = echo.requests.length;
      const answer = await request(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${GATEWAY_TOKEN}`, ...headers }, body: initializeRequest(9) });
      // A served initialize answers as an event stream; a refusal as JSON.
      const text = await answer.body.text();
      const body = (answer.headers['content-type'] as string).startsWith('application/json') ? (JSON.parse(text) as { error?: { data: { code: string } } }) : { stream: text };
      return { status: answer.statusCode, body, upstreamRequests: echo.requests.length - seen };
    }

    it("stops a page that rebinds the attacker's own name to the gateway (foreign Host: 403, nothing forwarded)", async () => {
      const answer = await postWith({ host: 'evil.example.com', origin: 'http://evil.example.com' });
      expect(answer).toMatchObject({ status: 403, body: { error: { data: { code: 'origin_not_allowed' } } }, upstreamRequests: 0 });
    });

    it('stops a foreign web page posting to the gateway under its real name (foreign Origin: 403)', async () => {
      const answer = await postWith({ host: new URL(PUBLIC_URL).host, origin: 'https://evil.example.com' });
      expect(answer).toMatchObject({ status: 403, body: { error: { data: { code: 'origin_not_allowed' } } }, upstreamRequests: 0 });
    });

    it('serves the public host, an address, and a same-origin browser request', async () => {
      for (const headers of [{ host: new URL(PUBLIC_URL).host, origin: PUBLIC_URL }, {}, { origin: new URL(edge.baseUrl).origin }]) {
        expect((await postWith(headers)).status).toBe(200);
      }
    });
  });

  describe('routing and input', () => {
    it('answers 404 with a JSON-RPC error naming an unknown slug', async () => {
      const response = await post('no-such-server', initializeRequest(3));
      expect(response.status).toBe(404);
      const body = await response.json();
      expect(body).toMatchObject({ jsonrpc: '2.0', id: 3, error: { code: -32000, data: { code: 'unknown_server' } } });
      expect((body as { error: { message: string } }).error.message).toContain("'no-such-server'");
    });

    it('answers a body that is not JSON with a -32700 parse error', async () => {
      const response = await post('echo', '{"jsonrpc": "2.0", "id": 1, "method": ');
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, data: { code: 'parse_error' } } });
    });

    it('answers JSON that is not a JSON-RPC message with -32600', async () => {
      const response = await post('echo', '42');
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: -32600 } });
    });

    it('refuses a body over the size limit with 413', async () => {
      const huge = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(70 * 1024) } } });
      const response = await post('echo', huge);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, data: { code: 'payload_too_large' } } });
    });

    it('refuses a chunked body (no declared length) once it grows past the limit: 413, and the connection is not reused', async () => {
      async function* chunks() {
        for (let n = 0; n < 40; n++) yield Buffer.alloc(4096, 'x');
      }
      const seen = echo.requests.length;
      const answer = await request(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${GATEWAY_TOKEN}` }, body: chunks() });
      expect(answer.statusCode).toBe(413);
      expect(answer.headers['connection']).toBe('close');
      expect(await answer.body.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, data: { code: 'payload_too_large' } } });
      expect(echo.requests.length).toBe(seen);
    });

    it('serves /mcp/{slug} with a query string; a longer path or another method is no MCP endpoint (404, JSON-RPC body)', async () => {
      const headers = { ...MCP_HEADERS, authorization: `Bearer ${GATEWAY_TOKEN}` };
      const withQuery = await request(`${edge.mcpUrl('echo')}?trace=1`, { method: 'POST', headers, body: initializeRequest(21) });
      expect(withQuery.statusCode).toBe(200);
      await withQuery.body.dump();
      const seen = echo.requests.length;
      const deeper = await request(`${edge.mcpUrl('echo')}/tools`, { method: 'POST', headers, body: initializeRequest(22) });
      expect(deeper.statusCode).toBe(404);
      expect(await deeper.body.json()).toMatchObject({ jsonrpc: '2.0', error: { data: { code: 'not_found' } } });
      const put = await request(edge.mcpUrl('echo'), { method: 'PUT', headers, body: initializeRequest(23) });
      expect(put.statusCode).toBe(404);
      await put.body.dump();
      expect(echo.requests.length).toBe(seen);
    });

    it('answers 502 when a server registered as legacy SSE opens no event stream (legacy SSE itself: mcp/legacy-sse.service-test.spec.ts)', async () => {
      const response = await post('legacy', initializeRequest());
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: { data: { code: 'upstream_protocol_error' } } });
    });
  });

  describe('upstream failures', () => {
    it('answers quickly with 502 naming an upstream that is down', async () => {
      const started = Date.now();
      const response = await post('down', initializeRequest(11));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({
        jsonrpc: '2.0',
        id: 11,
        error: { code: -32603, message: "upstream MCP server 'down' is unreachable", data: { code: 'upstream_unreachable' } },
      });
    });

    it("answers 504 when the upstream does not answer within the server's timeout", async () => {
      const started = Date.now();
      const response = await post('slow', initializeRequest(12));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(response.status).toBe(504);
      expect(await response.json()).toMatchObject({ id: 12, error: { code: -32603, message: "upstream MCP server 'slow' did not answer within 300 ms" } });
    });

    it("does not pass an upstream's 401 challenge on to the agent", async () => {
      const response = await post('rejecting', initializeRequest());
      expect(response.status).toBe(502);
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(await response.json()).toMatchObject({ error: { data: { code: 'upstream_rejected_credential' } } });
    });

    it('stops serving a credential the upstream refused: the next call asks the vault again', async () => {
      await post('rejecting', initializeRequest());
      edge.bus.requested.length = 0;
      await post('rejecting', initializeRequest());
      expect(edge.bus.requested).toEqual([RequestSubjects.vaultCredentialResolve]);
    });

    it('streams events as they come and cancels the upstream stream when the client disconnects', async () => {
      const aborted = new AbortController();
      const response = await fetch(edge.mcpUrl('slow'), {
        method: 'GET',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${GATEWAY_TOKEN}`, 'mcp-session-id': edge.sealSession(alice, slow, 'stream-1') },
        signal: aborted.signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      // The upstream wrote one event and keeps the stream open: it must arrive now, not when the stream ends.
      const first = await response.body!.getReader().read();
      expect(new TextDecoder().decode(first.value)).toBe('event: message\ndata: {"hello":1}\n\n');
      expect(hanging.openStreams.has('stream-1')).toBe(true);
      aborted.abort();
      await eventually(() => hanging.closedStreams.has('stream-1'));
    });

    it('streams a large JSON answer at the pace the client reads it, never holding it whole', async () => {
      const size = 48 * 1024 * 1024;
      edge.directory.addServer(target('large', `${hanging.url}?size=${size}`));
      const answer = await request(edge.mcpUrl('large'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${GATEWAY_TOKEN}` }, body: initializeRequest(1) });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['content-length']).toBe(String(size + 73));
      // The client takes nothing for a while: the edge must stop reading the upstream, whose writes then wait.
      await settle(500);
      expect(hanging.drainWaits).toBeGreaterThan(0);
      expect(hanging.largeAnswersEnded).toBe(0);
      let received = 0;
      let last = '';
      for await (const chunk of answer.body) {
        received += (chunk as Buffer).length;
        last = (chunk as Buffer).toString('latin1').slice(-5);
      }
      expect(received).toBe(size + 73);
      expect(last).toBe('"}]}}');
      expect(hanging.largeAnswersEnded).toBe(1);
    });

    it('ends open event streams at shutdown instead of hanging', async () => {
      const another = await startEdge();
      const anotherSlow = another.directory.addServer(target('slow', hanging.url));
      another.directory.addToken(GATEWAY_TOKEN, alice);
      const response = await fetch(another.mcpUrl('slow'), {
        method: 'GET',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${GATEWAY_TOKEN}`, 'mcp-session-id': another.sealSession(alice, anotherSlow, 'stream-at-shutdown') },
      });
      expect(response.status).toBe(200);
      await eventually(() => hanging.openStreams.has('stream-at-shutdown'));
      const started = Date.now();
      await another.close();
      expect(Date.now() - started).toBeLessThan(2000);
      await eventually(() => hanging.closedStreams.has('stream-at-shutdown'));
      await response.body?.cancel().catch(() => undefined);
    });

    it('fails closed with 503 when identity does not answer', async () => {
      const lonely = await startEdge({ services: false });
      try {
        const response = await fetch(lonely.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${GATEWAY_TOKEN}` }, body: initializeRequest(13) });
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ id: 13, error: { code: -32603, data: { code: 'dependency_unavailable' } } });
      } finally {
        await lonely.close();
      }
    });
  });

  describe('audit and metrics', () => {
    it('publishes one audit event per JSON-RPC request, without header values or arguments', async () => {
      const { client, transport, connect } = connectClient();
      await connect();
      const before = edge.audit.length;
      await client.callTool({ name: 'echo', arguments: { message: 'audit-me-argument' } });
      await eventually(() => edge.audit.length > before);
      const event = edge.audit.slice(before).find((e) => e.action === 'tool.call');
      expect(event).toMatchObject({
        action: 'tool.call',
        method: 'tools/call',
        tool: 'echo',
        server: 'echo',
        principal: { id: alice.id, kind: 'user', email: 'alice@example.com' },
        actor: null,
        credentialKind: 'header',
        credentialId: 'cred-echo',
        outcome: 'success',
        reason: null,
      });
      expect(event!.latencyMs).toEqual(expect.any(Number));
      await transport.terminateSession();
      await client.close();

      const everything = JSON.stringify(edge.audit);
      expect(everything).not.toContain(GATEWAY_TOKEN);
      expect(everything).not.toContain(UPSTREAM_SECRET);
      expect(everything).not.toContain('audit-me-argument');
      expect(edge.audit.some((e) => e.method === 'initialize' && e.action === 'mcp.request')).toBe(true);
    });

    it('audits a request whose upstream is down as an error', async () => {
      const before = edge.audit.length;
      await post('down', JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'anything' } }));
      await eventually(() => edge.audit.length > before);
      expect(edge.audit.slice(before)).toEqual([expect.objectContaining({ action: 'tool.call', server: 'down', outcome: 'error', reason: 'upstream_unreachable' })]);
    });

    it('counts tool calls by server and outcome', async () => {
      const text = await edge.app.get(MetricsRegistry).metrics();
      expect(text).toMatch(/portcullis_edge_tool_calls_total\{[^}]*server="echo"[^}]*outcome="success"[^}]*\} [1-9]/);
      expect(text).toContain('portcullis_edge_mcp_request_duration_seconds_bucket');
    });
  });

  describe('caches', () => {
    it('makes no bus request on the hot path once the caches are warm', async () => {
      const { client, transport, connect } = connectClient();
      await connect();
      await client.callTool({ name: 'echo', arguments: { message: 'warm' } });
      edge.bus.requested.length = 0;
      await client.callTool({ name: 'echo', arguments: { message: 'hot' } });
      expect(edge.bus.requested).toEqual([]);
      await transport.terminateSession();
      await client.close();
    });

    it('drops a cached principal when its credential is revoked', async () => {
      const token = 'pcl_Revoked0_token-to-be-revoked';
      const who = edge.directory.addToken(token, principal({ credentialId: 'key-to-revoke' }));
      expect((await post('echo', initializeRequest(), { authorization: `Bearer ${token}` })).status).toBe(200);
      edge.directory.tokens.delete(token);
      // Still cached: identity is not asked again.
      expect((await post('echo', initializeRequest(), { authorization: `Bearer ${token}` })).status).toBe(200);

      await edge.bus.emit(EventSubjects.identityRevoked, { credentialIds: ['key-to-revoke'], principalIds: [] });
      await settle();
      const response = await post('echo', initializeRequest(), { authorization: `Bearer ${token}` });
      expect(response.status).toBe(401);
      expect(who.credentialId).toBe('key-to-revoke');
    });

    it('drops a cached server when the registry reports it changed', async () => {
      await post('echo', initializeRequest());
      edge.bus.requested.length = 0;
      await post('echo', initializeRequest());
      expect(edge.bus.requested).not.toContain(RequestSubjects.registryResolve);

      await edge.bus.emit(EventSubjects.registryChanged, { serverId: echoServerId, slug: 'echo', change: 'updated' });
      await settle();
      await post('echo', initializeRequest());
      expect(edge.bus.requested).toContain(RequestSubjects.registryResolve);
      expect(edge.bus.requested).toContain(RequestSubjects.vaultCredentialResolve);
    });

    it('drops a cached credential when the vault reports it changed', async () => {
      await post('echo', initializeRequest());
      edge.bus.requested.length = 0;
      await edge.bus.emit(EventSubjects.vaultChanged, { serverId: echoServerId, principalId: alice.id });
      await settle();
      await post('echo', initializeRequest());
      expect(edge.bus.requested).toEqual([RequestSubjects.vaultCredentialResolve]);
    });
  });

  describe('protected resource metadata', () => {
    it('serves RFC 9728 metadata for a slug without authentication, naming the identity providers as authorization servers', async () => {
      edge.directory.authorizationServers = ['https://login.acme.example'];
      const response = await fetch(`${edge.baseUrl}/.well-known/oauth-protected-resource/mcp/echo`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        resource: `${PUBLIC_URL}/mcp/echo`,
        authorization_servers: ['https://login.acme.example'],
        bearer_methods_supported: ['header'],
        resource_name: 'Portcullis MCP gateway: echo',
      });
    });

    it('keeps serving the last known authorization servers, without a bus round trip per request', async () => {
      edge.bus.requested.length = 0;
      for (let i = 0; i < 3; i++) expect((await fetch(`${edge.baseUrl}/.well-known/oauth-protected-resource/mcp/other`)).status).toBe(200);
      expect(edge.bus.requested.filter((subject) => subject === RequestSubjects.identityAuthorizationServers).length).toBeLessThanOrEqual(1);
    });
  });
});

/**
 * An upstream that never answers POSTs (to time out against) and keeps GET
 * event streams open, recording when each closes. `?status=401` makes it refuse instead.
 */
interface HangingUpstream {
  url: string;
  openStreams: Set<string>;
  closedStreams: Set<string>;
  /** How often a large answer's writer had to wait for its reader (`?size=N` answers a POST with N bytes of JSON). */
  readonly drainWaits: number;
  readonly largeAnswersEnded: number;
  close(): Promise<void>;
}

/** A JSON-RPC answer of `size` bytes of text (73 more in all), written in 64 KB chunks as fast as the reader takes them. */
async function writeLargeAnswer(res: ServerResponse, size: number, onWait: () => void): Promise<void> {
  const prefix = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"';
  const suffix = '"}]}}';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(prefix.length + size + suffix.length) });
  res.write(prefix);
  const chunk = 'x'.repeat(64 * 1024);
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!res.write(chunk.slice(0, Math.min(chunk.length, size - sent)))) {
      onWait();
      await new Promise((resolve) => res.once('drain', resolve));
    }
  }
  res.end(suffix);
}

async function startHangingUpstream(): Promise<HangingUpstream> {
  const openStreams = new Set<string>();
  const closedStreams = new Set<string>();
  const drainWaits = { value: 0 };
  const largeAnswersEnded = { value: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.includes('status=401')) {
      res.writeHead(401, { 'www-authenticate': 'Bearer resource_metadata="https://upstream.example/.well-known/oauth-protected-resource"' });
      res.end();
      return;
    }
    const size = Number(new URL(req.url ?? '/', 'http://upstream').searchParams.get('size') ?? 0);
    if (req.method === 'POST' && size > 0) return void writeLargeAnswer(res, size, () => drainWaits.value++).then(() => largeAnswersEnded.value++);
    if (req.method === 'GET') {
      const id = String(req.headers['mcp-session-id']);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {"hello":1}\n\n');
      openStreams.add(id);
      res.on('close', () => closedStreams.add(id));
    }
    // POSTs are left unanswered.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    openStreams,
    closedStreams,
    get drainWaits() {
      return drainWaits.value;
    },
    get largeAnswersEnded() {
      return largeAnswersEnded.value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
