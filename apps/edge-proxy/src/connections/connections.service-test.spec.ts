import { randomUUID } from 'node:crypto';
import type { ServerTarget } from '@portcullis/contracts';
import { allowAll, principal, PUBLIC_URL, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { ConnectionsService } from './connections.service';

const ALICE_KEY = 'pcl_connections_alice_key_aaaaaaaa';
const BOB_KEY = 'pcl_connections_bob_key_bbbbbbbbbbb';
const ALICE_SESSION = 'pcs_alice_browser_session';
const BOB_SESSION = 'pcs_bob_browser_session';
const SESSION_COOKIE = '__Host-portcullis_session';
const PROVIDER = 'https://as.example.test/authorize';
const IDP_LOGIN = 'https://idp.example.test/login';

describe(ConnectionsService.name, () => {
  let edge: RunningEdge;
  let gated: ServerTarget;
  let perUser: ServerTarget;
  const alice = principal({ email: 'alice@example.com' });
  const bob = principal({ email: 'bob@example.com' });

  beforeAll(async () => {
    edge = await startEdge();
    const upstream = 'http://127.0.0.1:1/mcp';
    gated = edge.directory.addServer(target('gated', upstream, { authType: 'oauth2', oauthGrantType: 'authorization_code' }));
    perUser = edge.directory.addServer(target('per-user', upstream));
    edge.directory.addServer(target('secret', upstream, { authType: 'oauth2', oauthGrantType: 'authorization_code' }));
    edge.directory.decisions.set('secret', () => allowAll({ allowed: false, role: null, reason: 'no role on "secret"' }));
    edge.directory.addToken(ALICE_KEY, alice);
    edge.directory.addToken(BOB_KEY, bob);
    edge.directory.addToken(ALICE_SESSION, alice);
    edge.directory.addToken(BOB_SESSION, bob);
    edge.directory.flows.set('flow-alice', { principalId: alice.id, authorizationUrl: `${PROVIDER}?state=s1` });
  });

  afterAll(async () => {
    await edge?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${edge.baseUrl}${path}`, { headers, redirect: 'manual' });
  const asAlice = { authorization: `Bearer ${ALICE_KEY}` };
  const cookie = (session: string) => ({ cookie: `${SESSION_COOKIE}=${session}` });

  describe('GET /connect/{flowId}', () => {
    afterEach(() => {
      edge.directory.oidcLoginUrl = null;
    });

    it('redirects to the provider when browser login is not configured (the flow id alone is the proof)', async () => {
      const response = await get('/connect/flow-alice');
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(`${PROVIDER}?state=s1`);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(edge.directory.connectRequests.at(-1)).toEqual({ flowId: 'flow-alice', browserPrincipalId: null });
    });

    it('sends a browser that is not signed in to sign in first, where browser login is configured', async () => {
      edge.directory.oidcLoginUrl = IDP_LOGIN;
      const asked = edge.directory.connectRequests.length;
      const response = await get('/connect/flow-alice');
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(IDP_LOGIN);
      expect(edge.directory.connectRequests.length).toBe(asked);
    });

    it('redirects the signed-in user who started the flow to the provider', async () => {
      edge.directory.oidcLoginUrl = IDP_LOGIN;
      const response = await get('/connect/flow-alice', cookie(ALICE_SESSION));
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(`${PROVIDER}?state=s1`);
      expect(edge.directory.connectRequests.at(-1)).toEqual({ flowId: 'flow-alice', browserPrincipalId: alice.id });
    });

    it("refuses another browser user's flow (consent link forwarded to a victim) with a plain 403 page", async () => {
      edge.directory.oidcLoginUrl = IDP_LOGIN;
      const response = await get('/connect/flow-alice', cookie(BOB_SESSION));
      expect(response.status).toBe(403);
      expect(response.headers.get('content-type')).toContain('text/html');
      const body = await response.text();
      expect(body).toContain('another user');
      expect(body).not.toContain(PROVIDER);
      expect(body).not.toMatch(/BusError|at .*\.ts/);
    });

    it('answers an unknown or expired flow with a plain 404 page', async () => {
      const response = await get('/connect/no-such-flow');
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('unknown, already used or expired');
    });
  });

  describe('GET /oauth/callback', () => {
    it('shows a plain success page naming the server, and passes code, state and iss to the vault', async () => {
      edge.directory.callbackStates.set('state-ok', { serverId: gated.id, serverSlug: 'gated', principalId: alice.id });
      const response = await get('/oauth/callback?code=c0de&state=state-ok&iss=https%3A%2F%2Fas.example.test');
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Connected gated. You can close this window and retry.');
      expect(edge.directory.callbackRequests.at(-1)).toEqual({ state: 'state-ok', code: 'c0de', iss: 'https://as.example.test', browserPrincipalId: null });
    });

    it('refuses a replayed state with a clear 400 page', async () => {
      const response = await get('/oauth/callback?code=c0de&state=state-ok');
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('invalid, was already used, or has expired');
    });

    it('refuses a forged state, and a callback without state never reaches the vault', async () => {
      expect((await get('/oauth/callback?code=c0de&state=forged')).status).toBe(400);
      const asked = edge.directory.callbackRequests.length;
      expect((await get('/oauth/callback?code=c0de')).status).toBe(400);
      expect(edge.directory.callbackRequests.length).toBe(asked);
    });

    it("shows the provider's error code but never reflects its description (reflected XSS)", async () => {
      const response = await get(`/oauth/callback?state=s&error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}`);
      expect(response.status).toBe(400);
      const body = await response.text();
      expect(body).toContain('access_denied');
      expect(body).not.toContain('<script>');
      expect(edge.directory.callbackRequests.at(-1)).toMatchObject({ error: 'access_denied', errorDescription: '<script>alert(1)</script>' });
    });
  });

  describe('GET /oauth/client-metadata.json', () => {
    it('serves the Client ID Metadata Document without credentials: its client_id is its own URL, a public client redirected only to the callback, cacheable', async () => {
      const response = await get('/oauth/client-metadata.json');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
      expect(await response.json()).toEqual({
        client_id: `${PUBLIC_URL}/oauth/client-metadata.json`,
        client_name: 'Portcullis MCP gateway',
        client_uri: PUBLIC_URL,
        redirect_uris: [`${PUBLIC_URL}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
    });
  });

  describe('/me/connections', () => {
    beforeAll(() => {
      const view = (principalId: string, serverId: string) => ({ serverId, principalId, status: 'active' as const, scopes: ['read'], expiresAt: null, updatedAt: new Date().toISOString() });
      edge.directory.connections.push(view(alice.id, gated.id), view(bob.id, gated.id), view(bob.id, randomUUID()));
    });

    it("lists the caller's own connections only, by bearer token or by browser session", async () => {
      for (const headers of [asAlice, cookie(ALICE_SESSION)]) {
        const response = await get('/me/connections', headers);
        expect(response.status).toBe(200);
        const { items } = (await response.json()) as { items: { principalId: string }[] };
        expect(items.map((c) => c.principalId)).toEqual([alice.id]);
      }
    });

    it('answers 401 without a token or session', async () => {
      const response = await get('/me/connections');
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    });

    it('tells the status and the gateway URL to consent at', async () => {
      edge.directory.connectionStatuses.set(gated.id, { status: 'authentication_required', flowId: 'flow-new' });
      const response = await get('/me/connections/gated/authorize', asAlice);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'authentication_required', url: `${PUBLIC_URL}/connect/flow-new` });
      edge.directory.connectionStatuses.set(gated.id, { status: 'authenticated', flowId: null });
      expect(await (await get('/me/connections/gated/authorize', asAlice)).json()).toEqual({ status: 'authenticated', url: null });
    });

    it('answers 404 alike for an unknown server and one the caller may not use (no slug probing)', async () => {
      for (const slug of ['secret', 'nowhere']) {
        const response = await get(`/me/connections/${slug}/authorize`, asAlice);
        expect(response.status).toBe(404);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unknown_server');
      }
    });

    it("deletes the caller's own connection and leaves another user's alone", async () => {
      const response = await fetch(`${edge.baseUrl}/me/connections/gated`, { method: 'DELETE', headers: asAlice });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ deleted: true, revokedAtProvider: true });
      expect(edge.directory.connections.filter((c) => c.serverId === gated.id).map((c) => c.principalId)).toEqual([bob.id]);
      expect((await fetch(`${edge.baseUrl}/me/connections/secret`, { method: 'DELETE', headers: asAlice })).status).toBe(404);
    });
  });

  describe('/me/credentials/{slug}', () => {
    const put = (slug: string, body: string, headers: Record<string, string> = asAlice) =>
      fetch(`${edge.baseUrl}/me/credentials/${slug}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body });

    it('stores the caller\'s own values and never echoes them', async () => {
      const response = await put('per-user', JSON.stringify({ values: { API_KEY: 'my-very-own-secret' } }));
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ variables: ['API_KEY'] });
      expect(text).not.toContain('my-very-own-secret');
      expect(edge.directory.userValues.get(`${alice.id} ${perUser.id}`)).toEqual({ API_KEY: 'my-very-own-secret' });
    });

    it('names each bad field, never quoting a value', async () => {
      const badName = await put('per-user', JSON.stringify({ values: { 'bad-name': 'secret-value-1' } }));
      expect(badName.status).toBe(400);
      const body = (await badName.json()) as { error: { code: string; message: string; issues: { path: string; message: string }[] } };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.issues).toEqual([{ path: 'values.bad-name', message: 'must be a template variable name' }]);
      expect(JSON.stringify(body)).not.toContain('secret-value-1');
      expect(((await (await put('per-user', '{"values":')).json()) as { error: { issues: unknown } }).error.issues).toEqual([{ path: '(body)', message: 'must be JSON' }]);
      const empty = (await (await put('per-user', JSON.stringify({ values: {} }))).json()) as { error: { issues: { path: string }[] } };
      expect(empty.error.issues.map((i) => i.path)).toEqual(['values']);
    });

    it("passes on the vault's refusal with its fields (a server without per-user values)", async () => {
      const response = await put('gated', JSON.stringify({ values: { API_KEY: 'x' } }));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { code: 'invalid_request', message: expect.stringContaining('takes no per-user values'), issues: [{ path: 'server', message: 'takes no per-user values' }] } });
    });

    it('answers 404 for a server the caller may not call', async () => {
      expect((await put('secret', JSON.stringify({ values: { API_KEY: 'x' } }))).status).toBe(404);
    });

    it('refuses a change made with the browser session from another site (CSRF), and takes one from our own pages', async () => {
      const crossSite = await put('per-user', JSON.stringify({ values: { API_KEY: 'csrf' } }), { ...cookie(ALICE_SESSION), origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe('cross_origin_request');
      const sameSite = await put('per-user', JSON.stringify({ values: { API_KEY: 'from-page' } }), { ...cookie(ALICE_SESSION), origin: PUBLIC_URL });
      expect(sameSite.status).toBe(200);
    });

    it("deletes the caller's own values", async () => {
      const response = await fetch(`${edge.baseUrl}/me/credentials/per-user`, { method: 'DELETE', headers: asAlice });
      expect(await response.json()).toEqual({ deleted: 1 });
      expect(edge.directory.userValues.has(`${alice.id} ${perUser.id}`)).toBe(false);
    });
  });
});
