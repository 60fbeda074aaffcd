import { RequestSubjects } from '@portcullis/contracts';
import { ProtectedMcpServer, startProtectedMcpServer } from '@portcullis/testing';
import { OAuthDiscoveryService } from '../../src/oauth/discovery/oauth-discovery.service';
import { busErrorOf, OAuthHarness, user } from './oauth-harness';

jest.setTimeout(60_000);

const alice = user('alice');

/**
 * A real OAuth-protected MCP server (SDK bearer auth, RFC 9728 metadata) in
 * front of the real oidc-provider; the admin gives only the grant and scopes.
 */
describe(OAuthDiscoveryService.name, () => {
  const harness = new OAuthHarness();
  let upstream: ProtectedMcpServer;

  beforeAll(async () => {
    upstream = await startProtectedMcpServer('discovered-echo');
    await harness.start({ accessTokenTtlSeconds: 300, resource: upstream.url, replicas: 2 });
    upstream.trust({ issuer: harness.provider.issuer, jwksUri: harness.provider.jwksUri });
  });
  afterAll(async () => {
    await harness.stop();
    await upstream?.close();
  });

  it("discovers the AS from the upstream's 401 and metadata, registers a client (RFC 7591), and the user's token works upstream", async () => {
    // Not even scopes: they come from the upstream's metadata (scopes_supported).
    const server = await harness.addBareServer('authorization_code', []);
    await harness.consent(alice, server);
    const { settings } = await harness.bus.request(RequestSubjects.vaultAdminServerOAuthGet, { serverId: server.id });
    expect(settings).toMatchObject({
      grantType: 'authorization_code',
      scopes: ['mcp'],
      issuer: harness.provider.issuer,
      authorizationUrl: `${harness.provider.issuer}/auth`,
      tokenUrl: `${harness.provider.issuer}/token`,
      revocationUrl: `${harness.provider.issuer}/token/revocation`,
      clientId: expect.any(String),
      hasClientSecret: true,
    });
    expect(settings!.clientId).not.toBe(harness.provider.upstreamClient!.clientId);

    const ready = await harness.resolve(alice, server);
    if (ready.status !== 'ready') throw new Error(`expected ready, got ${ready.status}`);
    const call = await fetch(upstream.url, {
      method: 'POST',
      headers: { ...ready.headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'spec', version: '1' } } }),
    });
    expect(call.status).toBe(200);
    expect(upstream.accepted.at(-1)).toMatchObject({ sub: 'alice', clientId: settings!.clientId, scopes: ['mcp'] });
  });

  it('registers once for concurrent first calls on two replicas and keeps the registration', async () => {
    const server = await harness.addBareServer('client_credentials');
    const before = (await harness.provider.tokenStats()).registrations;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => harness.resolve(user(`u${i}`), server, { vault: i % 2 })));
    expect((await harness.provider.tokenStats()).registrations).toBe(before + 1);
    const { settings } = await harness.bus.request(RequestSubjects.vaultAdminServerOAuthGet, { serverId: server.id });
    for (const answer of answers) {
      if (answer.status !== 'ready') throw new Error(`expected ready, got ${answer.status}`);
      expect((await harness.verifyBearer(answer.headers))['client_id']).toBe(settings!.clientId);
    }
    await harness.resolve(alice, server);
    expect((await harness.provider.tokenStats()).registrations).toBe(before + 1);
    const { rows } = await harness.sql.query('SELECT sealed_client_secret FROM vault.oauth_settings WHERE server_id = $1', [server.id]);
    expect(rows[0].sealed_client_secret).toMatch(/^v1\.k1\./);
  });

  it('refuses discovered URLs on private addresses unless allowed (SSRF)', async () => {
    const guarded = await harness.addVault({ outboundAllowPrivate: false });
    const server = await harness.addBareServer('authorization_code');
    const error = await busErrorOf(harness.resolve(alice, server, { vault: guarded }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('private_address');
    const { settings } = await harness.bus.request(RequestSubjects.vaultAdminServerOAuthGet, { serverId: server.id });
    expect(settings!.clientId).toBeUndefined();
  });

  it('refuses protected resource metadata that names another resource (RFC 9728 §3.3)', async () => {
    const server = { ...(await harness.addBareServer('client_credentials')) };
    // The stored resource differs from what the upstream's metadata says about itself.
    await harness.sql.query(`UPDATE vault.oauth_settings SET resource = $1 WHERE server_id = $2`, [`${upstream.url}?tenant=other`, server.id]);
    const error = await busErrorOf(harness.resolve(alice, server));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('another resource');
  });
});
