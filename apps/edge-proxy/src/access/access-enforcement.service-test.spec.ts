import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EventSubjects, RequestSubjects } from '@portcullis/contracts';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { allowAll, eventually, initializeRequest, MCP_HEADERS, principal, RunningEdge, settle, startEdge, target } from '../../test/edge-harness';
import { AccessDecisionResolver } from './access-decision-resolver.service';

const tokens = { user: 'pcl_user_token_aaaaaaaaaaaaaaaa', viewer: 'pcl_viewer_token_bbbbbbbbbbbbbb', outsider: 'pcl_outsider_token_ccccccccccc' };

describe(AccessDecisionResolver.name, () => {
  let edge: RunningEdge;
  let echo: EchoMcpServer;
  let serverId: string;
  const user = principal({ email: 'user@example.com' });
  const viewer = principal({ email: 'viewer@example.com' });
  const outsider = principal({ email: 'outsider@example.com' });

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    edge = await startEdge();
    serverId = edge.directory.addServer(target('echo', echo.url)).id;
    edge.directory.addToken(tokens.user, user);
    edge.directory.addToken(tokens.viewer, viewer);
    edge.directory.addToken(tokens.outsider, outsider);
    edge.directory.decisions.set('echo', (who) => {
      if (who.id === user.id) return allowAll({ toolRules: [{ allow: null, deny: ['request_*'] }], descriptions: { echo: 'Echo, as the gateway describes it' } });
      if (who.id === viewer.id) return allowAll({ role: 'viewer' });
      return allowAll({ allowed: false, role: null, reason: 'no role on "echo"' });
    });
  });

  afterAll(async () => {
    await edge?.close();
    await echo?.close();
  });

  async function connect(token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl('echo')), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'access-test', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  }

  async function close({ client, transport }: { client: Client; transport: StreamableHTTPClientTransport }): Promise<void> {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  }

  const deniedEvents = (who: string) => edge.audit.filter((e) => e.action === 'access.denied' && e.principal?.id === who);

  it('stops a principal without a role with 403 and a JSON-RPC error, without contacting the upstream', async () => {
    const before = echo.requests.length;
    const response = await fetch(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.outsider}` }, body: initializeRequest(3) });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32000, message: expect.stringContaining('no access'), data: { code: 'forbidden' } } });
    expect(echo.requests.length).toBe(before);
    await eventually(() => deniedEvents(outsider.id).length === 1);
    expect(deniedEvents(outsider.id)[0]).toMatchObject({ outcome: 'denied', method: 'initialize', server: 'echo', reason: 'no role on "echo"' });
  });

  it('stops a denied tool from appearing in tools/list, and applies the description override', async () => {
    const session = await connect(tokens.user);
    try {
      const { tools } = await session.client.listTools();
      expect(tools.map((t) => [t.name, t.description])).toEqual([['echo', 'Echo, as the gateway describes it']]);
    } finally {
      await close(session);
    }
  });

  it('answers a call to a denied tool like an unknown tool (-32602) without forwarding it, and audits it', async () => {
    const session = await connect(tokens.user);
    // The client opens its GET event stream in the background; only POSTs carry calls.
    const posts = () => echo.requests.filter((r) => r[':method'] === 'POST').length;
    const forwardedBefore = posts();
    try {
      await expect(session.client.callTool({ name: 'request_headers', arguments: {} })).rejects.toMatchObject({ code: -32602 });
      expect(posts()).toBe(forwardedBefore);
      const result = await session.client.callTool({ name: 'echo', arguments: { message: 'allowed' } });
      expect(result.content).toEqual([{ type: 'text', text: 'allowed' }]);
    } finally {
      await close(session);
    }
    await eventually(() => deniedEvents(user.id).some((e) => e.tool === 'request_headers'));
    expect(deniedEvents(user.id).find((e) => e.tool === 'request_headers')).toMatchObject({ method: 'tools/call', outcome: 'denied' });
  });

  it('stops a viewer from calling a tool it may see', async () => {
    const session = await connect(tokens.viewer);
    try {
      expect((await session.client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'request_headers']);
      await expect(session.client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toMatchObject({ code: -32602 });
    } finally {
      await close(session);
    }
  });

  it('stops a batch from smuggling a denied call past the check', async () => {
    const batch = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'a' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'request_headers', arguments: {} } },
    ]);
    const before = echo.requests.length;
    const response = await fetch(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.user}` }, body: batch });
    const body = (await response.json()) as { id: number; error: { code: number } }[];
    expect(body.map((m) => [m.id, m.error.code])).toEqual([
      [1, -32000],
      [2, -32602],
    ]);
    expect(echo.requests.length).toBe(before);
  });

  it('makes no bus request once warm, and asks again on the next request after a registry change (measured)', async () => {
    const session = await connect(tokens.user);
    try {
      await session.client.listTools();
      edge.bus.requested.length = 0;
      await session.client.callTool({ name: 'echo', arguments: { message: 'warm' } });
      expect(edge.bus.requested).toEqual([]);

      // The registry now denies echo too; the edge hears the change and the very next request obeys it.
      edge.directory.decisions.set('echo', () => allowAll({ toolRules: [{ allow: null, deny: ['*'] }] }));
      const changedAt = Date.now();
      await edge.bus.emit(EventSubjects.registryChanged, { serverId, slug: 'echo', change: 'updated' });
      await settle();
      await expect(session.client.callTool({ name: 'echo', arguments: { message: 'now denied' } })).rejects.toMatchObject({ code: -32602 });
      expect(Date.now() - changedAt).toBeLessThan(1000);
      expect(edge.bus.requested).toContain(RequestSubjects.registryAuthorize);
    } finally {
      await close(session);
    }
  });

  it('drops decisions of a principal whose identity is revoked', async () => {
    const resolver = edge.app.get(AccessDecisionResolver);
    edge.directory.decisions.delete('echo');
    const echoTarget = edge.directory.servers.get('echo')!;
    await resolver.decide(viewer, echoTarget);
    edge.bus.requested.length = 0;
    await resolver.decide(viewer, echoTarget);
    expect(edge.bus.requested).toEqual([]);
    await edge.bus.emit(EventSubjects.identityRevoked, { credentialIds: [], principalIds: [viewer.id] });
    await settle();
    await resolver.decide(viewer, echoTarget);
    expect(edge.bus.requested).toEqual([RequestSubjects.registryAuthorize]);
  });

  it('keys decisions by teams and admin flag, so a changed principal never reuses an old decision', async () => {
    const resolver = edge.app.get(AccessDecisionResolver);
    const echoTarget = edge.directory.servers.get('echo')!;
    await resolver.decide(user, echoTarget);
    edge.bus.requested.length = 0;
    await resolver.decide({ ...user, teams: ['admins'] }, echoTarget);
    await resolver.decide({ ...user, isAdmin: true }, echoTarget);
    expect(edge.bus.requested).toEqual([RequestSubjects.registryAuthorize, RequestSubjects.registryAuthorize]);
  });
});
