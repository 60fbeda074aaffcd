import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Principal, ResolvedCredential, ServerTarget } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { SealedSessions } from './sealed-sessions.service';

const ALICE = 'pcl_sessions_alice_token_aaaaaaaaaa';
const BOB = 'pcl_sessions_bob_token_bbbbbbbbbbbbbb';
const URL_ELICITATION = { elicitation: { url: {} } };

type JsonRpcAnswer = { jsonrpc: '2.0'; id: unknown; error?: { code: number; message: string; data?: unknown }; result?: unknown };

/**
 * Sealed sessions across edge replicas (DESIGN §7): two (or three) edges on
 * one bus, as behind a round-robin load balancer, and a real upstream MCP server.
 */
describe(`${SealedSessions.name} across replicas`, () => {
  const oldKeys = Keyring.generate('s1');
  const rotatedKeys = oldKeys.rotate('s2');
  const newKeysOnly = rotatedKeys.retire('s1');
  let first: RunningEdge;
  let second: RunningEdge;
  let echo: EchoMcpServer;
  let echoServer: ServerTarget;
  let gated: ServerTarget;
  let gatedConsented = true;
  const alice = principal({ sub: 'alice' });
  const bob = principal({ sub: 'bob', email: 'bob@example.com' });
  const opened: Client[] = [];

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    first = await startEdge({ sessionKeys: oldKeys });
    second = await startEdge({ sessionKeys: oldKeys, sameBusAs: first });
    echoServer = first.directory.addServer(target('echo', echo.url), { status: 'ready', credentialKind: 'header', credentialId: 'c-echo', headers: { 'X-Key': 'echo-secret' }, expiresAt: null });
    gated = first.directory.addServer(target('gated', echo.url, { authType: 'oauth2', oauthGrantType: 'authorization_code' }));
    first.directory.credentialAnswers.set(gated.id, (who): ResolvedCredential =>
      gatedConsented
        ? { status: 'ready', credentialKind: 'oauth2', credentialId: `conn-${who.id}`, headers: { Authorization: 'Bearer upstream-token' }, expiresAt: null }
        : { status: 'consent_required', credentialKind: 'oauth2', flowId: `flow-${who.id}`, reason: 'refresh refused' },
    );
    first.directory.addVirtualServer('suite', [
      { name: 'suite_echo', tool: 'echo', server: echoServer },
      { name: 'suite_headers', tool: 'request_headers', server: echoServer },
    ]);
    first.directory.addToken(ALICE, alice);
    first.directory.addToken(BOB, bob);
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((client) => client.close()));
    await second?.close();
    await first?.close();
    await echo?.close();
  });

  /** An SDK client of `edge`; with `sessionId` it continues that session (no `initialize`), as after a reconnect to another replica. */
  async function client(edge: RunningEdge, slug: string, token: string, sessionId?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl(slug)), { sessionId, requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const sdk = new Client({ name: 'sessions-test', version: '1.0.0' });
    await sdk.connect(transport);
    opened.push(sdk);
    return { client: sdk, transport };
  }

  async function headersSeenUpstream(sdk: Client): Promise<Record<string, string>> {
    const result = await sdk.callTool({ name: 'request_headers', arguments: {} });
    return JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, string>;
  }

  async function post(edge: RunningEdge, slug: string, body: string, token: string, sessionId?: string): Promise<{ status: number; answer: JsonRpcAnswer; sessionId: string | null }> {
    const response = await fetch(edge.mcpUrl(slug), {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }) },
      body,
    });
    const text = await response.text();
    const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? 'null');
    return { status: response.status, answer: JSON.parse(json) as JsonRpcAnswer, sessionId: response.headers.get('mcp-session-id') };
  }

  const toolCall = (id: number, name: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { message: 'hi' } } });

  function expectSessionNotFound(reply: { status: number; answer: JsonRpcAnswer }): void {
    expect(reply.status).toBe(404);
    expect(reply.answer.error).toEqual({ code: -32001, message: 'Session not found', data: { code: 'unknown_session' } });
  }

  describe('a plain server', () => {
    it('continues a session started on one edge on another edge with the same SESSION_KEYS, requests alternating (no session table)', async () => {
      const started = await client(first, 'echo', ALICE);
      const sealed = started.transport.sessionId!;
      const continued = await client(second, 'echo', ALICE, sealed);
      const upstreamSession = (await headersSeenUpstream(started.client))['mcp-session-id'];
      for (const sdk of [continued.client, started.client, continued.client]) {
        expect((await sdk.callTool({ name: 'echo', arguments: { message: 'alternating' } })).content).toEqual([{ type: 'text', text: 'alternating' }]);
        expect((await headersSeenUpstream(sdk))['mcp-session-id']).toBe(upstreamSession);
      }
    });

    it("never shows the upstream the sealed id, nor the client the upstream's id", async () => {
      const before = echo.requests.length;
      const { client: sdk, transport } = await client(first, 'echo', ALICE);
      const sealed = transport.sessionId!;
      const upstreamSession = (await headersSeenUpstream(sdk))['mcp-session-id']!;
      expect(upstreamSession).toMatch(/^[0-9a-f-]{36}$/);
      expect(sealed).not.toBe(upstreamSession);
      expect(sealed).not.toContain(upstreamSession);
      expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain(upstreamSession);
      const sent = echo.requests.slice(before);
      expect(sent.length).toBeGreaterThan(1);
      for (const request of sent) expect(JSON.stringify(request)).not.toContain(sealed);
      expect(sent.filter((request) => request['mcp-session-id'] !== undefined).every((request) => request['mcp-session-id'] === upstreamSession)).toBe(true);
    });

    it("refuses a session id replayed with another principal's token (404, the upstream never asked)", async () => {
      // A raw initialize: an SDK client would open its GET stream in the background, blurring the count below.
      const { sessionId } = await post(first, 'echo', initializeRequest(1), ALICE);
      const before = echo.requests.length;
      for (const edge of [first, second]) expectSessionNotFound(await post(edge, 'echo', toolCall(1, 'echo'), BOB, sessionId!));
      expect(echo.requests.length).toBe(before);
    });

    it('refuses a tampered session id, garbage, and an id of another server (404)', async () => {
      const { transport } = await client(first, 'echo', ALICE);
      const sealed = transport.sessionId!;
      const flipped = Buffer.from(sealed, 'base64url');
      flipped[flipped.length - 20] ^= 0x01;
      expectSessionNotFound(await post(second, 'echo', toolCall(2, 'echo'), ALICE, flipped.toString('base64url')));
      expectSessionNotFound(await post(second, 'echo', toolCall(3, 'echo'), ALICE, 'b4d5e5f0-upstream-looking-id'));
      // Same upstream URL, same principal, but another server of the gateway.
      expectSessionNotFound(await post(second, 'gated', toolCall(4, 'echo'), ALICE, sealed));
    });

    it('ends the upstream session with DELETE through the sealed id, on any replica', async () => {
      const started = await client(first, 'echo', ALICE);
      const upstreamSession = (await headersSeenUpstream(started.client))['mcp-session-id'];
      const continued = await client(second, 'echo', ALICE, started.transport.sessionId);
      await continued.transport.terminateSession();
      const deletes = echo.requests.filter((request) => request[':method'] === 'DELETE' && request['mcp-session-id'] === upstreamSession);
      expect(deletes).toHaveLength(1);
      // The upstream forgot the session; its 404 reaches the client, which then starts a new one.
      expect((await post(first, 'echo', toolCall(5, 'echo'), ALICE, started.transport.sessionId)).status).toBe(404);
    });

    it('carries URL elicitation in the sealed id: a consent needed later, on another replica, is answered -32042', async () => {
      gatedConsented = true;
      const init = await post(first, 'gated', initializeRequest(6, URL_ELICITATION), ALICE);
      expect(init.answer.result).toBeDefined();
      gatedConsented = false;
      // The second edge has not cached this credential: it asks the vault, which now wants consent.
      const later = await post(second, 'gated', toolCall(7, 'echo'), ALICE, init.sessionId!);
      expect(later.status).toBe(200);
      expect(later.answer.error).toMatchObject({ code: -32042, data: { elicitations: [{ mode: 'url', elicitationId: `flow-${alice.id}` }] } });
    });
  });

  describe('key rotation', () => {
    let rotated: RunningEdge;
    let retired: RunningEdge;

    beforeAll(async () => {
      rotated = await startEdge({ sessionKeys: rotatedKeys, sameBusAs: first });
      retired = await startEdge({ sessionKeys: newKeysOnly, sameBusAs: first });
    });

    afterAll(async () => {
      await rotated?.close();
      await retired?.close();
    });

    it('keeps sessions sealed under the old key when SESSION_KEYS is "new,old", and refuses them once the old key is gone', async () => {
      const { transport } = await client(first, 'echo', ALICE);
      const continued = await client(rotated, 'echo', ALICE, transport.sessionId);
      expect((await continued.client.callTool({ name: 'echo', arguments: { message: 'after rotation' } })).content).toEqual([{ type: 'text', text: 'after rotation' }]);
      expectSessionNotFound(await post(retired, 'echo', toolCall(8, 'echo'), ALICE, transport.sessionId));
    });

    it('seals new sessions under the new key, which an edge still on the old keys cannot open', async () => {
      const { transport } = await client(rotated, 'echo', ALICE);
      expect((await post(retired, 'echo', toolCall(9, 'echo'), ALICE, transport.sessionId)).status).toBe(200);
      expectSessionNotFound(await post(first, 'echo', toolCall(10, 'echo'), ALICE, transport.sessionId));
    });
  });

  describe('a virtual server', () => {
    it('hands out a sealed session at initialize that continues on another replica', async () => {
      const started = await client(first, 'suite', ALICE);
      expect(started.transport.sessionId).toMatch(/^[A-Za-z0-9_-]{100,}$/);
      const continued = await client(second, 'suite', ALICE, started.transport.sessionId);
      expect((await continued.client.listTools()).tools.map((tool) => tool.name)).toEqual(['suite_echo', 'suite_headers']);
      expect((await continued.client.callTool({ name: 'suite_echo', arguments: { message: 'virtual' } })).content).toEqual([{ type: 'text', text: 'virtual' }]);
    });

    it('keeps one upstream session per upstream for the client session, on every replica, and ends it with the session', async () => {
      const started = await client(first, 'suite', ALICE);
      const continued = await client(second, 'suite', ALICE, started.transport.sessionId);
      const seen = async (sdk: Client) => JSON.parse(((await sdk.callTool({ name: 'suite_headers', arguments: {} })).content as { text: string }[])[0]!.text) as Record<string, string>;
      const upstreamSession = (await seen(started.client))['mcp-session-id']!;
      expect(upstreamSession).toMatch(/^[0-9a-f-]{36}$/);
      expect((await seen(continued.client))['mcp-session-id']).toBe(upstreamSession);
      expect((await seen(started.client))['x-key']).toBe('echo-secret');
      // The upstream never sees the client's sealed id.
      expect(JSON.stringify(echo.requests)).not.toContain(started.transport.sessionId!);
      await continued.transport.terminateSession();
      expect(echo.requests.filter((request) => request[':method'] === 'DELETE' && request['mcp-session-id'] === upstreamSession)).toHaveLength(1);
    });

    it('still calls an upstream that forgot its session, in a short session of its own', async () => {
      const { client: sdk, transport } = await client(first, 'suite', ALICE);
      const upstreamSession = (JSON.parse(((await sdk.callTool({ name: 'suite_headers', arguments: {} })).content as { text: string }[])[0]!.text) as Record<string, string>)['mcp-session-id']!;
      // The upstream restarts, say: its session is gone.
      expect((await fetch(echo.url, { method: 'DELETE', headers: { 'mcp-session-id': upstreamSession } })).status).toBe(200);
      const before = echo.requests.length;
      expect((await sdk.callTool({ name: 'suite_echo', arguments: { message: 'still here' } })).content).toEqual([{ type: 'text', text: 'still here' }]);
      const after = echo.requests.slice(before);
      // Tried in the old session first (404), then a fresh initialize (no session id yet).
      expect(after[0]).toMatchObject({ ':method': 'POST', 'mcp-session-id': upstreamSession });
      expect(after.some((request) => request[':method'] === 'POST' && request['mcp-session-id'] === undefined)).toBe(true);
      expect(transport.sessionId).toBeDefined();
    });

    it("refuses the session id with another principal's token, tampered, or at a plain server (404)", async () => {
      const { transport } = await client(first, 'suite', ALICE);
      const sealed = transport.sessionId!;
      expectSessionNotFound(await post(second, 'suite', toolCall(11, 'suite_echo'), BOB, sealed));
      expectSessionNotFound(await post(second, 'suite', toolCall(12, 'suite_echo'), ALICE, `${sealed.slice(0, -2)}AA`));
      expectSessionNotFound(await post(second, 'echo', toolCall(13, 'echo'), ALICE, sealed));
      const deleted = await fetch(second.mcpUrl('suite'), { method: 'DELETE', headers: { authorization: `Bearer ${BOB}`, 'mcp-session-id': sealed } });
      expect(deleted.status).toBe(404);
    });

    it('ends a session with DELETE (204) on any replica', async () => {
      const { transport } = await client(first, 'suite', ALICE);
      const deleted = await fetch(second.mcpUrl('suite'), { method: 'DELETE', headers: { authorization: `Bearer ${ALICE}`, 'mcp-session-id': transport.sessionId! } });
      expect(deleted.status).toBe(204);
    });
  });

  it('answers requests without a session id as before (initialize, and stateless clients of a virtual server)', async () => {
    const init = await post(second, 'echo', initializeRequest(14), ALICE);
    expect(init.status).toBe(200);
    expect(init.sessionId).toEqual(expect.any(String));
    const stateless = await post(second, 'suite', JSON.stringify({ jsonrpc: '2.0', id: 15, method: 'tools/list' }), BOB);
    expect(stateless.answer.result).toBeDefined();
  });

  it('binds sessions to principals by id', () => {
    // A principal with the same subject but another id (another user record) is another principal.
    const twin: Principal = { ...alice, id: randomUUID() };
    expect(twin.sub).toBe(alice.sub);
    const sealed = first.sealSession(alice, echoServer, 'upstream-1');
    expect(() => first.app.get(SealedSessions).open(sealed, twin, { kind: 'server', id: echoServer.id, slug: echoServer.slug })).toThrow('Session not found');
  });
});
