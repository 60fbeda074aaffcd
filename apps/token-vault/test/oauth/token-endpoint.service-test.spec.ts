import { RequestSubjects } from '@portcullis/contracts';
import { TokenEndpointClient } from '../../src/oauth/http/token-endpoint.client';
import { busErrorOf, OAuthHarness, user } from './oauth-harness';

jest.setTimeout(60_000);

const alice = user('alice');

/** The provider's upstream client authenticates with client_secret_post here (the other specs use client_secret_basic). */
describe(TokenEndpointClient.name, () => {
  const harness = new OAuthHarness();

  beforeAll(() => harness.start({ accessTokenTtlSeconds: 300, tokenEndpointAuthMethod: 'client_secret_post' }));
  afterAll(() => harness.stop());

  it('authenticates with client_secret_post for the code exchange and client_credentials', async () => {
    const consented = await harness.addServer('authorization_code', { tokenEndpointAuthMethod: 'client_secret_post' });
    await harness.consent(alice, consented);
    const ready = await harness.resolve(alice, consented);
    if (ready.status !== 'ready') throw new Error(`expected ready, got ${ready.status}`);
    expect((await harness.verifyBearer(ready.headers)).sub).toBe('alice');

    const machine = await harness.addServer('client_credentials', { tokenEndpointAuthMethod: 'client_secret_post' });
    const token = await harness.resolve(alice, machine);
    if (token.status !== 'ready') throw new Error(`expected ready, got ${token.status}`);
    expect((await harness.verifyBearer(token.headers))['client_id']).toBe(harness.provider.upstreamClient!.clientId);
  });

  it('reports a client the provider does not accept (wrong secret) as refused, storing nothing', async () => {
    const server = await harness.addServer('client_credentials', { tokenEndpointAuthMethod: 'client_secret_post', clientSecret: 'not-the-secret' });
    const error = await busErrorOf(harness.resolve(alice, server));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('invalid_client');
    expect(error.message).not.toContain('not-the-secret');
    expect(await harness.tokenRow(server, null)).toBeUndefined();
  });

  it('refuses to call an authorization server on a private address unless allowed (SSRF)', async () => {
    const guarded = await harness.addVault({ outboundAllowPrivate: false });
    const server = await harness.addServer('client_credentials', { tokenEndpointAuthMethod: 'client_secret_post' });
    const error = await busErrorOf(harness.resolve(alice, server, { vault: guarded }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('private_address');
    // The same server through a vault allowed to reach loopback works.
    expect((await harness.resolve(alice, server)).status).toBe('ready');
  });

  it("drops a server's connections when its client or provider changes", async () => {
    const server = await harness.addServer('authorization_code', { tokenEndpointAuthMethod: 'client_secret_post' });
    await harness.consent(alice, server);
    const client = harness.provider.upstreamClient!;
    await harness.bus.request(RequestSubjects.vaultAdminServerOAuthPut, {
      server,
      settings: {
        grantType: 'authorization_code',
        clientId: `${client.clientId}-other`,
        authorizationUrl: `${harness.provider.issuer}/auth`,
        tokenUrl: `${harness.provider.issuer}/token`,
        scopes: ['mcp'],
        tokenEndpointAuthMethod: 'client_secret_post',
      },
    });
    expect(await harness.tokenRow(server, alice.id)).toBeUndefined();
    expect((await harness.resolve(alice, server)).status).toBe('consent_required');
  });

  it('forgets a deleted server: settings, flows and connections', async () => {
    const server = await harness.addServer('authorization_code', { tokenEndpointAuthMethod: 'client_secret_post' });
    await harness.consent(alice, server);
    await harness.bus.request(RequestSubjects.vaultOAuthStart, { principal: user('bob'), server });
    // What the registry asks when the server is deleted (or leaves oauth2): the OAuth part goes with the rest.
    await expect(harness.bus.request(RequestSubjects.vaultAdminServerCredentialsDelete, { serverId: server.id })).resolves.toEqual({ deleted: 1 });
    expect(await harness.tokenRow(server, alice.id)).toBeUndefined();
    expect((await harness.sql.query('SELECT count(*)::int AS n FROM vault.oauth_flows WHERE server_id = $1', [server.id])).rows[0].n).toBe(0);
    await expect(harness.bus.request(RequestSubjects.vaultAdminServerOAuthGet, { serverId: server.id })).resolves.toEqual({ settings: null });
    expect((await busErrorOf(harness.resolve(alice, server))).code).toBe('NOT_FOUND');
  });
});
