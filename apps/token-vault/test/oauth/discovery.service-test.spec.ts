import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestSubjects, type VaultServer } from '@portcullis/contracts';
import { ProtectedMcpServer, startProtectedMcpServer } from '@portcullis/testing';
import { OAuthDiscoveryService } from '../../src/oauth/discovery/oauth-discovery.service';
import { busErrorOf, OAuthHarness, PUBLIC_URL, user } from './oauth-harness';

/**
 * A real loopback upstream MCP server and authorization server in one: 401
 * with `resource_metadata` on MCP requests, RFC 9728 and RFC 8414 metadata,
 * the AS advertising Client ID Metadata Documents and registration (counted).
 * The test IdP (oidc-provider) has no CIMD; this one issues no tokens.
 */
async function startCimdAuthorizationServer(): Promise<{ resource: string; issuer: string; registrations: number; close(): Promise<void> }> {
  const state = { resource: '', issuer: '', registrations: 0 };
  const server = createServer((request, response) => {
    const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method === 'POST' && request.url === '/mcp') {
      response.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${state.issuer}/.well-known/oauth-protected-resource/mcp"` }).end();
    } else if (request.url === '/.well-known/oauth-protected-resource/mcp') {
      json(200, { resource: state.resource, authorization_servers: [state.issuer], scopes_supported: ['mcp'] });
    } else if (request.url === '/.well-known/oauth-authorization-server') {
      json(200, {
        issuer: state.issuer,
        authorization_endpoint: `${state.issuer}/authorize`,
        token_endpoint: `${state.issuer}/token`,
        registration_endpoint: `${state.issuer}/register`,
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
        client_id_metadata_document_supported: true,
      });
    } else if (request.method === 'POST' && request.url === '/register') {
      state.registrations += 1;
      json(201, { client_id: 'registered-instead', client_secret: 'registered-secret' });
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.resource = `${state.issuer}/mcp`;
  return Object.assign(state, { close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
}

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

  it('uses {PUBLIC_URL}/oauth/client-metadata.json as client_id (auth none, no secret, no registration) where the AS advertises Client ID Metadata Documents', async () => {
    const cimd = await startCimdAuthorizationServer();
    try {
      const server: VaultServer = { id: randomUUID(), slug: `cimd-${randomUUID().slice(0, 8)}`, authType: 'oauth2', url: cimd.resource };
      await harness.bus.request(RequestSubjects.vaultAdminServerOAuthPut, { server, settings: { grantType: 'authorization_code', scopes: [], tokenEndpointAuthMethod: 'client_secret_basic' } });
      const first = await harness.resolve(alice, server);
      if (first.status !== 'consent_required') throw new Error(`expected consent_required, got ${first.status}`);
      const { authorizationUrl } = await harness.bus.request(RequestSubjects.vaultOAuthConnect, { flowId: first.flowId, browserPrincipalId: alice.id });
      const request = new URL(authorizationUrl);
      expect(`${request.origin}${request.pathname}`).toBe(`${cimd.issuer}/authorize`);
      expect(Object.fromEntries(request.searchParams)).toMatchObject({
        client_id: `${PUBLIC_URL}/oauth/client-metadata.json`,
        redirect_uri: `${PUBLIC_URL}/oauth/callback`,
        code_challenge_method: 'S256',
        resource: cimd.resource,
        scope: 'mcp',
      });
      const { settings } = await harness.bus.request(RequestSubjects.vaultAdminServerOAuthGet, { serverId: server.id });
      expect(settings).toMatchObject({ clientId: `${PUBLIC_URL}/oauth/client-metadata.json`, tokenEndpointAuthMethod: 'none', hasClientSecret: false, issuer: cimd.issuer });
      expect(cimd.registrations).toBe(0);
    } finally {
      await cimd.close();
    }
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
