import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { CreateMessageRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ServerTarget } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { MetricsRegistry } from '@portcullis/telemetry';
import { serveOnLoopback, ServerEverything, startServerEverything } from '@portcullis/testing';
import { z } from 'zod';
import { allowAll, eventually, initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { LegacySseUpstream } from './legacy-sse-upstream';

const ALICE = 'pcl_legacy_alice_token_aaaaaaaaaaaaa';
const BOB = 'pcl_legacy_bob_token_bbbbbbbbbbbbbbbb';

type Message = Record<string, unknown> & { id?: unknown; method?: string; params?: Record<string, unknown> };

interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

interface LegacyServer {
  /** `http://127.0.0.1:<port>/sse` */
  url: string;
  /** Every HTTP request received, oldest first. */
  requests: RecordedRequest[];
  /** Every JSON-RPC message POSTed to it, oldest first. */
  messages: Message[];
  /** Event streams currently open. */
  openStreams(): number;
  /** Forgets every session while their streams stay open, as a server that lost its state would. */
  forgetSessions(): void;
  /** Answers to its `ping` requests received. */
  pongs(): number;
  close(): Promise<void>;
}

/**
 * A real legacy HTTP+SSE MCP server (the SDK's `McpServer` over
 * `SSEServerTransport`, MCP 2024-11-05), recording what it receives. Tools:
 * `echo`; `count` (a per-session counter: session state); `slow` (answers
 * after 30 s unless cancelled); `announce` (sends `tools/list_changed` 100 ms
 * after answering); `ping-client-later` (pings 100 ms after answering). With
 * `endpoint`, its event stream names that message endpoint instead, as a
 * hostile server would; with `authorization`, any request without exactly
 * that header is answered 401.
 */
async function startLegacyServer(options: { endpoint?: string; authorization?: string } = {}): Promise<LegacyServer> {
  const requests: RecordedRequest[] = [];
  const messages: Message[] = [];
  const transports = new Map<string, SSEServerTransport>();
  let open = 0;
  let pongs = 0;

  const mcpServer = (): McpServer => {
    const server = new McpServer({ name: 'legacy', version: '1.0.0' });
    let count = 0;
    server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
    server.registerTool('count', {}, async () => ({ content: [{ type: 'text', text: String(++count) }] }));
    server.registerTool('ping-client-later', {}, async () => {
      // After the answer: with no client request pending and no GET stream, the edge answers the ping itself.
      setTimeout(() => void server.server.ping().then(() => pongs++, () => undefined), 100);
      return { content: [{ type: 'text', text: 'will ping' }] };
    });
    server.registerTool('announce', {}, async () => {
      // After the answer, outside any request: only a client listening on its GET stream can receive it.
      setTimeout(() => void server.server.notification({ method: 'notifications/tools/list_changed' }).catch(() => undefined), 100);
      return { content: [{ type: 'text', text: 'announced' }] };
    });
    server.registerTool('slow', {}, async (extra) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 30_000);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return { content: [{ type: 'text', text: 'done' }] };
    });
    return server;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers });
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) return void res.writeHead(401).end();
    if (req.method === 'GET' && url.pathname === '/sse') {
      open++;
      res.once('close', () => open--);
      if (options.endpoint !== undefined) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: endpoint\ndata: ${options.endpoint}\n\n`);
        return;
      }
      const transport = new SSEServerTransport('/messages', res);
      transports.set(transport.sessionId, transport);
      transport.onclose = () => transports.delete(transport.sessionId);
      await mcpServer().connect(transport);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/messages') {
      const transport = transports.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) return void res.writeHead(404).end('unknown session');
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Message;
      messages.push(body);
      return transport.handlePostMessage(req, res, body);
    }
    res.writeHead(404).end();
  };

  const http = await serveOnLoopback(handle);
  return {
    url: `${http.origin}/sse`,
    requests,
    messages,
    openStreams: () => open,
    forgetSessions: () => transports.clear(),
    pongs: () => pongs,
    close: http.close,
  };
}

/**
 * Legacy HTTP+SSE upstreams (MCP 2024-11-05) behind the edge, which speaks
 * streamable HTTP to clients: real upstreams (server-everything in `sse`
 * mode, an SDK server over `SSEServerTransport`), the SDK's real client, and
 * two edge replicas on one bus.
 */
describe(`${LegacySseUpstream.name} (legacy HTTP+SSE upstreams)`, () => {
  const keys = Keyring.generate('legacy');
  let first: RunningEdge;
  let second: RunningEdge;
  let everything: ServerEverything;
  let legacy: LegacyServer;
  let hostile: LegacyServer;
  let elsewhere: LegacyServer;
  let guarded: LegacyServer;
  /** The tokens the vault hands out for `guarded`, in turn; the last one stays. */
  let guardedTokens: string[] = [];
  let legacyServer: ServerTarget;
  const alice = principal({ sub: 'alice' });
  const bob = principal({ sub: 'bob', email: 'bob@example.com' });
  const opened: Client[] = [];

  beforeAll(async () => {
    [everything, legacy, elsewhere] = await Promise.all([startServerEverything('sse'), startLegacyServer(), startLegacyServer()]);
    hostile = await startLegacyServer({ endpoint: `${new URL(elsewhere.url).origin}/messages?sessionId=stolen` });
    guarded = await startLegacyServer({ authorization: 'Bearer fresh' });
    first = await startEdge({ sessionKeys: keys });
    second = await startEdge({ sessionKeys: keys, sameBusAs: first });
    first.directory.addServer(target('everything', everything.url, { transport: 'sse', authType: 'none' }));
    legacyServer = first.directory.addServer(target('legacy', legacy.url, { transport: 'sse' }), {
      status: 'ready',
      credentialKind: 'header',
      credentialId: 'c-legacy',
      headers: { 'X-Api-Key': 'legacy-secret' },
      expiresAt: null,
    });
    first.directory.addServer(target('hostile', hostile.url, { transport: 'sse', authType: 'none' }));
    first.directory.addServer(target('quick', legacy.url, { transport: 'sse', authType: 'none', timeoutMs: 500 }));
    const oauth = first.directory.addServer(target('guarded', guarded.url, { transport: 'sse', authType: 'oauth2', oauthGrantType: 'authorization_code' }));
    first.directory.credentialAnswers.set(oauth.id, (who) => ({
      status: 'ready',
      credentialKind: 'oauth2',
      credentialId: `conn-${who.id}`,
      headers: { Authorization: `Bearer ${guardedTokens.length > 1 ? guardedTokens.shift() : guardedTokens[0]}` },
      expiresAt: null,
    }));
    first.directory.decisions.set('legacy', () => allowAll({ hiddenTools: ['count'], descriptions: { echo: 'Echoes, through the gateway' } }));
    first.directory.addToken(ALICE, alice);
    first.directory.addToken(BOB, bob);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(opened.map((client) => client.close()));
    await second?.close();
    await first?.close();
    await Promise.allSettled([everything?.close(), legacy?.close(), hostile?.close(), elsewhere?.close(), guarded?.close()]);
  });

  async function client(edge: RunningEdge, slug: string, options: { sessionId?: string; token?: string; sampling?: boolean } = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl(slug)), {
      sessionId: options.sessionId,
      requestInit: { headers: { Authorization: `Bearer ${options.token ?? ALICE}` } },
    });
    const sdk = new Client({ name: 'legacy-test', version: '1.0.0' }, { capabilities: options.sampling ? { sampling: {} } : {} });
    await sdk.connect(transport);
    opened.push(sdk);
    return { client: sdk, transport };
  }

  async function post(edge: RunningEdge, slug: string, body: string, options: { sessionId?: string; token?: string; signal?: AbortSignal } = {}): Promise<{ status: number; body: string; sessionId: string | null }> {
    const response = await fetch(edge.mcpUrl(slug), {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${options.token ?? ALICE}`, ...(options.sessionId === undefined ? {} : { 'mcp-session-id': options.sessionId }) },
      body,
      signal: options.signal,
    });
    return { status: response.status, body: await response.text(), sessionId: response.headers.get('mcp-session-id') };
  }

  const text = (result: Awaited<ReturnType<Client['callTool']>>): string => (result.content as { text: string }[])[0]!.text;
  const toolCall = (id: number, name: string, args: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

  describe('server-everything over legacy SSE', () => {
    it('initializes, lists tools and calls echo with the SDK client; the session id is sealed', async () => {
      const { client: sdk, transport } = await client(first, 'everything');
      expect(transport.sessionId).toMatch(/^[A-Za-z0-9_-]{100,}$/);
      const { tools } = await sdk.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation']));
      expect((await sdk.callTool({ name: 'echo', arguments: { message: 'hello legacy' } })).content).toEqual([{ type: 'text', text: 'Echo: hello legacy' }]);
      await eventually(() => first.audit.filter((event) => event.server === 'everything' && event.tool === 'echo' && event.outcome === 'success').length === 1);
    });

    it('streams the progress notifications of a running tool, then its answer', async () => {
      const { client: sdk } = await client(first, 'everything');
      const progress: number[] = [];
      const result = await sdk.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, {
        onprogress: ({ progress: step }) => void progress.push(step),
      });
      expect(progress).toEqual([1, 2, 3]);
      expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    });

    it("carries a sampling request to the client and the client's answer back to the upstream", async () => {
      const { client: sdk } = await client(first, 'everything', { sampling: true });
      const asked: unknown[] = [];
      sdk.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        asked.push(request.params.messages);
        return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled through the gateway' } };
      });
      const result = await sdk.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 10 } });
      expect(asked).toHaveLength(1);
      expect(text(result)).toContain('sampled through the gateway');
    });
  });

  describe('an SDK server over SSEServerTransport', () => {
    it('injects the header credential on the GET and on every POST, never the gateway token', async () => {
      const before = legacy.requests.length;
      const { client: sdk } = await client(first, 'legacy');
      expect(text(await sdk.callTool({ name: 'echo', arguments: { message: 'with credential' } }))).toBe('with credential');
      const seen = legacy.requests.slice(before);
      expect(seen.filter((request) => request.method === 'GET')).toHaveLength(1);
      expect(seen.filter((request) => request.method === 'POST').length).toBeGreaterThanOrEqual(3);
      for (const request of seen) {
        expect(request.headers['x-api-key']).toBe('legacy-secret');
        expect(request.headers.authorization).toBeUndefined();
        expect(JSON.stringify(request.headers)).not.toContain(ALICE);
      }
    });

    it('applies access control as for streamable HTTP: hidden tools filtered, overrides applied, refused calls never forwarded', async () => {
      const { client: sdk } = await client(first, 'legacy');
      const { tools } = await sdk.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(['announce', 'echo', 'ping-client-later', 'slow']);
      expect(tools.find((tool) => tool.name === 'echo')?.description).toBe('Echoes, through the gateway');
      const before = legacy.messages.length;
      const refused = await sdk.callTool({ name: 'count', arguments: {} }).catch((error: Error) => error);
      expect(String(refused)).toContain('Unknown tool: count');
      expect(legacy.messages.slice(before).filter((message) => message.method === 'tools/call')).toHaveLength(0);
    });

    it('serves one session on two replicas alternating; the second initializes its own connection with the sealed initialize params', async () => {
      const before = legacy.messages.length;
      const started = await client(first, 'legacy');
      const continued = await client(second, 'legacy', { sessionId: started.transport.sessionId });
      for (const [i, sdk] of [started.client, continued.client, started.client, continued.client].entries()) {
        expect(text(await sdk.callTool({ name: 'echo', arguments: { message: `call ${i}` } }))).toBe(`call ${i}`);
      }
      const initializes = legacy.messages.slice(before).filter((message) => message.method === 'initialize');
      expect(initializes).toHaveLength(2);
      expect(initializes[1]!.params).toEqual({ protocolVersion: initializes[0]!.params!['protocolVersion'], capabilities: initializes[0]!.params!['capabilities'], clientInfo: { name: 'legacy-test', version: '1.0.0' } });
      expect(String(initializes[1]!.id)).toMatch(/^portcullis-/);
      expect(await second.app.get(MetricsRegistry).metrics()).toMatch(/portcullis_edge_legacy_sse_reinitializations_total\{server="legacy",service="edge-proxy"\} [1-9]/);
      await eventually(() => first.audit.filter((event) => event.server === 'legacy' && event.tool === 'echo' && event.principal?.id === alice.id).length >= 4);
    });

    it('restarts the upstream session state when another replica takes the session over (documented fail-over semantics)', async () => {
      const started = await client(first, 'quick');
      const continued = await client(second, 'quick', { sessionId: started.transport.sessionId });
      const count = async (sdk: Client) => text(await sdk.callTool({ name: 'count', arguments: {} }));
      expect([await count(started.client), await count(started.client), await count(continued.client), await count(started.client)]).toEqual(['1', '2', '1', '3']);
    });

    it('forwards what the upstream sends outside any request to the client listening on its GET stream', async () => {
      const { client: sdk } = await client(first, 'legacy');
      let changed = 0;
      sdk.setNotificationHandler(ToolListChangedNotificationSchema, async () => void changed++);
      expect(text(await sdk.callTool({ name: 'announce', arguments: {} }))).toBe('announced');
      await eventually(() => changed === 1);
    });

    it('answers a ping of the upstream itself when no client request or stream could carry it', async () => {
      const init = await post(first, 'legacy', initializeRequest(1));
      const before = legacy.pongs();
      expect(JSON.parse((await post(first, 'legacy', toolCall(2, 'ping-client-later'), { sessionId: init.sessionId! })).body).result.content[0].text).toBe('will ping');
      await eventually(() => legacy.pongs() === before + 1);
    });

    it("refuses the session id with another principal's token (404) on either replica, without asking the upstream", async () => {
      const init = await post(first, 'legacy', initializeRequest(1));
      expect(init.status).toBe(200);
      const before = legacy.requests.length;
      for (const edge of [first, second]) {
        const refused = await post(edge, 'legacy', toolCall(2, 'echo', { message: 'x' }), { sessionId: init.sessionId!, token: BOB });
        expect(refused.status).toBe(404);
        expect(JSON.parse(refused.body).error).toMatchObject({ code: -32001, data: { code: 'unknown_session' } });
      }
      expect(legacy.requests.length).toBe(before);
    });

    it('refuses an endpoint event naming another origin, and POSTs nothing there', async () => {
      const refused = await post(first, 'hostile', initializeRequest(1));
      expect(refused.status).toBe(502);
      expect(JSON.parse(refused.body).error.message).toMatch(/endpoint event naming another origin .*refused/);
      expect(elsewhere.requests).toHaveLength(0);
      await eventually(() => hostile.openStreams() === 0);
    });

    it('renews an OAuth credential the upstream refuses (401) once, as for streamable HTTP, and refuses with 502 when it stays refused', async () => {
      // The vault's token is stale; asked again (the edge asks once the upstream refused it), it has a fresh one.
      guardedTokens = ['stale', 'fresh'];
      const { client: sdk } = await client(first, 'guarded');
      expect(text(await sdk.callTool({ name: 'echo', arguments: { message: 'renewed' } }))).toBe('renewed');
      const gets = guarded.requests.filter((request) => request.method === 'GET').map((request) => request.headers.authorization);
      expect(gets).toEqual(['Bearer stale', 'Bearer fresh']);
      expect(guarded.requests.filter((request) => request.method === 'POST').every((request) => request.headers.authorization === 'Bearer fresh')).toBe(true);

      guardedTokens = ['revoked'];
      const refused = await post(second, 'guarded', initializeRequest(1));
      expect(refused.status).toBe(502);
      expect(JSON.parse(refused.body).error.data).toEqual({ code: 'upstream_rejected_credential' });
    });

    it('opens a new connection, initialized again, when the upstream forgot the session (a POST answered 404)', async () => {
      const init = await post(first, 'legacy', initializeRequest(1));
      legacy.forgetSessions();
      const before = legacy.messages.length;
      const answer = await post(first, 'legacy', toolCall(3, 'echo', { message: 'after restart' }), { sessionId: init.sessionId! });
      expect(JSON.parse(answer.body).result.content).toEqual([{ type: 'text', text: 'after restart' }]);
      expect(legacy.messages.slice(before).map((message) => message.method)).toEqual(['initialize', 'notifications/initialized', 'tools/call']);
    });

    it('POSTs each message of a batch on its own and answers the requests as one array, in order', async () => {
      const init = await post(first, 'legacy', initializeRequest(1));
      const before = legacy.messages.length;
      const notification = { jsonrpc: '2.0', method: 'notifications/roots/list_changed' };
      const batch = `[${toolCall(11, 'echo', { message: 'a' })},${toolCall(12, 'echo', { message: 'b' })},${JSON.stringify(notification)}]`;
      const answer = await post(first, 'legacy', batch, { sessionId: init.sessionId! });
      expect(JSON.parse(answer.body)).toEqual([
        { jsonrpc: '2.0', id: 11, result: { content: [{ type: 'text', text: 'a' }] } },
        { jsonrpc: '2.0', id: 12, result: { content: [{ type: 'text', text: 'b' }] } },
      ]);
      // The notification is POSTed even when both answers arrived first.
      await eventually(() => legacy.messages.length === before + 3);
      expect(legacy.messages.slice(before).map((message) => message.id ?? message.method)).toEqual([11, 12, 'notifications/roots/list_changed']);
    });

    it('answers a JSON-RPC notification or response with 202 and forwards it', async () => {
      const init = await post(first, 'legacy', initializeRequest(1));
      const before = legacy.messages.length;
      const notified = await post(first, 'legacy', JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { sessionId: init.sessionId! });
      expect(notified.status).toBe(202);
      expect(legacy.messages.slice(before)).toEqual([{ jsonrpc: '2.0', method: 'notifications/initialized' }]);
    });

    it('closes the upstream event stream on DELETE; the session id then opens a new connection', async () => {
      const { client: sdk, transport } = await client(first, 'legacy');
      await sdk.callTool({ name: 'echo', arguments: { message: 'before delete' } });
      const streams = legacy.openStreams();
      const sessionId = transport.sessionId!;
      await transport.terminateSession();
      await eventually(() => legacy.openStreams() === streams - 1);
      const again = await post(first, 'legacy', toolCall(9, 'echo', { message: 'after delete' }), { sessionId });
      expect(JSON.parse(again.body).result.content).toEqual([{ type: 'text', text: 'after delete' }]);
    });

    it('closes idle connections but not one a client listens on, and bounds the pool by closing the least recently used idle one', async () => {
      await Promise.allSettled(opened.splice(0).map((sdk) => sdk.close()));
      const pools = [first, second].map((edge) => edge.app.get(LegacySseUpstream));
      const pool = pools[0]!;
      const sweep = (): void => pools.forEach((each) => each.sweep(Date.now() + each.idleMs + 1));
      await eventually(() => {
        sweep();
        return pools.every((each) => each.size === 0);
      });
      await eventually(() => legacy.openStreams() === 0);

      const listening = await client(first, 'legacy');
      let changed = 0;
      listening.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void changed++);
      await listening.client.callTool({ name: 'announce', arguments: {} });
      await eventually(() => changed === 1);
      const idle = await post(first, 'legacy', initializeRequest(1));
      expect(pool.size).toBe(2);
      const gauge = await first.app.get(MetricsRegistry).metrics();
      expect(gauge).toContain('portcullis_edge_legacy_sse_connections{state="busy",service="edge-proxy"} 1');
      expect(gauge).toContain('portcullis_edge_legacy_sse_connections{state="idle",service="edge-proxy"} 1');
      sweep();
      expect(pool.size).toBe(1);
      await eventually(() => legacy.openStreams() === 1);
      // A session whose connection was closed still works: a new connection, initialized again (the upstream's session state restarts).
      expect(JSON.parse((await post(first, 'legacy', toolCall(2, 'echo', { message: 'after idle' }), { sessionId: idle.sessionId! })).body).result.content[0].text).toBe('after idle');
      expect(pool.size).toBe(2);

      pool.maxConnections = 2;
      try {
        await post(first, 'legacy', initializeRequest(1));
        expect(pool.size).toBe(2);
        await eventually(() => legacy.openStreams() === 2);
        // The listening client's connection was kept: it still gets what the upstream sends.
        await listening.client.callTool({ name: 'announce', arguments: {} });
        await eventually(() => changed === 2);
      } finally {
        pool.maxConnections = 256;
      }
    });

    it('times out a request after the server timeout, answers 504 and cancels it upstream', async () => {
      const init = await post(first, 'quick', initializeRequest(1));
      const before = legacy.messages.length;
      const slow = await post(first, 'quick', toolCall(7, 'slow'), { sessionId: init.sessionId! });
      expect(slow).toMatchObject({ status: 504 });
      expect(JSON.parse(slow.body).error.data).toEqual({ code: 'upstream_timeout' });
      await eventually(() => legacy.messages.slice(before).some((message) => message.method === 'notifications/cancelled' && message.params?.['requestId'] === 7));
    });

    it('cancels the request upstream when the client disconnects', async () => {
      const init = await post(first, 'legacy', initializeRequest(1));
      const before = legacy.messages.length;
      const aborted = new AbortController();
      const call = post(first, 'legacy', toolCall(8, 'slow'), { sessionId: init.sessionId!, signal: aborted.signal }).catch((error: Error) => error);
      await eventually(() => legacy.messages.slice(before).some((message) => message.id === 8));
      aborted.abort();
      await call;
      await eventually(() => legacy.messages.slice(before).some((message) => message.method === 'notifications/cancelled' && message.params?.['requestId'] === 8));
      expect(legacy.messages.slice(before)).toContainEqual({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 8, reason: 'the client disconnected' } });
      await eventually(() => first.audit.some((event) => event.server === 'legacy' && event.tool === 'slow' && event.outcome === 'error' && event.reason === 'client disconnected'));
    });
  });
});
