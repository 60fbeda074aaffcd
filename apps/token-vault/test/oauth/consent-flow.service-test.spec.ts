import { randomBytes } from 'node:crypto';
import { RequestSubjects } from '@portcullis/contracts';
import { ConsentFlowService } from '../../src/oauth/consent/consent-flow.service';
import { busErrorOf, OAuthHarness, PUBLIC_URL, REDIRECT_URI, UPSTREAM_URL, user } from './oauth-harness';

jest.setTimeout(60_000);

const alice = user('alice');
const bob = user('bob');
const mallory = user('mallory');

describe(ConsentFlowService.name, () => {
  const harness = new OAuthHarness();

  beforeAll(() => harness.start({ accessTokenTtlSeconds: 300 }));
  afterAll(() => harness.stop());
  afterEach(() => (harness.clock.offsetMs = 0));

  describe('settings', () => {
    it('stores the client secret sealed and never returns it', async () => {
      const server = await harness.addServer('authorization_code');
      const { settings } = await harness.bus.request(RequestSubjects.vaultAdminServerOAuthGet, { serverId: server.id });
      expect(settings).toEqual({
        grantType: 'authorization_code',
        clientId: harness.provider.upstreamClient!.clientId,
        authorizationUrl: `${harness.provider.issuer}/auth`,
        tokenUrl: `${harness.provider.issuer}/token`,
        revocationUrl: `${harness.provider.issuer}/token/revocation`,
        issuer: harness.provider.issuer,
        scopes: ['mcp'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        hasClientSecret: true,
      });
      const { rows } = await harness.sql.query('SELECT * FROM vault.oauth_settings WHERE server_id = $1', [server.id]);
      expect(rows[0].sealed_client_secret).toMatch(/^v1\.k1\./);
      expect(JSON.stringify(rows[0])).not.toContain(harness.provider.upstreamClient!.clientSecret);
    });

    it('keeps the stored secret when a put leaves it out', async () => {
      const server = await harness.addServer('authorization_code');
      const { settings } = await harness.bus.request(RequestSubjects.vaultAdminServerOAuthPut, {
        server,
        settings: { grantType: 'authorization_code', clientId: harness.provider.upstreamClient!.clientId, authorizationUrl: `${harness.provider.issuer}/auth`, tokenUrl: `${harness.provider.issuer}/token`, scopes: ['mcp'], tokenEndpointAuthMethod: 'client_secret_basic' },
      });
      expect(settings.hasClientSecret).toBe(true);
      await harness.consent(alice, server);
      expect((await harness.resolve(alice, server)).status).toBe('ready');
    });
  });

  describe('consent', () => {
    it("serves each user their own token after consent; a second user gets their own consent_required, never the first user's token", async () => {
      const server = await harness.addServer('authorization_code');
      const first = await harness.resolve(alice, server);
      expect(first).toEqual({ status: 'consent_required', credentialKind: 'oauth2', flowId: expect.any(String), reason: 'no connection yet' });

      const params = await harness.authorize(first.status === 'consent_required' ? first.flowId : '', alice);
      expect(params.get('iss')).toBe(harness.provider.issuer);
      const before = harness.vaults[0].events.length;
      await expect(harness.callback(params, alice.id)).resolves.toEqual({ serverId: server.id, serverSlug: server.slug, principalId: alice.id });
      expect(await harness.eventsSince(before)).toContainEqual({ serverId: server.id, principalId: alice.id });

      const ready = await harness.resolve(alice, server);
      if (ready.status !== 'ready') throw new Error(`expected ready, got ${ready.status}`);
      expect(ready.credentialKind).toBe('oauth2');
      const claims = await harness.verifyBearer(ready.headers);
      expect(claims.sub).toBe('alice');
      expect(claims.aud).toBe(UPSTREAM_URL);
      expect(Date.parse(ready.expiresAt!)).toBeGreaterThan(Date.now());

      const forBob = await harness.resolve(bob, server);
      expect(forBob.status).toBe('consent_required');
      if (forBob.status !== 'consent_required' || first.status !== 'consent_required') throw new Error('unreachable');
      expect(forBob.flowId).not.toBe(first.flowId);

      await harness.callback(await harness.authorize(forBob.flowId, bob), bob.id);
      const bobReady = await harness.resolve(bob, server);
      if (bobReady.status !== 'ready') throw new Error(`expected ready, got ${bobReady.status}`);
      expect((await harness.verifyBearer(bobReady.headers)).sub).toBe('bob');
      expect(bobReady.credentialId).not.toBe(ready.credentialId);
      expect(bobReady.headers['Authorization']).not.toBe(ready.headers['Authorization']);

      const audit = await harness.auditOf(server);
      expect(audit.filter((event) => event.action === 'consent.completed')).toEqual([
        expect.objectContaining({ outcome: 'success', principal: { id: alice.id, kind: 'user' }, credentialKind: 'oauth2', credentialId: ready.credentialId }),
        expect.objectContaining({ outcome: 'success', principal: { id: bob.id, kind: 'user' }, credentialId: bobReady.credentialId }),
      ]);
      expect(JSON.stringify(audit)).not.toMatch(/eyJ|Bearer/);
    });

    it('reuses the pending flow of a principal and server instead of starting another', async () => {
      const server = await harness.addServer('authorization_code');
      const a = await harness.resolve(alice, server);
      const b = await harness.resolve(alice, server);
      const started = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      if (a.status !== 'consent_required' || b.status !== 'consent_required') throw new Error('expected consent_required');
      expect(b.flowId).toBe(a.flowId);
      expect(started.flowId).toBe(a.flowId);
      expect(Date.parse(started.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    });

    it('sends the browser to the provider with PKCE S256, the RFC 8707 resource and a 256-bit state, storing only its hash', async () => {
      const server = await harness.addServer('authorization_code');
      const { flowId } = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      const { authorizationUrl } = await harness.bus.request(RequestSubjects.vaultOAuthConnect, { flowId, browserPrincipalId: alice.id });
      const url = new URL(authorizationUrl);
      expect(url.origin + url.pathname).toBe(`${harness.provider.issuer}/auth`);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        response_type: 'code',
        client_id: harness.provider.upstreamClient!.clientId,
        redirect_uri: REDIRECT_URI,
        scope: 'mcp',
        state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        code_challenge_method: 'S256',
        resource: UPSTREAM_URL,
      });
      const { rows } = await harness.sql.query('SELECT * FROM vault.oauth_flows WHERE id = $1', [flowId]);
      expect(JSON.stringify(rows[0])).not.toContain(url.searchParams.get('state'));
      expect(rows[0].sealed_code_verifier).toMatch(/^v1\.k1\./);
      expect(REDIRECT_URI.startsWith(PUBLIC_URL)).toBe(true);
    });

    it('answers authentication_required with a flow, then authenticated, in the connection status', async () => {
      const server = await harness.addServer('authorization_code');
      const before = await harness.bus.request(RequestSubjects.vaultConnectionStatus, { principal: alice, server });
      expect(before).toEqual({ status: 'authentication_required', flowId: expect.any(String) });
      await harness.callback(await harness.authorize(before.flowId!, alice), alice.id);
      await expect(harness.bus.request(RequestSubjects.vaultConnectionStatus, { principal: alice, server })).resolves.toEqual({ status: 'authenticated', flowId: null });
      await expect(harness.bus.request(RequestSubjects.vaultConnectionStatus, { principal: alice, server: { ...server, authType: 'header' } })).resolves.toEqual({
        status: 'authentication_not_required',
        flowId: null,
      });
    });

    it('answers passthrough servers with nothing to inject: the edge forwards the caller token itself', async () => {
      const server = { ...(await harness.addServer('authorization_code')), authType: 'passthrough' as const };
      await expect(harness.resolve(alice, server)).resolves.toEqual({ status: 'ready', credentialKind: 'passthrough', credentialId: null, headers: {}, expiresAt: null });
    });
  });

  describe('attacks on the consent flow', () => {
    it('refuses a forged state', async () => {
      const error = await busErrorOf(harness.callback(new URLSearchParams({ state: randomBytes(32).toString('base64url'), code: 'forged-code' }), alice.id));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('unknown or already used state');
    });

    it('refuses a replayed state, even after the first use succeeded', async () => {
      const server = await harness.addServer('authorization_code');
      const { flowId } = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      const params = await harness.authorize(flowId, alice);
      await harness.callback(params, alice.id);
      const error = await busErrorOf(harness.callback(params, alice.id));
      expect(error.code).toBe('FORBIDDEN');
      // A used flow cannot be sent to the provider again either.
      expect((await busErrorOf(harness.bus.request(RequestSubjects.vaultOAuthConnect, { flowId, browserPrincipalId: alice.id }))).code).toBe('FORBIDDEN');
    });

    it('refuses an expired state (flows live 10 minutes)', async () => {
      const server = await harness.addServer('authorization_code');
      const { flowId } = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      const params = await harness.authorize(flowId, alice);
      harness.clock.offsetMs = 10 * 60_000 + 1_000;
      const error = await busErrorOf(harness.callback(params, alice.id));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('expired');
      expect((await busErrorOf(harness.bus.request(RequestSubjects.vaultOAuthConnect, { flowId, browserPrincipalId: alice.id }))).code).toBe('FORBIDDEN');
      expect(await harness.tokenRow(server, alice.id)).toBeUndefined();
    });

    it("refuses a callback that completes another browser user's flow", async () => {
      const server = await harness.addServer('authorization_code');
      const { flowId } = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      // Mallory cannot open Alice's consent link in her own signed-in browser...
      expect((await busErrorOf(harness.bus.request(RequestSubjects.vaultOAuthConnect, { flowId, browserPrincipalId: mallory.id }))).code).toBe('FORBIDDEN');
      // ...nor land Alice's provider answer in her browser session.
      const params = await harness.authorize(flowId, alice);
      const error = await busErrorOf(harness.callback(params, mallory.id));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('another user');
      expect(await harness.auditOf(server)).toContainEqual(
        expect.objectContaining({ action: 'consent.completed', outcome: 'denied', principal: { id: alice.id, kind: 'user' }, reason: 'consent flow refused: flow belongs to another user' }),
      );
      expect(await harness.tokenRow(server, alice.id)).toBeUndefined();
      expect(await harness.tokenRow(server, mallory.id)).toBeUndefined();
    });

    it('refuses an authorization response naming another issuer (RFC 9207 mix-up)', async () => {
      const server = await harness.addServer('authorization_code');
      const { flowId } = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      const params = await harness.authorize(flowId, alice);
      params.set('iss', 'https://evil-as.example');
      const error = await busErrorOf(harness.callback(params, alice.id));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('issuer');
    });

    it('reports a provider error (the user denied) without storing anything', async () => {
      const server = await harness.addServer('authorization_code');
      const { flowId } = await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: alice, server });
      const params = await harness.authorize(flowId, alice);
      const denied = new URLSearchParams({ state: params.get('state')!, error: 'access_denied' });
      const error = await busErrorOf(harness.callback(denied, alice.id));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('access_denied');
      expect(await harness.tokenRow(server, alice.id)).toBeUndefined();
    });

    it("never serves user A's token to user B, even when A's ciphertext is copied into B's row", async () => {
      const server = await harness.addServer('authorization_code');
      await harness.consent(alice, server);
      await harness.consent(bob, server);
      const aliceRow = (await harness.tokenRow(server, alice.id))!;
      await harness.sql.query('UPDATE vault.oauth_tokens SET sealed_access_token = $1 WHERE server_id = $2 AND principal_id = $3', [aliceRow.sealed_access_token, server.id, bob.id]);
      const error = await busErrorOf(harness.resolve(bob, server));
      expect(error.code).toBe('INTERNAL');
      expect(error.message).not.toContain('eyJ');
      const stillAlice = await harness.resolve(alice, server);
      if (stillAlice.status !== 'ready') throw new Error('expected ready');
      expect((await harness.verifyBearer(stillAlice.headers)).sub).toBe('alice');
    });
  });

  describe('connections', () => {
    it('lists connections by principal and by server without any token', async () => {
      const server = await harness.addServer('authorization_code');
      await harness.consent(alice, server);
      const byServer = await harness.bus.request(RequestSubjects.vaultConnectionList, { serverId: server.id });
      expect(byServer.connections).toEqual([
        { serverId: server.id, principalId: alice.id, status: 'active', scopes: ['mcp'], expiresAt: expect.any(String), updatedAt: expect.any(String) },
      ]);
      const byPrincipal = await harness.bus.request(RequestSubjects.vaultConnectionList, { principalId: alice.id });
      expect(byPrincipal.connections.map((c) => c.serverId)).toContain(server.id);
      expect(JSON.stringify(byPrincipal)).not.toMatch(/eyJ|sealed|token"/);
    });

    it('deletes a connection and revokes its refresh token at the provider (RFC 7009)', async () => {
      const server = await harness.addServer('authorization_code');
      await harness.consent(alice, server);
      const refreshToken = await harness.storedRefreshToken(server, alice.id);
      const revocationsBefore = (await harness.provider.tokenStats()).revocations;
      const before = harness.vaults[0].events.length;
      await expect(harness.bus.request(RequestSubjects.vaultConnectionDelete, { principalId: alice.id, serverId: server.id })).resolves.toEqual({ deleted: true, revokedAtProvider: true });
      expect((await harness.provider.tokenStats()).revocations).toBeGreaterThan(revocationsBefore);
      expect(await harness.eventsSince(before)).toContainEqual({ serverId: server.id, principalId: alice.id });
      expect(await harness.auditOf(server)).toContainEqual(expect.objectContaining({ action: 'credential.revoked', outcome: 'success', principal: { id: alice.id, kind: 'user' } }));
      const reuse = await harness.providerToken({ grant_type: 'refresh_token', refresh_token: refreshToken, resource: UPSTREAM_URL });
      expect(reuse.status).toBe(400);
      expect(reuse.body['error']).toBe('invalid_grant');
      expect((await harness.resolve(alice, server)).status).toBe('consent_required');
      await expect(harness.bus.request(RequestSubjects.vaultConnectionDelete, { principalId: alice.id, serverId: server.id })).resolves.toEqual({ deleted: false, revokedAtProvider: false });
    });
  });
});
