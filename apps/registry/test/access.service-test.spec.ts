import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { EventOf, EventSubjects, isToolVisible, Principal, RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, EchoMcpServer, startEchoMcpServer, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { DataSource } from 'typeorm';
import { API_ROUTES } from '../src/openapi/api-routes';
import { bootIdentity, bootRegistry, controllerRoutes, newAdminToken } from './registry-test-harness';

/**
 * Groups, collaborators, tool settings, tool policies, `registry.authorize`,
 * the SSRF guard and the OpenAPI document, against real PostgreSQL with the
 * real identity module on one in-process bus.
 */
const ADMIN_TOKEN = newAdminToken();

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

describe('registry access control (real PostgreSQL; identity and registry on one bus)', () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let identity: NestFastifyApplication;
  let registry: NestFastifyApplication;
  let guarded: NestFastifyApplication;
  let upstream: EchoMcpServer;
  const tokens: Record<'manager' | 'viewer' | 'stranger', string> = { manager: '', viewer: '', stranger: '' };
  const changes: EventOf<typeof EventSubjects.registryChanged>[] = [];

  async function call(app: NestFastifyApplication, method: string, url: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await app.inject({ method: method as 'GET', url, headers, payload: options.body === undefined ? undefined : JSON.stringify(options.body) });
    let body: unknown = null;
    try {
      body = response.body ? JSON.parse(response.body) : null;
    } catch {
      body = response.body;
    }
    return { status: response.statusCode, headers: response.headers, body };
  }
  const api = (method: string, url: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) => call(registry, method, url, options);

  const startRegistry = (outboundAllowPrivate: boolean) =>
    bootRegistry({ bus, closeBusOnShutdown: false, logger: createLogger({ service: 'registry', level: 'silent' }), databaseUrl: database.url, outboundAllowPrivate });

  function server(slug: string) {
    return { slug, name: slug, url: upstream.url, authType: 'none' };
  }

  const authorize = (principal: Principal, slug: string, action: 'list' | 'call' | 'manage' = 'call') => bus.request(RequestSubjects.registryAuthorize, { principal, slug, action });
  const user = (email: string, teams: string[] = []): Principal => ({ id: `u-${email}`, kind: 'user', sub: email, email, teams, isAdmin: false });

  beforeAll(async () => {
    database = await createTestDatabase('registry_access');
    // A real MCP server: saving a virtual server lists its tools upstream.
    upstream = await startEchoMcpServer();
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    bus.on(EventSubjects.registryChanged, (event) => void changes.push(event));
    // Servers without credentials: nothing reaches the vault, so no stand-in is needed.
    identity = await bootIdentity({ bus, closeBusOnShutdown: false, logger: createLogger({ service: 'identity', level: 'silent' }), databaseUrl: database.url, bootstrapAdminToken: ADMIN_TOKEN });
    registry = await startRegistry(true);
    guarded = await startRegistry(false);
    for (const who of ['manager', 'viewer', 'stranger'] as const) {
      const created = await api('POST', '/api/v1/api-keys', { body: { name: who, ownerEmail: `${who}@example.com` } });
      expect(created.status).toBe(201);
      tokens[who] = created.body.token;
    }
    for (const slug of ['alpha', 'beta', 'gamma', 'outside']) expect((await api('POST', '/api/v1/servers', { body: server(slug) })).status).toBe(201);
  });

  afterAll(async () => {
    await guarded?.close();
    await registry?.close();
    await identity?.close();
    await bus?.close();
    await database?.drop();
    await upstream?.close();
  });

  describe('groups', () => {
    it('creates a group with its servers and answers its ETag', async () => {
      const created = await api('POST', '/api/v1/groups', { body: { name: 'dev', servers: ['alpha', 'beta'] } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'dev', servers: ['alpha', 'beta'] });
      expect(created.headers.etag).toBe('"v1"');
      expect(changes.filter((c) => ['alpha', 'beta'].includes(c.slug)).length).toBeGreaterThanOrEqual(2);
    });

    it('answers 409 for a taken name and for a server already in another group, saving nothing', async () => {
      expect((await api('POST', '/api/v1/groups', { body: { name: 'dev' } })).status).toBe(409);
      const stolen = await api('POST', '/api/v1/groups', { body: { name: 'ops', servers: ['gamma', 'alpha'] } });
      expect(stolen.status).toBe(409);
      expect(stolen.body.error.message).toContain('alpha');
      expect((await api('GET', '/api/v1/groups/ops')).status).toBe(404);
      expect(await registry.get(DataSource).query(`SELECT group_id FROM registry.servers WHERE slug = 'gamma'`)).toEqual([{ group_id: null }]);
    });

    it('names each bad field: unknown fields, a missing server, a bad name', async () => {
      const answer = await api('POST', '/api/v1/groups', { body: { name: 'Bad Name', servers: ['alpha', 'nope'], extra: 1 } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['extra', 'name']);
      const missing = await api('POST', '/api/v1/groups', { body: { name: 'qa', servers: ['gamma', 'nope'] } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.issues).toEqual([{ path: 'servers.1', message: 'no server with slug "nope"' }]);
      expect((await api('GET', '/api/v1/groups/qa')).status).toBe(404);
    });

    it('stops a lost update: a stale If-Match answers 412 and changes nothing', async () => {
      const read = await api('GET', '/api/v1/groups/dev');
      const etag = read.headers.etag as string;
      const first = await api('PATCH', '/api/v1/groups/dev', { body: { servers: ['alpha', 'beta', 'gamma'] }, headers: { 'if-match': etag } });
      expect(first.status).toBe(200);
      expect(first.headers.etag).not.toBe(etag);
      const second = await api('PATCH', '/api/v1/groups/dev', { body: { servers: [] }, headers: { 'if-match': etag } });
      expect(second.status).toBe(412);
      expect(second.body.error.code).toBe('precondition_failed');
      expect((await api('GET', '/api/v1/groups/dev')).body.servers).toEqual(['alpha', 'beta', 'gamma']);
      expect((await api('PATCH', '/api/v1/groups/dev', { body: { servers: ['alpha', 'beta'] }, headers: { 'if-match': first.headers.etag as string } })).status).toBe(200);
    });

    it('pages and filters groups by name', async () => {
      expect((await api('POST', '/api/v1/groups', { body: { name: 'devops' } })).status).toBe(201);
      const page = await api('GET', '/api/v1/groups?name=dev&limit=1');
      expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 0, items: [{ name: 'dev' }] });
      expect((await api('GET', '/api/v1/groups?name=dev&limit=1&offset=1')).body.items.map((g: { name: string }) => g.name)).toEqual(['devops']);
      expect((await api('GET', '/api/v1/groups?limit=0')).status).toBe(400);
    });
  });

  describe('collaborators and who may administer', () => {
    it('adds group and server collaborators, refusing bad subjects and duplicates by field', async () => {
      expect((await api('POST', '/api/v1/groups/dev/collaborators', { body: { subject: 'user:Manager@Example.com', role: 'manager' } })).body).toMatchObject({ subject: 'user:manager@example.com', role: 'manager' });
      expect((await api('POST', '/api/v1/servers/alpha/collaborators', { body: { subject: 'user:viewer@example.com', role: 'viewer' } })).status).toBe(201);
      expect((await api('POST', '/api/v1/servers/alpha/collaborators', { body: { subject: 'user:viewer@example.com', role: 'user' } })).status).toBe(409);
      const bad = await api('POST', '/api/v1/servers/alpha/collaborators', { body: { subject: 'viewer@example.com', role: 'owner' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['role', 'subject']);
    });

    it('lets a group manager manage the servers of the group, and nothing else', async () => {
      const asManager = { token: tokens.manager };
      expect((await api('PATCH', '/api/v1/servers/beta', { ...asManager, body: { name: 'Beta by manager' } })).status).toBe(200);
      expect((await api('POST', '/api/v1/servers/beta/collaborators', { ...asManager, body: { subject: 'team:everyone', role: 'viewer' } })).status).toBe(201);
      expect((await api('PUT', '/api/v1/servers/beta/tools/delete_repo', { ...asManager, body: { disabled: true } })).status).toBe(200);
      expect((await api('POST', '/api/v1/groups/dev/collaborators', { ...asManager, body: { subject: 'team:dev', role: 'user' } })).status).toBe(201);
      // Not outside the group, not the group itself, not server deletion, not keys.
      expect((await api('PATCH', '/api/v1/servers/outside', { ...asManager, body: { name: 'mine now' } })).status).toBe(403);
      expect((await api('PATCH', '/api/v1/groups/dev', { ...asManager, body: { servers: ['alpha', 'beta', 'outside'] } })).status).toBe(403);
      expect((await api('DELETE', '/api/v1/servers/beta', asManager)).status).toBe(403);
      expect((await api('POST', '/api/v1/groups', { ...asManager, body: { name: 'mine' } })).status).toBe(403);
    });

    it('stops a viewer from escalating: reads what it sees, changes nothing', async () => {
      const asViewer = { token: tokens.viewer };
      expect((await api('GET', '/api/v1/servers/alpha', asViewer)).status).toBe(200);
      expect((await api('GET', '/api/v1/servers/alpha/collaborators', asViewer)).status).toBe(200);
      expect((await api('POST', '/api/v1/servers/alpha/collaborators', { ...asViewer, body: { subject: 'user:viewer@example.com', role: 'manager' } })).status).toBe(403);
      expect((await api('PATCH', '/api/v1/servers/alpha', { ...asViewer, body: { url: 'http://127.0.0.1:1/evil' } })).status).toBe(403);
      expect((await api('GET', '/api/v1/servers/gamma', { token: tokens.stranger })).status).toBe(403);
    });

    it('shows a non-admin only the servers it holds a role on, directly or through a group', async () => {
      const slugs = async (token: string) => (await api('GET', '/api/v1/servers', { token })).body.items.map((s: { slug: string }) => s.slug);
      // manager: both servers of group dev; viewer: alpha directly, beta through team:everyone; stranger: beta only.
      expect(await slugs(tokens.manager)).toEqual(['alpha', 'beta']);
      expect(await slugs(tokens.viewer)).toEqual(['alpha', 'beta']);
      expect(await slugs(tokens.stranger)).toEqual(['beta']);
      expect((await api('GET', '/api/v1/servers?name=alp', { token: tokens.stranger })).body).toMatchObject({ items: [], total: 0 });
      expect((await api('GET', '/api/v1/servers')).body.total).toBeGreaterThanOrEqual(4);
    });

    it('shows a non-admin only the groups it holds a role on', async () => {
      expect((await api('GET', '/api/v1/groups', { token: tokens.manager })).body.items.map((g: { name: string }) => g.name)).toEqual(['dev']);
      expect((await api('GET', '/api/v1/groups', { token: tokens.stranger })).body).toMatchObject({ items: [], total: 0 });
    });

    it("changes a collaborator's role in place, and refuses a bad subject in the path", async () => {
      const path = `/api/v1/servers/gamma/collaborators/${encodeURIComponent('user:Changer@example.com')}`;
      expect((await api('PUT', path, { body: { role: 'viewer' } })).body).toMatchObject({ subject: 'user:changer@example.com', role: 'viewer' });
      expect((await api('PUT', path, { body: { role: 'manager' } })).body).toMatchObject({ role: 'manager' });
      expect((await api('GET', '/api/v1/servers/gamma/collaborators')).body.items.filter((c: { subject: string }) => c.subject === 'user:changer@example.com')).toHaveLength(1);
      const bad = await api('PUT', '/api/v1/servers/gamma/collaborators/nobody', { body: { role: 'viewer' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues[0].path).toBe('subject');
      expect((await api('DELETE', path)).status).toBe(204);
    });

    it('removes a collaborator named by its URL-encoded subject', async () => {
      expect((await api('POST', '/api/v1/servers/gamma/collaborators', { body: { subject: 'external:okta/00u1', role: 'user' } })).status).toBe(201);
      expect((await api('DELETE', `/api/v1/servers/gamma/collaborators/${encodeURIComponent('external:okta/00u1')}`)).status).toBe(204);
      expect((await api('DELETE', `/api/v1/servers/gamma/collaborators/${encodeURIComponent('external:okta/00u1')}`)).status).toBe(404);
    });
  });

  describe('tool settings and policies', () => {
    it('refuses bad globs by field, and unknown fields', async () => {
      const answer = await api('POST', '/api/v1/servers/alpha/policies', { body: { subject: 'team:dev', allow: ['ok_*'], deny: ['bad glob', 'x'], extra: true } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['deny.0', 'extra']);
    });

    it('stops a lost update of a policy with If-Match', async () => {
      const created = await api('POST', '/api/v1/servers/alpha/policies', { body: { subject: 'team:dev', deny: ['delete_*'] } });
      expect(created.status).toBe(201);
      expect((await api('POST', '/api/v1/servers/alpha/policies', { body: { subject: 'team:dev' } })).status).toBe(409);
      const path = `/api/v1/servers/alpha/policies/${created.body.id}`;
      expect((await api('PATCH', path, { body: { allow: ['list_*'] }, headers: { 'if-match': created.headers.etag as string } })).status).toBe(200);
      expect((await api('PATCH', path, { body: { allow: null }, headers: { 'if-match': created.headers.etag as string } })).status).toBe(412);
      expect((await api('GET', path)).body).toMatchObject({ allow: ['list_*'], deny: ['delete_*'] });
    });
  });

  describe('registry.authorize', () => {
    it('lets an admin do everything, without tool policies but never with disabled tools', async () => {
      const decision = await authorize({ ...user('root@example.com'), isAdmin: true }, 'beta', 'manage');
      expect(decision).toMatchObject({ allowed: true, role: 'admin', hiddenTools: ['delete_repo'] });
      expect(isToolVisible(decision, 'delete_repo')).toBe(false);
    });

    it('gives a team member the role of its team on every server of the group', async () => {
      expect(await authorize(user('dev1@example.com', ['dev']), 'alpha')).toMatchObject({ allowed: true, role: 'user' });
      expect(await authorize(user('ops1@example.com', ['ops']), 'alpha', 'list')).toMatchObject({ allowed: false, role: null });
    });

    it('applies deny over allow for the team', async () => {
      const decision = await authorize(user('dev1@example.com', ['dev']), 'alpha');
      expect(['list_issues', 'delete_repo', 'create_issue'].filter((tool) => isToolVisible(decision, tool))).toEqual(['list_issues']);
    });

    it('takes effect at once after a change through the API', async () => {
      expect((await authorize(user('new@example.com'), 'gamma', 'list')).allowed).toBe(false);
      expect((await api('POST', '/api/v1/servers/gamma/collaborators', { body: { subject: 'user:new@example.com', role: 'viewer' } })).status).toBe(201);
      expect(await authorize(user('new@example.com'), 'gamma', 'list')).toMatchObject({ allowed: true, role: 'viewer' });
    });

    it('answers NOT_FOUND for an unknown target', async () => {
      await expect(authorize(user('a@example.com'), 'no-such-server')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(authorize(user('a@example.com'), 'no-such-server')).rejects.toBeInstanceOf(BusError);
    });

    it('refuses a malformed request with a typed error instead of crashing', async () => {
      await expect(bus.request(RequestSubjects.registryAuthorize, { principal: { id: 'x' }, slug: 'alpha', action: 'fly' } as never)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect(ServiceQueues.registry).toBe('registry');
    });
  });

  describe('virtual servers', () => {
    const tools = [
      { server: 'alpha', tool: 'echo', alias: 'alpha_echo' },
      { server: 'gamma', tool: 'echo' },
    ];

    it('composes tools of several servers, renamed, and resolves them for the edge', async () => {
      const created = await api('POST', '/api/v1/virtual-servers', { body: { slug: 'combo', name: 'Combo', tools } });
      expect(created.status).toBe(201);
      expect(created.headers.etag).toBe('"v1"');
      expect(created.body.tools).toEqual([
        { server: 'alpha', tool: 'echo', alias: 'alpha_echo' },
        { server: 'gamma', tool: 'echo', alias: 'echo' },
      ]);
      const { virtualServer } = await bus.request(RequestSubjects.registryResolveVirtual, { slug: 'combo' });
      expect(virtualServer.tools.map((t) => [t.name, t.tool, t.server.slug])).toEqual([
        ['alpha_echo', 'echo', 'alpha'],
        ['echo', 'echo', 'gamma'],
      ]);
      await expect(bus.request(RequestSubjects.registryResolveVirtual, { slug: 'alpha' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('refuses a name clash at save time (409), saving nothing', async () => {
      const clash = await api('POST', '/api/v1/virtual-servers', { body: { slug: 'clash', name: 'x', tools: [{ server: 'alpha', tool: 'echo' }, { server: 'gamma', tool: 'echo' }] } });
      expect(clash.status).toBe(409);
      expect(clash.body.error.message).toContain('tools.0 and tools.1');
      expect((await api('GET', '/api/v1/virtual-servers/clash')).status).toBe(404);
    });

    it('names a missing server and a disabled tool by field (400)', async () => {
      const answer = await api('POST', '/api/v1/virtual-servers', { body: { slug: 'bad', name: 'x', tools: [{ server: 'alpha', tool: 'echo' }, { server: 'nope', tool: 'echo' }] } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues).toEqual([{ path: 'tools.1.server', message: 'no server with slug "nope"' }]);
      const disabled = await api('POST', '/api/v1/virtual-servers', { body: { slug: 'bad', name: 'x', tools: [{ server: 'beta', tool: 'delete_repo' }] } });
      expect(disabled.body.error.issues).toEqual([{ path: 'tools.0.tool', message: 'is disabled on server "beta"' }]);
    });

    it('refuses a tool the upstream does not have (400 naming tools.1.tool), saving nothing', async () => {
      const answer = await api('POST', '/api/v1/virtual-servers', { body: { slug: 'ghost', name: 'x', tools: [{ server: 'alpha', tool: 'echo' }, { server: 'gamma', tool: 'no_such_tool', alias: 'g' }] } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toContain('tools[1].tool');
      expect(answer.body.error.issues).toEqual([{ path: 'tools.1.tool', message: 'no tool "no_such_tool" on server "gamma"' }]);
      expect((await api('GET', '/api/v1/virtual-servers/ghost')).status).toBe(404);
    });

    it('answers 503 naming the server when its upstream is unreachable, saving nothing', async () => {
      expect((await api('POST', '/api/v1/servers', { body: { ...server('down'), url: 'http://127.0.0.1:9/mcp' } })).status).toBe(201);
      const answer = await api('POST', '/api/v1/virtual-servers', { body: { slug: 'dark', name: 'x', tools: [{ server: 'down', tool: 'echo' }] } });
      expect(answer.status).toBe(503);
      expect(answer.body.error.message).toContain('upstream server "down" could not be reached');
      expect((await api('GET', '/api/v1/virtual-servers/dark')).status).toBe(404);
    });

    it('stops SSRF at tool listing: a saved loopback upstream is not contacted when private addresses are refused', async () => {
      const before = upstream.requests.length;
      const answer = await call(guarded, 'POST', '/api/v1/virtual-servers', { body: { slug: 'sneaky', name: 'x', tools: [{ server: 'alpha', tool: 'echo' }] } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues[0].path).toBe('tools.0.server');
      expect(upstream.requests.length).toBe(before);
    });

    it('shares one slug namespace with servers', async () => {
      expect((await api('POST', '/api/v1/virtual-servers', { body: { slug: 'alpha', name: 'x', tools } })).status).toBe(409);
      expect((await api('POST', '/api/v1/servers', { body: server('combo') })).status).toBe(409);
    });

    it('refuses to delete a server a virtual server still exposes', async () => {
      const answer = await api('DELETE', '/api/v1/servers/gamma');
      expect(answer.status).toBe(409);
      expect(answer.body.error.message).toContain('combo');
    });

    it('authorizes by its own collaborators, deny by default', async () => {
      expect(await authorize(user('dev1@example.com', ['dev']), 'combo', 'list')).toMatchObject({ allowed: false, role: null });
      expect((await api('POST', '/api/v1/virtual-servers/combo/collaborators', { body: { subject: 'team:dev', role: 'user' } })).status).toBe(201);
      expect(await authorize(user('dev1@example.com', ['dev']), 'combo')).toMatchObject({ allowed: true, role: 'user' });
      expect((await api('GET', '/api/v1/virtual-servers/combo', { token: tokens.stranger })).status).toBe(403);
    });

    it('applies tool policies by the names the virtual server exposes', async () => {
      const created = await api('POST', '/api/v1/virtual-servers/combo/policies', { body: { subject: 'team:dev', deny: ['alpha_*'] } });
      expect(created.status).toBe(201);
      const decision = await authorize(user('dev1@example.com', ['dev']), 'combo');
      expect(['alpha_echo', 'echo'].filter((tool) => isToolVisible(decision, tool))).toEqual(['echo']);
      expect((await api('GET', '/api/v1/virtual-servers/combo/policies')).body.items).toHaveLength(1);
      expect((await api('GET', `/api/v1/servers/alpha/policies/${created.body.id}`)).status).toBe(404);
      expect((await api('DELETE', `/api/v1/virtual-servers/combo/policies/${created.body.id}`)).status).toBe(204);
    });

    it('stops a lost update with If-Match, and replaces the tool list', async () => {
      const read = await api('GET', '/api/v1/virtual-servers/combo');
      const changed = await api('PATCH', '/api/v1/virtual-servers/combo', { body: { tools: [tools[0]] }, headers: { 'if-match': read.headers.etag as string } });
      expect(changed.status).toBe(200);
      expect(changed.body.tools).toHaveLength(1);
      expect((await api('PATCH', '/api/v1/virtual-servers/combo', { body: { name: 'late' }, headers: { 'if-match': read.headers.etag as string } })).status).toBe(412);
    });
  });

  describe('SSRF guard (OUTBOUND_ALLOW_PRIVATE unset)', () => {
    it.each([
      ['loopback', 'http://127.0.0.1:3001/mcp'],
      ['cloud metadata (link-local)', 'http://169.254.169.254/latest/meta-data'],
      ['a private network', 'http://10.0.0.1/mcp'],
      ['IPv6 loopback', 'http://[::1]:3001/mcp'],
      ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/mcp'],
      ['a decimal-encoded loopback', 'http://2130706433/mcp'],
      ['a host name that resolves to loopback', 'http://localhost:3001/mcp'],
    ])('stops a server URL pointing at %s (400 naming url, nothing saved)', async (_what, url) => {
      const answer = await call(guarded, 'POST', '/api/v1/servers', { body: { slug: 'ssrf', name: 'x', url, authType: 'none' } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues).toEqual([{ path: 'url', message: expect.stringContaining('private') }]);
      expect((await call(guarded, 'GET', '/api/v1/servers/ssrf')).status).toBe(404);
    });

    it('stops moving an existing server onto a private address', async () => {
      const answer = await call(guarded, 'PATCH', '/api/v1/servers/alpha', { body: { url: 'http://192.168.1.10/mcp' } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues[0].path).toBe('url');
    });

    it.each(['tokenUrl', 'revocationUrl', 'issuer'])('stops an OAuth %s pointing at a private address (the vault would call it from inside)', async (field) => {
      const oauth = { grantType: 'client_credentials', clientId: 'gw', clientSecret: 'x', tokenUrl: 'https://8.8.8.8/token', [field]: 'http://169.254.169.254/latest/meta-data' };
      const answer = await call(guarded, 'POST', '/api/v1/servers', { body: { slug: 'ssrf-oauth', name: 'x', url: 'https://8.8.8.8/mcp', authType: 'oauth2', oauth } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues[0].message).toContain('private');
      expect((await call(guarded, 'GET', '/api/v1/servers/ssrf-oauth')).status).toBe(404);
    });

    it('accepts a public address', async () => {
      expect((await call(guarded, 'POST', '/api/v1/servers', { body: { slug: 'public', name: 'x', url: 'https://8.8.8.8/mcp', authType: 'none' } })).status).toBe(201);
    });
  });

  describe('OpenAPI', () => {
    function nestRoutes(): string[] {
      return controllerRoutes(registry)
        .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`)
        .sort();
    }

    it('documents every registered route, and only those', async () => {
      const document = await api('GET', '/api/openapi.json', { token: null });
      expect(document.status).toBe(200);
      const documented = Object.entries(document.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
      expect(documented.sort()).toEqual(nestRoutes());
    });

    it('documents each route with the permission its guard checks', async () => {
      const document = (await api('GET', '/api/openapi.json', { token: null })).body;
      for (const route of API_ROUTES.filter((r) => r.permission !== 'public')) expect(document.paths[route.path][route.method]['x-portcullis-permission']).toBe(route.permission);
      expect(document.paths['/api/v1/groups'].post.requestBody.content['application/json'].schema.properties.name).toBeDefined();
    });

    it('serves a self-contained docs page whose script is pinned by the CSP (no CDN)', async () => {
      const page = await registry.inject({ method: 'GET', url: '/api/docs' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(page.body).not.toMatch(/<script[^>]+src=|https?:\/\/(?!www\.w3)/);
    });
  });
});
