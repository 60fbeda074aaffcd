import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EchoMcpServer, GatewayUnderTest, startDistributedGateway, startEchoMcpServer, startOidcProvider, TestOidcProvider } from '@portcullis/testing';
import { admin, waitForAudit } from './gateway-scenario';

/**
 * Issue 4 as users meet it: two people from the customer's IdP in different
 * teams and one virtual account, two real upstream MCP servers and a virtual
 * server composed of both; groups, collaborators and tool policies set
 * through the admin API, enforced by the edge.
 */
describe('access control at the edge (five services over NATS, a real IdP, two real upstreams)', () => {
  const AUDIENCE = 'https://gateway.e2e.example';
  let gateway: GatewayUnderTest;
  let idp: TestOidcProvider;
  let alpha: EchoMcpServer;
  let beta: EchoMcpServer;
  let aliceToken: string;
  let bobToken: string;
  let botToken: string;
  let policyId: string;
  let policyEtag: string;

  const clients: Client[] = [];
  async function connect(slug: string, token: string): Promise<Client> {
    const client = new Client({ name: 'access-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.edgeUrl}/mcp/${slug}`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  }
  const names = async (client: Client) => (await client.listTools()).tools.map((tool) => tool.name).sort();

  beforeAll(async () => {
    [gateway, idp, alpha, beta] = await Promise.all([
      startDistributedGateway(),
      startOidcProvider({ audience: AUDIENCE }),
      startEchoMcpServer({ name: 'alpha' }),
      startEchoMcpServer({ name: 'beta' }),
    ]);
    const provider = await admin(gateway, 'POST', '/api/v1/identity-providers', { name: 'acme', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, audiences: [AUDIENCE], groupsClaim: 'groups' });
    expect(provider.status).toBe(201);
    for (const [slug, upstream] of [['alpha', alpha], ['beta', beta]] as const) {
      expect((await admin(gateway, 'POST', '/api/v1/servers', { slug, name: slug, url: upstream.url, authType: 'none' })).status).toBe(201);
    }
    expect((await admin(gateway, 'POST', '/api/v1/groups', { name: 'dev-tools', servers: ['alpha'] })).status).toBe(201);
    expect((await admin(gateway, 'POST', '/api/v1/groups/dev-tools/collaborators', { subject: 'team:dev', role: 'user' })).status).toBe(201);
    expect((await admin(gateway, 'POST', '/api/v1/servers/beta/collaborators', { subject: 'team:ops', role: 'user' })).status).toBe(201);
    const policy = await admin(gateway, 'POST', '/api/v1/servers/alpha/policies', { subject: 'team:dev', allow: ['*'], deny: ['request_*'] });
    expect(policy.status).toBe(201);
    policyId = policy.body.id;
    // The virtual account may use beta's echo only, and see (not call) the virtual server.
    expect((await admin(gateway, 'POST', '/api/v1/virtual-accounts', { name: 'ci-bot' })).status).toBe(201);
    const issued = await admin(gateway, 'POST', '/api/v1/virtual-accounts/ci-bot/tokens', {});
    expect(issued.status).toBe(201);
    botToken = issued.body.token;
    expect((await admin(gateway, 'POST', '/api/v1/servers/beta/collaborators', { subject: 'virtualaccount:ci-bot', role: 'user' })).status).toBe(201);
    expect((await admin(gateway, 'POST', '/api/v1/servers/beta/policies', { subject: 'virtualaccount:ci-bot', allow: ['echo'] })).status).toBe(201);
    const combo = await admin(gateway, 'POST', '/api/v1/virtual-servers', {
      slug: 'combo',
      name: 'Combo',
      tools: [
        { server: 'alpha', tool: 'echo', alias: 'alpha_echo' },
        { server: 'beta', tool: 'echo', alias: 'beta_echo' },
        { server: 'beta', tool: 'request_headers', alias: 'beta_headers' },
      ],
    });
    expect(combo.status).toBe(201);
    expect((await admin(gateway, 'POST', '/api/v1/virtual-servers/combo/collaborators', { subject: 'team:dev', role: 'user' })).status).toBe(201);
    expect((await admin(gateway, 'POST', '/api/v1/virtual-servers/combo/collaborators', { subject: 'virtualaccount:ci-bot', role: 'viewer' })).status).toBe(201);
    aliceToken = await idp.mintAccessToken({ sub: 'alice', claims: { email: 'alice@acme.example', groups: ['dev'] } });
    bobToken = await idp.mintAccessToken({ sub: 'bob', claims: { email: 'bob@acme.example', groups: ['ops'] } });
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled([alpha?.close(), beta?.close(), idp?.stop()]);
    await gateway?.stop();
  });

  it('shows each team exactly the tools it may use, and refuses the rest like unknown tools', async () => {
    const aliceOnAlpha = await connect('alpha', aliceToken);
    expect(await names(aliceOnAlpha)).toEqual(['echo']);
    expect(await aliceOnAlpha.callTool({ name: 'echo', arguments: { message: 'dev' } })).toMatchObject({ content: [{ type: 'text', text: 'dev' }] });
    await expect(aliceOnAlpha.callTool({ name: 'request_headers', arguments: {} })).rejects.toMatchObject({ code: -32602 });

    const bobOnBeta = await connect('beta', bobToken);
    expect(await names(bobOnBeta)).toEqual(['echo', 'request_headers']);
    expect(await bobOnBeta.callTool({ name: 'request_headers', arguments: {} })).toBeDefined();
  });

  it('shows the virtual account only the tools of its policy', async () => {
    const botOnBeta = await connect('beta', botToken);
    expect(await names(botOnBeta)).toEqual(['echo']);
    await expect(botOnBeta.callTool({ name: 'request_headers', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });

  it('serves the virtual server: tools of both upstreams renamed, each call routed to its upstream', async () => {
    const aliceOnCombo = await connect('combo', aliceToken);
    expect(await names(aliceOnCombo)).toEqual(['alpha_echo', 'beta_echo', 'beta_headers']);
    expect(await aliceOnCombo.callTool({ name: 'beta_echo', arguments: { message: 'to beta' } })).toMatchObject({ content: [{ type: 'text', text: 'to beta' }] });
    expect(await aliceOnCombo.callTool({ name: 'alpha_echo', arguments: { message: 'to alpha' } })).toMatchObject({ content: [{ type: 'text', text: 'to alpha' }] });
    await expect(aliceOnCombo.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toMatchObject({ code: -32602 });
    // A viewer sees the list but calls nothing.
    const botOnCombo = await connect('combo', botToken);
    expect(await names(botOnCombo)).toEqual(['alpha_echo', 'beta_echo', 'beta_headers']);
    await expect(botOnCombo.callTool({ name: 'beta_echo', arguments: { message: 'x' } })).rejects.toMatchObject({ code: -32602 });
  });

  it('answers 403 to a principal without any role on the server', async () => {
    for (const [slug, token] of [['alpha', bobToken], ['beta', aliceToken], ['alpha', botToken], ['combo', bobToken]] as const) {
      const response = await fetch(`${gateway.edgeUrl}/mcp/${slug}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } } }),
      });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { data: { code: string } } }).error.data.code).toBe('forbidden');
    }
  });

  it('records every denial in the audit trail', async () => {
    const items = await waitForAudit(gateway, 'limit=200', (rows) => {
      const denied = rows.filter((r) => r.action === 'access.denied');
      return (
        denied.some((r) => r.server === 'alpha' && r.tool === 'request_headers') &&
        denied.some((r) => r.server === 'alpha' && r.method === 'initialize') &&
        denied.some((r) => r.server === 'beta' && r.principal?.kind === 'virtual_account' && r.tool === 'request_headers') &&
        denied.some((r) => r.server === 'combo' && r.tool === 'echo') &&
        denied.some((r) => r.server === 'combo' && r.principal?.kind === 'virtual_account')
      );
    });
    const toolDenial = items.find((r) => r.action === 'access.denied' && r.server === 'alpha' && r.tool === 'request_headers');
    expect(toolDenial).toMatchObject({ outcome: 'denied', principal: { kind: 'user', email: 'alice@acme.example' } });
  });

  it('applies a policy change to the next request through an already-warm edge (measured)', async () => {
    const aliceOnAlpha = await connect('alpha', aliceToken);
    expect(await names(aliceOnAlpha)).toEqual(['echo']);
    const read = await fetch(`${gateway.registryUrl}/api/v1/servers/alpha/policies/${policyId}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    expect(read.status).toBe(200);
    policyEtag = read.headers.get('etag') ?? '';
    expect(policyEtag).toMatch(/^"v\d+"$/);
    const changed = await fetch(`${gateway.registryUrl}/api/v1/servers/alpha/policies/${policyId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json', 'if-match': policyEtag },
      body: JSON.stringify({ deny: ['request_*', 'echo'] }),
    });
    expect(changed.status).toBe(200);
    const changedAt = Date.now();
    let visible = await names(aliceOnAlpha);
    while (visible.includes('echo') && Date.now() - changedAt < 5000) visible = await names(aliceOnAlpha);
    const elapsedMs = Date.now() - changedAt;
    expect(visible).toEqual([]);
    // DESIGN: edges drop stale decisions within one second.
    expect(elapsedMs).toBeLessThan(1000);
    await expect(aliceOnAlpha.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toMatchObject({ code: -32602 });
    // A second admin holding the old ETag cannot silently undo it.
    const stale = await fetch(`${gateway.registryUrl}/api/v1/servers/alpha/policies/${policyId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json', 'if-match': policyEtag },
      body: JSON.stringify({ deny: [] }),
    });
    expect(stale.status).toBe(412);
  });

  it('checks the tools of a virtual server upstream with the shared header from the vault, refusing a missing one (400 naming tools.1.tool)', async () => {
    const secret = `upstream-key-${Date.now()}`;
    expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'keyed', name: 'keyed', url: beta.url, authType: 'header', headers: { 'X-Upstream-Key': secret } })).status).toBe(201);
    const seen = beta.requests.length;
    const missing = await admin(gateway, 'POST', '/api/v1/virtual-servers', { slug: 'keyed-combo', name: 'x', tools: [{ server: 'keyed', tool: 'echo' }, { server: 'keyed', tool: 'delete_everything', alias: 'd' }] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues).toEqual([{ path: 'tools.1.tool', message: 'no tool "delete_everything" on server "keyed"' }]);
    expect((await admin(gateway, 'GET', '/api/v1/virtual-servers/keyed-combo')).status).toBe(404);
    // The registry listed the tools with the vault's shared header, as the edge would.
    expect(beta.requests.slice(seen).some((request) => request['x-upstream-key'] === secret)).toBe(true);
    expect((await admin(gateway, 'POST', '/api/v1/virtual-servers', { slug: 'keyed-combo', name: 'x', tools: [{ server: 'keyed', tool: 'echo' }] })).status).toBe(201);
  });

  it('records admin changes and revocations in the audit trail, without secrets', async () => {
    const key = await admin(gateway, 'POST', '/api/v1/api-keys', { name: 'short-lived', ownerEmail: 'erin@acme.example' });
    expect(key.status).toBe(201);
    expect((await admin(gateway, 'DELETE', `/api/v1/api-keys/${key.body.apiKey.id}`)).status).toBe(200);
    const items = await waitForAudit(gateway, 'limit=500', (rows) =>
      rows.some((r) => r.action === 'credential.revoked' && r.credentialId === key.body.apiKey.id) && rows.some((r) => r.action === 'admin.change' && r.reason === 'server.create keyed'),
    );
    expect(items.find((r) => r.action === 'admin.change' && r.reason === 'server.create keyed')).toMatchObject({ server: 'keyed', outcome: 'success', principal: { kind: 'user' } });
    expect(items.filter((r) => r.action === 'admin.change' && r.reason === `api-key.revoke ${key.body.apiKey.id}`)).toHaveLength(1);
    const trail = JSON.stringify(items);
    for (const secret of [key.body.token, gateway.adminToken, 'upstream-key-']) expect(trail).not.toContain(secret);
  });

  it('lets an auditor read and export the audit trail but change nothing; a plain user gets 403', async () => {
    const auditorKey = await admin(gateway, 'POST', '/api/v1/api-keys', { name: 'compliance', ownerEmail: 'auditor@acme.example' });
    const plainKey = await admin(gateway, 'POST', '/api/v1/api-keys', { name: 'plain', ownerEmail: 'plain@acme.example' });
    expect((await admin(gateway, 'PATCH', `/api/v1/users/${auditorKey.body.apiKey.ownerUserId}`, { auditor: true })).body).toMatchObject({ isAuditor: true, isAdmin: false });
    const read = (path: string, token: string) => fetch(`${gateway.auditUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await read('/api/v1/audit/events?limit=5', auditorKey.body.token)).status).toBe(200);
    const exported = await read('/api/v1/audit/export?format=ndjson', auditorKey.body.token);
    expect(exported.status).toBe(200);
    await exported.body?.cancel();
    expect((await read('/api/v1/audit/events?limit=5', plainKey.body.token)).status).toBe(403);
    expect((await read('/api/v1/audit/export?format=ndjson', plainKey.body.token)).status).toBe(403);
    // Privilege escalation: reading the trail grants no admin write.
    expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'auditor-made', name: 'x', url: alpha.url, authType: 'none' }, auditorKey.body.token)).status).toBe(403);
    expect((await admin(gateway, 'PATCH', `/api/v1/users/${auditorKey.body.apiKey.ownerUserId}`, { auditor: false }, auditorKey.body.token)).status).toBe(403);
  });

  it('refuses bad input with 400/409 and a clear message, saving nothing', async () => {
    const clash = await admin(gateway, 'POST', '/api/v1/virtual-servers', { slug: 'clash', name: 'x', tools: [{ server: 'alpha', tool: 'echo' }, { server: 'beta', tool: 'echo' }] });
    expect(clash.status).toBe(409);
    const missing = await admin(gateway, 'POST', '/api/v1/virtual-servers', { slug: 'missing', name: 'x', tools: [{ server: 'nowhere', tool: 'echo' }] });
    expect(missing.body.error.issues).toEqual([{ path: 'tools.0.server', message: 'no server with slug "nowhere"' }]);
    expect((await admin(gateway, 'GET', '/api/v1/virtual-servers/clash')).status).toBe(404);
    const badGlob = await admin(gateway, 'POST', '/api/v1/servers/beta/policies', { subject: 'team:ops', deny: ['no spaces'] });
    expect(badGlob.status).toBe(400);
    expect(badGlob.body.error.issues).toEqual([{ path: 'deny.0', message: expect.stringContaining('glob') }]);
    expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'alpha', name: 'again', url: alpha.url, authType: 'none' })).status).toBe(409);
    const unknownField = await admin(gateway, 'POST', '/api/v1/groups', { name: 'x', servers: [], owner: 'me' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.issues).toEqual([{ path: 'owner', message: 'is not a known field' }]);
    expect((await admin(gateway, 'GET', '/api/v1/groups/x')).status).toBe(404);
  });
});
