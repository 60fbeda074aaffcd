import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EventSubjects, RequestSubjects } from '@portcullis/contracts';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { allowAll, eventually, MCP_HEADERS, principal, RunningEdge, settle, startEdge, target } from '../../test/edge-harness';
import { VirtualServerProxy } from './virtual-server.proxy';

const TOKEN = 'pcl_virtual_user_token_aaaaaaaaaa';
const OUTSIDER = 'pcl_virtual_outsider_token_bbbbbbb';

describe(VirtualServerProxy.name, () => {
  let edge: RunningEdge;
  let alpha: EchoMcpServer;
  let beta: EchoMcpServer;
  let legacy: EchoMcpServer;
  const user = principal({ email: 'user@example.com' });
  const outsider = principal({ email: 'outsider@example.com' });

  beforeAll(async () => {
    [alpha, beta, legacy] = await Promise.all([startEchoMcpServer({ name: 'alpha' }), startEchoMcpServer({ name: 'beta' }), startEchoMcpServer({ name: 'legacy', transport: 'sse' })]);
    edge = await startEdge();
    const alphaTarget = edge.directory.addServer(target('alpha', alpha.url), { status: 'ready', credentialKind: 'header', credentialId: 'c-alpha', headers: { 'X-Key': 'alpha-secret' }, expiresAt: null });
    const betaTarget = edge.directory.addServer(target('beta', beta.url), { status: 'ready', credentialKind: 'header', credentialId: 'c-beta', headers: { 'X-Key': 'beta-secret' }, expiresAt: null });
    const legacyTarget = edge.directory.addServer(
      { ...target('legacy', legacy.url), transport: 'sse' },
      { status: 'ready', credentialKind: 'header', credentialId: 'c-legacy', headers: { 'X-Key': 'legacy-secret' }, expiresAt: null },
    );
    edge.directory.addVirtualServer('combo', [
      { name: 'alpha_echo', tool: 'echo', server: alphaTarget },
      { name: 'alpha_headers', tool: 'request_headers', server: alphaTarget },
      { name: 'beta_headers', tool: 'request_headers', server: betaTarget },
      { name: 'gone', tool: 'not_on_upstream', server: betaTarget },
      { name: 'legacy_echo', tool: 'echo', server: legacyTarget },
      { name: 'legacy_headers', tool: 'request_headers', server: legacyTarget },
    ]);
    edge.directory.addToken(TOKEN, user);
    edge.directory.addToken(OUTSIDER, outsider);
    edge.directory.decisions.set('combo', (who) =>
      who.id === user.id
        ? allowAll({ toolRules: [{ allow: null, deny: ['alpha_headers'] }], descriptions: { alpha_echo: 'Echo of alpha' } })
        : allowAll({ allowed: false, role: null, reason: 'no role on "combo"' }),
    );
  });

  afterAll(async () => {
    await edge?.close();
    await Promise.all([alpha?.close(), beta?.close(), legacy?.close()]);
  });

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'virtual-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(edge.mcpUrl('combo')), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    return client;
  }

  it('lists the chosen tools of both upstreams, renamed and filtered, through the MCP SDK client', async () => {
    const client = await connect();
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => [t.name, t.description])).toEqual([
        ['alpha_echo', 'Echo of alpha'],
        ['beta_headers', 'Returns the HTTP headers of the request that carried this call'],
        ['legacy_echo', 'Returns its message unchanged'],
        ['legacy_headers', 'Returns the HTTP headers of the request that carried this call'],
      ]);
    } finally {
      await client.close();
    }
  });

  it("routes each call to its upstream with that upstream's own credential", async () => {
    const client = await connect();
    try {
      expect((await client.callTool({ name: 'alpha_echo', arguments: { message: 'via combo' } })).content).toEqual([{ type: 'text', text: 'via combo' }]);
      const seen = JSON.parse(((await client.callTool({ name: 'beta_headers', arguments: {} })).content as { text: string }[])[0].text) as Record<string, string>;
      expect(seen['x-key']).toBe('beta-secret');
      expect(seen['authorization']).toBeUndefined();
      expect(JSON.stringify(seen)).not.toContain(TOKEN);
    } finally {
      await client.close();
    }
  });

  it("reaches a legacy HTTP+SSE upstream with its own credential on the event stream and every message", async () => {
    const client = await connect();
    const before = legacy.requests.length;
    try {
      expect((await client.callTool({ name: 'legacy_echo', arguments: { message: 'via sse' } })).content).toEqual([{ type: 'text', text: 'via sse' }]);
      const seen = JSON.parse(((await client.callTool({ name: 'legacy_headers', arguments: {} })).content as { text: string }[])[0].text) as Record<string, string>;
      expect(seen['x-key']).toBe('legacy-secret');
      expect(JSON.stringify(seen)).not.toContain(TOKEN);
    } finally {
      await client.close();
    }
    const reached = legacy.requests.slice(before);
    expect(reached.some((r) => r[':method'] === 'GET' && r[':path'] === '/sse')).toBe(true);
    expect(reached.some((r) => r[':method'] === 'POST' && r[':path'] === '/messages')).toBe(true);
    for (const request of reached) {
      expect(request['x-key']).toBe('legacy-secret');
      expect(request.authorization).toBeUndefined();
    }
    await eventually(() => edge.audit.some((e) => e.action === 'tool.call' && e.server === 'combo' && e.tool === 'legacy_echo' && e.outcome === 'success'));
  });

  it('answers a denied or unknown tool like an unknown tool, and audits it', async () => {
    const client = await connect();
    const before = alpha.requests.length;
    try {
      await expect(client.callTool({ name: 'alpha_headers', arguments: {} })).rejects.toMatchObject({ code: -32602 });
      await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    } finally {
      await client.close();
    }
    expect(alpha.requests.length).toBe(before);
    await eventually(() => edge.audit.some((e) => e.action === 'access.denied' && e.server === 'combo' && e.tool === 'alpha_headers'));
  });

  it('answers methods other than tools with method-not-found', async () => {
    const response = await fetch(edge.mcpUrl('combo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'resources/list' }) });
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 9, error: { code: -32601, message: 'Method not found: resources/list' } });
  });

  it('answers 403 to a principal without a role on the virtual server', async () => {
    const response = await fetch(edge.mcpUrl('combo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${OUTSIDER}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(response.status).toBe(403);
  });

  it('audits each routed call with the credential it used', async () => {
    await eventually(() => edge.audit.some((e) => e.action === 'tool.call' && e.server === 'combo' && e.tool === 'beta_headers'));
    expect(edge.audit.find((e) => e.action === 'tool.call' && e.tool === 'beta_headers')).toMatchObject({ credentialKind: 'header', credentialId: 'c-beta', outcome: 'success' });
  });

  it('makes no registry or identity round trip once warm, and drops the virtual server on a registry change', async () => {
    const call = () =>
      fetch(edge.mcpUrl('combo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
    await call();
    edge.bus.requested.length = 0;
    expect((await call()).status).toBe(200);
    expect(edge.bus.requested).toEqual([]);
    await edge.bus.emit(EventSubjects.registryChanged, { serverId: randomUUID(), slug: 'combo', change: 'updated' });
    await settle();
    await call();
    expect(edge.bus.requested).toEqual([RequestSubjects.registryResolveVirtual, RequestSubjects.registryAuthorize]);
  });
});
