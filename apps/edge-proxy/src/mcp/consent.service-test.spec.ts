import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EventSubjects, Principal, ResolvedCredential, ServerTarget } from '@portcullis/contracts';
import { MetricsRegistry } from '@portcullis/telemetry';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { eventually, initializeRequest, MCP_HEADERS, principal, PUBLIC_URL, RunningEdge, settle, startEdge, target } from '../../test/edge-harness';
import { ConsentRequiredError } from '../errors';

const ALICE_KEY = 'pcl_consent_alice_key_aaaaaaaaaaaa';
const BOB_KEY = 'pcl_consent_bob_key_bbbbbbbbbbbbbb';
const DAVE_KEY = 'pcl_consent_dave_key_dddddddddddddd';
/** Carol's identity-provider JWT (the stand-in identity only matches it as a string). */
const CAROL_JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJjYXJvbCIsImlzcyI6Imh0dHBzOi8vaWRwLmV4YW1wbGUifQ.c2lnbmF0dXJlLW9mLWNhcm9s';
const URL_ELICITATION = { elicitation: { url: {} } };

type JsonRpcAnswer = { jsonrpc: '2.0'; id: unknown; error?: { code: number; message: string; data?: unknown }; result?: unknown };

describe(ConsentRequiredError.name, () => {
  let edge: RunningEdge;
  let alpha: EchoMcpServer;
  let beta: EchoMcpServer;
  let gated: ServerTarget;
  let gated2: ServerTarget;
  const alice = principal({ email: 'alice@example.com' });
  const bob = principal({ email: 'bob@example.com' });
  const dave = principal({ email: 'dave@example.com' });
  const carol = principal({ email: 'carol@example.com', idp: 'corp', credentialId: undefined });
  /** `${principalId} ${serverId}` pairs the vault holds a token for. */
  const granted = new Set<string>();

  /** The vault stand-in for an `authorization_code` server: consent until granted, then the user's own token. */
  function userOAuth(server: ServerTarget): (who: Principal) => ResolvedCredential {
    return (who) =>
      granted.has(`${who.id} ${server.id}`)
        ? { status: 'ready', credentialKind: 'oauth2', credentialId: `conn-${server.slug}-${who.id}`, headers: { Authorization: `Bearer upstream-token-of-${who.id}` }, expiresAt: null }
        : { status: 'consent_required', credentialKind: 'oauth2', flowId: `flow-${server.slug}-${who.id}`, reason: 'no connection yet' };
  }

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startEchoMcpServer({ name: 'alpha' }), startEchoMcpServer({ name: 'beta' })]);
    edge = await startEdge();
    gated = edge.directory.addServer(target('gated', alpha.url, { authType: 'oauth2', oauthGrantType: 'authorization_code' }));
    gated2 = edge.directory.addServer(target('gated2', beta.url, { authType: 'oauth2', oauthGrantType: 'authorization_code' }));
    edge.directory.credentialAnswers.set(gated.id, userOAuth(gated));
    edge.directory.credentialAnswers.set(gated2.id, userOAuth(gated2));
    const perUser = edge.directory.addServer(target('per-user', alpha.url));
    edge.directory.credentialAnswers.set(perUser.id, () => ({ status: 'value_required', credentialKind: 'header', variables: ['API_KEY'] }));
    edge.directory.addServer(target('pass', alpha.url, { authType: 'passthrough' }));
    edge.directory.addServer(target('exchange', beta.url, { authType: 'oauth2', oauthGrantType: 'token_exchange' }), {
      status: 'ready',
      credentialKind: 'oauth2',
      credentialId: 'exchanged',
      headers: { Authorization: 'Bearer exchanged-token' },
      expiresAt: null,
    });
    edge.directory.addVirtualServer('suite', [
      { name: 'alpha_echo', tool: 'echo', server: gated },
      { name: 'beta_echo', tool: 'echo', server: gated2 },
    ]);
    edge.directory.addToken(ALICE_KEY, alice);
    edge.directory.addToken(BOB_KEY, bob);
    edge.directory.addToken(CAROL_JWT, carol);
    edge.directory.addToken(DAVE_KEY, dave);
  });

  afterAll(async () => {
    await edge?.close();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  async function post(slug: string, body: string, token = ALICE_KEY, headers: Record<string, string> = {}): Promise<{ status: number; answer: JsonRpcAnswer; sessionId: string | null }> {
    const response = await fetch(edge.mcpUrl(slug), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...headers }, body });
    const text = await response.text();
    // An upstream may answer as an event stream: the JSON-RPC message is its `data:` line.
    const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? 'null');
    return { status: response.status, answer: JSON.parse(json) as JsonRpcAnswer, sessionId: response.headers.get('mcp-session-id') };
  }

  const toolCall = (id: number, name: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { message: 'hi' } } });
  const connectUrl = (slug: string, who: Principal) => `${PUBLIC_URL}/connect/flow-${slug}-${who.id}`;

  async function sdkClient(slug: string, token: string, options: ClientOptions = {}): Promise<Client> {
    const client = new Client({ name: 'consent-test', version: '1.0.0' }, options);
    await client.connect(new StreamableHTTPClientTransport(new URL(edge.mcpUrl(slug)), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    return client;
  }

  describe('a plain server, at initialize', () => {
    it('answers -32042 with one URL elicitation (HTTP 200) when the client declared URL elicitation', async () => {
      const { status, answer } = await post('gated', initializeRequest(1, URL_ELICITATION));
      expect(status).toBe(200);
      const url = connectUrl('gated', alice);
      expect(answer).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32042, message: expect.stringMatching(/Please visit: \S+$/), data: { elicitations: [{ mode: 'url', elicitationId: `flow-gated-${alice.id}`, url, message: expect.any(String) }] } },
      });
      expect(answer.error!.message.endsWith(`Please visit: ${url}`)).toBe(true);
      expect(alpha.requests.some((r) => r.authorization !== undefined && r.authorization.includes(alice.id))).toBe(false);
    });

    it('answers -32001 with data a string when the client did not declare URL elicitation', async () => {
      const { status, answer } = await post('gated', initializeRequest(2));
      expect(status).toBe(200);
      expect(answer.error).toEqual({ code: -32001, message: expect.stringMatching(/Please visit: /), data: answer.error!.message });
      expect(answer.error!.message.endsWith(`Please visit: ${connectUrl('gated', alice)}`)).toBe(true);
    });

    it('audits consent.started (denied) without the connect URL or its flow id', async () => {
      await eventually(() => edge.audit.some((e) => e.action === 'consent.started' && e.server === 'gated' && e.principal?.id === alice.id));
      const event = edge.audit.find((e) => e.action === 'consent.started' && e.server === 'gated' && e.principal?.id === alice.id)!;
      expect(event).toMatchObject({ outcome: 'denied', credentialKind: 'oauth2', method: 'initialize', credentialId: null });
      expect(JSON.stringify(event)).not.toContain('flow-gated');
      expect(JSON.stringify(event)).not.toContain('/connect/');
    });

    it('never caches the consent answer: once the vault has the token, the retry succeeds with the user\'s own token', async () => {
      granted.add(`${alice.id} ${gated.id}`);
      const client = await sdkClient('gated', ALICE_KEY);
      try {
        const seen = JSON.parse(((await client.callTool({ name: 'request_headers', arguments: {} })).content as { text: string }[])[0].text) as Record<string, string>;
        expect(seen['authorization']).toBe(`Bearer upstream-token-of-${alice.id}`);
      } finally {
        await client.close();
      }
    });

    it('sends a second user to their own consent, not the first user\'s token', async () => {
      const { answer } = await post('gated', initializeRequest(3), BOB_KEY);
      expect(answer.error!.message.endsWith(`Please visit: ${connectUrl('gated', bob)}`)).toBe(true);
    });

    it('remembers for the session that the client takes URL elicitations, when consent is needed again later', async () => {
      const { answer, sessionId } = await post('gated', initializeRequest(4, URL_ELICITATION));
      expect(answer.result).toBeDefined();
      expect(sessionId).toEqual(expect.any(String));
      // The provider refused the refresh token: the vault needs consent again.
      granted.delete(`${alice.id} ${gated.id}`);
      await edge.bus.emit(EventSubjects.vaultChanged, { serverId: gated.id, principalId: alice.id });
      await settle();
      const inSession = await post('gated', toolCall(5, 'echo'), ALICE_KEY, { 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-06-18' });
      expect(inSession.answer.error).toMatchObject({ code: -32042, data: { elicitations: [{ url: connectUrl('gated', alice) }] } });
      // An id the edge did not seal is no session at all: 404, and the client starts a new one.
      const otherSession = await post('gated', toolCall(6, 'echo'), ALICE_KEY, { 'mcp-session-id': 'not-a-known-session', 'mcp-protocol-version': '2025-06-18' });
      expect(otherSession.status).toBe(404);
      expect(otherSession.answer.error).toMatchObject({ code: -32001, message: 'Session not found' });
      // The session's GET event stream cannot carry a JSON-RPC error as success: 403 with the same answer.
      const stream = await fetch(edge.mcpUrl('gated'), { headers: { accept: 'text/event-stream', authorization: `Bearer ${ALICE_KEY}`, 'mcp-session-id': sessionId! } });
      expect(stream.status).toBe(403);
      expect(((await stream.json()) as JsonRpcAnswer).error).toMatchObject({ code: -32042 });
    });
  });

  describe('an upstream that refuses the vault\'s token (HTTP 401)', () => {
    let guard: Server;
    let guarded: ServerTarget;
    /** What each request to the guard carried, in order. */
    const seen: string[] = [];
    /** The tokens the guard refuses, as a provider that revoked them would. */
    const revoked = new Set(['Bearer revoked-token', 'Bearer also-revoked']);
    /** What the vault stand-in answers when told a token was refused. */
    let onRejected: (rejectedId: string) => ResolvedCredential;

    beforeAll(async () => {
      guard = createServer((incoming, outgoing) => {
        const authorization = String(incoming.headers.authorization ?? '');
        seen.push(authorization);
        if (revoked.has(authorization)) {
          incoming.resume();
          outgoing.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
          return;
        }
        const upstream = new URL(alpha.url);
        const forwarded = request({ host: upstream.hostname, port: upstream.port, path: upstream.pathname, method: incoming.method, headers: incoming.headers }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        });
        incoming.pipe(forwarded);
      });
      await new Promise<void>((resolve) => guard.listen(0, '127.0.0.1', resolve));
      guarded = edge.directory.addServer(target('guarded', `http://127.0.0.1:${(guard.address() as AddressInfo).port}/mcp`, { authType: 'oauth2', oauthGrantType: 'authorization_code' }));
      edge.directory.credentialAnswers.set(guarded.id, () => {
        const last = edge.directory.credentialRequests.at(-1)!;
        if (last.rejected) return onRejected(last.rejected.credentialId);
        return { status: 'ready', credentialKind: 'oauth2', credentialId: 'conn-revoked', headers: { Authorization: 'Bearer revoked-token' }, expiresAt: null };
      });
    });

    // Each case starts from the vault's first answer (the revoked token), not from what the edge cached after the last one.
    beforeEach(async () => {
      await edge.bus.emit(EventSubjects.vaultChanged, { serverId: guarded.id, principalId: null });
      await settle();
    });

    afterAll(async () => {
      guard.closeAllConnections();
      await new Promise<void>((resolve) => guard.close(() => resolve()));
    });

    it('has the vault renew that token once and sends the request once more with the new one', async () => {
      onRejected = () => ({ status: 'ready', credentialKind: 'oauth2', credentialId: 'conn-renewed', headers: { Authorization: 'Bearer renewed-token' }, expiresAt: null });
      seen.length = 0;
      const { status, answer } = await post('guarded', initializeRequest(21));
      expect(status).toBe(200);
      expect(answer.result).toBeDefined();
      expect(seen).toEqual(['Bearer revoked-token', 'Bearer renewed-token']);
      expect(edge.directory.credentialRequests.filter((r) => r.server.id === guarded.id).map((r) => r.rejected?.credentialId ?? null)).toEqual([null, 'conn-revoked']);
    });

    it('answers with the consent error when the vault cannot renew it (the user must connect again), and counts it', async () => {
      onRejected = () => ({ status: 'consent_required', credentialKind: 'oauth2', flowId: 'flow-guarded-again', reason: 'the provider refused the refresh token' });
      edge.directory.credentialAnswers.set(guarded.id, () => {
        const last = edge.directory.credentialRequests.at(-1)!;
        return last.rejected ? onRejected(last.rejected.credentialId) : { status: 'ready', credentialKind: 'oauth2', credentialId: 'conn-revoked', headers: { Authorization: 'Bearer revoked-token' }, expiresAt: null };
      });
      const before = consentsCounted(await edge.app.get(MetricsRegistry).metrics(), 'guarded');
      const { status, answer } = await post('guarded', initializeRequest(22));
      expect(status).toBe(200);
      expect(answer.error).toMatchObject({ code: -32001 });
      expect(answer.error!.message).toMatch(new RegExp(`Please visit: ${PUBLIC_URL}/connect/flow-guarded-again$`));
      expect(consentsCounted(await edge.app.get(MetricsRegistry).metrics(), 'guarded')).toBe(before + 1);
    });

    it('tries once only: a renewed token refused too is a clear error, not a loop', async () => {
      onRejected = () => ({ status: 'ready', credentialKind: 'oauth2', credentialId: 'conn-also', headers: { Authorization: 'Bearer also-revoked' }, expiresAt: null });
      seen.length = 0;
      const { status, answer } = await post('guarded', initializeRequest(23));
      expect(status).toBe(502);
      expect(answer.error).toMatchObject({ data: { code: 'upstream_rejected_credential' } });
      expect(seen).toEqual(['Bearer revoked-token', 'Bearer also-revoked']);
    });
  });

  describe('a virtual server, at the first affected call', () => {
    it('names every upstream still needing consent, URLs joined by " , "', async () => {
      const { status, answer } = await post('suite', JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }), BOB_KEY);
      expect(status).toBe(200);
      expect(answer.error).toMatchObject({ code: -32001 });
      expect(answer.error!.message.endsWith(`Please visit: ${connectUrl('gated', bob)} , ${connectUrl('gated2', bob)}`)).toBe(true);
    });

    it('answers a tools/call with one elicitation per upstream when the session declared URL elicitation', async () => {
      const init = await post('suite', initializeRequest(8, URL_ELICITATION), BOB_KEY);
      expect(init.answer.result).toBeDefined();
      expect(init.sessionId).toEqual(expect.any(String));
      const { answer } = await post('suite', toolCall(9, 'beta_echo'), BOB_KEY, { 'mcp-session-id': init.sessionId! });
      expect(answer.error).toMatchObject({
        code: -32042,
        data: {
          elicitations: [
            { mode: 'url', elicitationId: `flow-gated2-${bob.id}`, url: connectUrl('gated2', bob) },
            { mode: 'url', elicitationId: `flow-gated-${bob.id}`, url: connectUrl('gated', bob) },
          ],
        },
      });
      expect(answer.error!.message.endsWith(`Please visit: ${connectUrl('gated2', bob)} , ${connectUrl('gated', bob)}`)).toBe(true);
      await eventually(() => edge.audit.filter((e) => e.action === 'consent.started' && e.principal?.id === bob.id && e.tool === 'beta_echo').length === 2);
    });

    it('reaches an MCP SDK client that declared URL elicitation as its UrlElicitationRequiredError', async () => {
      const client = await sdkClient('suite', DAVE_KEY, { capabilities: { elicitation: { url: {} } } });
      try {
        const error = await client.callTool({ name: 'alpha_echo', arguments: { message: 'x' } }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UrlElicitationRequiredError);
        expect((error as UrlElicitationRequiredError).elicitations.map((e) => e.url)).toEqual([connectUrl('gated', dave), connectUrl('gated2', dave)]);
      } finally {
        await client.close();
      }
    });

    it('lists and calls the tools once the user has consented to both upstreams', async () => {
      granted.add(`${bob.id} ${gated.id}`);
      granted.add(`${bob.id} ${gated2.id}`);
      const client = await sdkClient('suite', BOB_KEY);
      try {
        expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['alpha_echo', 'beta_echo']);
        expect((await client.callTool({ name: 'beta_echo', arguments: { message: 'after consent' } })).content).toEqual([{ type: 'text', text: 'after consent' }]);
      } finally {
        await client.close();
      }
    });
  });

  describe('per-user header values', () => {
    it('tells the user where to set their value, naming the variable', async () => {
      const { status, answer } = await post('per-user', initializeRequest(10));
      expect(status).toBe(200);
      expect(answer.error).toMatchObject({ code: -32000, data: { code: 'user_value_required', variables: ['API_KEY'], url: `${PUBLIC_URL}/me/credentials/per-user` } });
      expect(answer.error!.message).toContain(`PUT ${PUBLIC_URL}/me/credentials/per-user`);
      expect(answer.error!.message).toContain('API_KEY');
    });
  });

  describe('passthrough', () => {
    it("forwards the caller's own IdP JWT, unchanged, and audits it as passthrough without the token", async () => {
      const client = await sdkClient('pass', CAROL_JWT);
      try {
        const seen = JSON.parse(((await client.callTool({ name: 'request_headers', arguments: {} })).content as { text: string }[])[0].text) as Record<string, string>;
        expect(seen['authorization']).toBe(`Bearer ${CAROL_JWT}`);
      } finally {
        await client.close();
      }
      await eventually(() => edge.audit.some((e) => e.server === 'pass' && e.principal?.id === carol.id && e.action === 'tool.call'));
      const events = edge.audit.filter((e) => e.server === 'pass' && e.principal?.id === carol.id);
      expect(events.every((e) => e.credentialKind === 'passthrough')).toBe(true);
      expect(JSON.stringify(events)).not.toContain(CAROL_JWT);
    });

    it('never forwards a gateway API key upstream: the caller is refused', async () => {
      const before = alpha.requests.length;
      const { status, answer } = await post('pass', initializeRequest(11));
      expect(status).toBe(403);
      expect(answer.error).toMatchObject({ code: -32000, data: { code: 'passthrough_refused' } });
      expect(alpha.requests.length).toBe(before);
      expect(JSON.stringify(alpha.requests)).not.toContain(ALICE_KEY);
    });
  });

  describe('token exchange', () => {
    it('sends the caller\'s IdP JWT to the vault as subject token only for a token_exchange server', async () => {
      edge.directory.credentialRequests.length = 0;
      granted.add(`${carol.id} ${gated.id}`);
      expect((await post('exchange', initializeRequest(12), CAROL_JWT)).answer.result).toBeDefined();
      expect((await post('gated', initializeRequest(13), CAROL_JWT)).answer.result).toBeDefined();
      const bySlug = new Map(edge.directory.credentialRequests.map((r) => [r.server.slug, r]));
      expect(bySlug.get('exchange')!.subjectToken).toBe(CAROL_JWT);
      expect(bySlug.get('gated')!).not.toHaveProperty('subjectToken');
    });

    it('sends no subject token for a caller authenticated by a gateway API key', async () => {
      edge.directory.credentialRequests.length = 0;
      await post('exchange', initializeRequest(14));
      expect(edge.directory.credentialRequests).toHaveLength(1);
      expect(edge.directory.credentialRequests[0]).not.toHaveProperty('subjectToken');
    });
  });
});

/** `portcullis_edge_consent_required_total{server}` in a scrape. */
function consentsCounted(scrape: string, server: string): number {
  const line = scrape.split('\n').find((row) => row.startsWith('portcullis_edge_consent_required_total{') && row.includes(`server="${server}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
