import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, GatewayUnderTest, randomSecret, startEchoMcpServer, startServerEverything } from '@portcullis/testing';

type Upstream = Awaited<ReturnType<typeof startEchoMcpServer>>;

/** What the client saw on the wire: every response header and body. */
export class WireTap {
  readonly seen: string[] = [];

  readonly fetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    this.seen.push(JSON.stringify([...response.headers]));
    if (!response.body) return response;
    const [mine, theirs] = response.body.tee();
    // An aborted stream (the client closing its GET stream) ends the copy too; what arrived is kept.
    void new Response(mine)
      .text()
      .then((text) => this.seen.push(text))
      .catch(() => undefined);
    return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

export async function connectClient(gateway: GatewayUnderTest, slug: string, token: string, tap?: WireTap): Promise<Client> {
  const client = new Client({ name: 'portcullis-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.edgeUrl}/mcp/${slug}`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: tap?.fetch,
  });
  await client.connect(transport);
  return client;
}

export async function admin(gateway: GatewayUnderTest, method: string, path: string, body?: unknown, token = gateway.adminToken): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(`${gateway.registryUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? safeJson(text) : null, text };
}

export async function auditEvents(gateway: GatewayUnderTest, query: string): Promise<any[]> {
  const response = await fetch(`${gateway.auditUrl}/api/v1/audit/events?${query}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
  if (response.status !== 200) throw new Error(`audit listing answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { items: any[] }).items;
}

/** Waits until the audit trail holds events matching `accept`, as the audit consumer is asynchronous. */
export async function waitForAudit(gateway: GatewayUnderTest, query: string, accept: (items: any[]) => boolean, timeoutMs = 20_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  let items: any[] = [];
  while (Date.now() < deadline) {
    items = await auditEvents(gateway, query);
    if (accept(items)) return items;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`audit trail did not reach the expected state; last: ${JSON.stringify(items).slice(0, 2000)}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');
}

/**
 * The first real path of issue 2, as a user walks it: register an upstream
 * with a header credential, call its tools through the gateway with one API
 * key, and find the calls in a hash-chained audit trail.
 */
export function describeGatewayScenario(start: () => Promise<GatewayUnderTest>): void {
  let gateway: GatewayUnderTest;
  let upstream: Upstream;
  const upstreamSecret = randomSecret('upstream-key');

  beforeAll(async () => {
    [gateway, upstream] = await Promise.all([start(), startEchoMcpServer()]);
    const created = await admin(gateway, 'POST', '/api/v1/servers', {
      slug: 'echo',
      name: 'Echo',
      url: upstream.url,
      authType: 'header',
      headers: { 'X-Upstream-Key': upstreamSecret },
    });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await upstream?.close();
    await gateway?.stop();
  });

  it('proxies list and calls to a real MCP server, injecting the header credential the client never sees', async () => {
    const tap = new WireTap();
    const client = await connectClient(gateway, 'echo', gateway.adminToken, tap);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['echo', 'request_headers']);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hello through the gate' } }))).toBe('hello through the gate');
    const seenBeforeHeaders = tap.seen.length;

    const headers = JSON.parse(textOf(await client.callTool({ name: 'request_headers', arguments: {} }))) as Record<string, string>;
    expect(headers['x-upstream-key']).toBe(upstreamSecret);
    expect(JSON.stringify(headers)).not.toContain(gateway.adminToken);
    expect(headers.authorization).toBeUndefined();
    await client.close();

    // request_headers reports the secret by design; every other response the client got must not carry it.
    await new Promise((r) => setTimeout(r, 100));
    const wire = tap.seen.slice(0, seenBeforeHeaders).join('\n');
    expect(wire.length).toBeGreaterThan(0);
    expect(wire).not.toContain(upstreamSecret);
    expect(upstream.requests.some((r) => r['x-upstream-key'] === upstreamSecret)).toBe(true);
    expect(upstream.requests.some((r) => JSON.stringify(r).includes(gateway.adminToken))).toBe(false);
  });

  it('records every call in the audit trail, each row chained to the one before', async () => {
    const items = await waitForAudit(gateway, 'server=echo&limit=100', (rows) =>
      ['echo', 'request_headers'].every((tool) => rows.some((r) => r.action === 'tool.call' && r.tool === tool && r.outcome === 'success')),
    );
    const call = items.find((r) => r.tool === 'echo');
    expect(call).toMatchObject({ server: 'echo', credentialKind: 'header', principal: { kind: 'user' } });
    const all = await auditEvents(gateway, 'limit=500');
    for (let i = 0; i < all.length - 1; i++) expect(all[i].prevHash).toBe(all[i + 1].hash);
    const verify = await fetch(`${gateway.auditUrl}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    expect(await verify.json()).toMatchObject({ ok: true });
  });

  it('works with @modelcontextprotocol/server-everything over streamable HTTP', async () => {
    const everything = await startServerEverything();
    try {
      expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'everything', name: 'Everything', url: everything.url, authType: 'none' })).status).toBe(201);
      const client = await connectClient(gateway, 'everything', gateway.adminToken);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('echo');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'everything works' } }))).toContain('everything works');
      await client.close();
    } finally {
      await everything.close();
    }
  });

  describe('bad input', () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } },
    };
    const post = (slug: string, body: string, token?: string) =>
      fetch(`${gateway.edgeUrl}/mcp/${slug}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });

    it('answers an unknown server slug with 404', async () => {
      const response = await post('no-such-server', JSON.stringify(initialize), gateway.adminToken);
      expect(response.status).toBe(404);
      expect(JSON.stringify(await response.json())).toContain('no-such-server');
    });

    it('refuses a request without a token with 401 and the resource metadata URL', async () => {
      const response = await post('echo', JSON.stringify(initialize));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${gateway.publicUrl}/.well-known/oauth-protected-resource/mcp/echo"`);
    });

    it('refuses an unknown token with 401 and error="invalid_token"', async () => {
      const response = await post('echo', JSON.stringify(initialize), randomSecret('forged'));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${gateway.publicUrl}/.well-known/oauth-protected-resource/mcp/echo", error="invalid_token"`,
      );
    });

    it('answers a body that is not JSON with JSON-RPC -32700', async () => {
      const response = await post('echo', '{"jsonrpc": "2.0", "id": 1, "method": ', gateway.adminToken);
      expect(response.status).toBe(400);
      expect(((await response.json()) as any).error.code).toBe(-32700);
    });

    it('names the upstream that is down, without hanging', async () => {
      const deadPort = await freePort();
      expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'down', name: 'Down', url: `http://127.0.0.1:${deadPort}/mcp`, authType: 'none' })).status).toBe(201);
      const started = Date.now();
      const response = await post('down', JSON.stringify(initialize), gateway.adminToken);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(response.status).toBeGreaterThanOrEqual(500);
      const body = (await response.json()) as any;
      expect(body.id).toBe(1);
      expect(body.error.message).toContain("'down'");
    });

    it('answers a malformed admin body with 400 naming the fields', async () => {
      const response = await admin(gateway, 'POST', '/api/v1/servers', { slug: 'Bad Slug!', name: 'x', url: 'not a url', authType: 'header' });
      expect(response.status).toBe(400);
      const paths = (response.body.error.issues as { path: string }[]).map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['slug', 'url']));
    });

    it('never shows the header secret in an API response, a log line or an audit row', async () => {
      const listing = await admin(gateway, 'GET', '/api/v1/servers');
      const one = await admin(gateway, 'GET', '/api/v1/servers/echo');
      expect(listing.status).toBe(200);
      expect(one.body.headerNames).toEqual(['X-Upstream-Key']);
      const audit = await auditEvents(gateway, 'limit=500');
      expect(audit.length).toBeGreaterThan(0);
      for (const text of [listing.text, one.text, JSON.stringify(audit), gateway.logs()]) expect(text).not.toContain(upstreamSecret);
      // The whole stored trail, as compliance exports it: neither the upstream secret nor the gateway token.
      const exported = await fetch(`${gateway.auditUrl}/api/v1/audit/export?format=ndjson`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
      expect(exported.status).toBe(200);
      const trail = await exported.text();
      expect(trail.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(audit.length);
      expect(trail).not.toContain(upstreamSecret);
      expect(trail).not.toContain(gateway.adminToken);
    });
  });
}
