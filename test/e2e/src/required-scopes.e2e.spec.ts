import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams, OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EchoMcpServer, startEchoMcpServer, startOidcProvider, TestOidcProvider } from '@portcullis/testing';
import { importJWK, SignJWT } from 'jose';
import { initializeRequest, MCP_HEADERS, ModuleGateway, RecordingOAuthClient, startModuleGateway } from './e2e-helpers';

const AUDIENCE = 'https://gateway.scopes-e2e.example/mcp';
const INITIALIZE = initializeRequest('scopes-e2e');
/** A public client the SDK presents; the IdP never sees it complete a flow here. */
const SCOPES_E2E_CLIENT = { clientId: 'scopes-e2e-client', clientName: 'scopes-e2e', redirectUri: 'http://127.0.0.1:1/callback' };

/**
 * Required scopes end to end (MCP 2025-11-25 authorization, RFC 6750 §3.1,
 * RFC 9728): identity, token-vault, audit, registry and edge as real modules
 * on one bus, real PostgreSQL, a real oidc-provider as the customer's IdP and a
 * real upstream MCP server. The IdP's access tokens carry `scope: "mcp"`.
 */
describe('required scopes through a real edge', () => {
  let gateway: ModuleGateway;
  let idp: TestOidcProvider;
  let upstream: EchoMcpServer;
  let edgeUrl: string;
  let actorToken: string;
  let apiKey: string;
  const opened: Client[] = [];

  const admin = (method: string, path: string, body?: unknown) => gateway.admin(method, path, body);
  const initialize = (slug: string, token?: string) =>
    fetch(`${edgeUrl}/mcp/${slug}`, { method: 'POST', headers: { ...MCP_HEADERS, ...(token && { authorization: `Bearer ${token}` }) }, body: INITIALIZE });
  const metadataUrl = (slug: string) => `${edgeUrl}/.well-known/oauth-protected-resource/mcp/${slug}`;
  /** An access token of the real IdP: `scope: "mcp"`. */
  const idpToken = (sub = 'alice-sub') => idp.mintAccessToken({ sub, claims: { email: `${sub}@acme.example` } });
  /** A token the IdP signed with other scopes (its token grant always issues `mcp`), as after the user consented to more. */
  const idpTokenWithScope = async (scope: string, sub = 'alice-sub') => {
    const jwk = idp.signingKey();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope, email: `${sub}@acme.example` })
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(idp.issuer)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(await importJWK(jwk, jwk.alg));
  };
  const exchanged = async (subjectToken: string, scope?: string) => {
    const fields = {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      actor_token: actorToken,
      actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      ...(scope && { scope }),
    };
    const response = await fetch(`${edgeUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string; scope?: string };
  };
  const sdkClient = async (slug: string, options: { token?: string; authProvider?: OAuthClientProvider }) => {
    const transport = new StreamableHTTPClientTransport(new URL(`${edgeUrl}/mcp/${slug}`), {
      authProvider: options.authProvider,
      ...(options.token && { requestInit: { headers: { Authorization: `Bearer ${options.token}` } } }),
    });
    const client = new Client({ name: 'scopes-e2e', version: '1.0.0' });
    opened.push(client);
    await client.connect(transport);
    return client;
  };

  beforeAll(async () => {
    // The edge's public URL is its real address, so the SDK can follow resource_metadata.
    [gateway, idp, upstream] = await Promise.all([startModuleGateway('scopes-e2e'), startOidcProvider({ audience: AUDIENCE }), startEchoMcpServer()]);
    edgeUrl = gateway.edgeUrl;
    expect((await admin('POST', '/api/v1/identity-providers', { name: 'acme', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, audiences: [AUDIENCE] })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers', { slug: 'notes', name: 'Notes', url: upstream.url, authType: 'none', requiredScopes: ['mcp'] })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers', { slug: 'files', name: 'Files', url: upstream.url, authType: 'none', requiredScopes: ['mcp', 'files.write'] })).status).toBe(201);
    expect((await admin('POST', '/api/v1/virtual-servers', { slug: 'suite', name: 'Suite', tools: [{ server: 'notes', tool: 'echo' }], requiredScopes: ['suite:use'] })).status).toBe(201);
    for (const path of ['/api/v1/servers/notes', '/api/v1/servers/files', '/api/v1/virtual-servers/suite']) {
      expect((await admin('POST', `${path}/collaborators`, { subject: 'team:everyone', role: 'user' })).status).toBe(201);
    }
    expect((await admin('POST', '/api/v1/virtual-accounts', { name: 'assistant', canExchange: true })).status).toBe(201);
    actorToken = (await admin('POST', '/api/v1/virtual-accounts/assistant/tokens', {})).body.token;
    apiKey = (await admin('POST', '/api/v1/api-keys', { name: 'agent', ownerEmail: 'dev1@acme.example', isAdmin: false, expiresAt: null })).body.token;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(opened.map((client) => client.close()));
    await gateway?.close();
    await Promise.allSettled([upstream?.close(), idp?.stop()]);
  });

  it('lets an IdP token that grants the required scope through (200), and the SDK list and call tools', async () => {
    const token = await idpToken();
    expect((await initialize('notes', token)).status).toBe(200);
    const client = await sdkClient('notes', { token });
    expect((await client.callTool({ name: 'echo', arguments: { message: 'scoped hello' } })).content).toEqual([{ type: 'text', text: 'scoped hello' }]);
  });

  it('answers an IdP token lacking a required scope with 403 insufficient_scope and the RFC 6750 challenge', async () => {
    const answer = await initialize('files', await idpToken());
    expect(answer.status).toBe(403);
    expect(answer.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="mcp files.write", resource_metadata="${metadataUrl('files')}", error_description="The access token lacks a scope this MCP server requires"`,
    );
    expect(await answer.json()).toMatchObject({ error: { code: -32000, data: { code: 'insufficient_scope', requiredScopes: ['mcp', 'files.write'], missingScopes: ['files.write'] } } });
    // A plain SDK client (no OAuth provider) sees the 403 and does not get a session.
    await expect(sdkClient('files', { token: await idpToken() })).rejects.toMatchObject({ code: 403, message: expect.stringContaining('insufficient_scope') });
    // The virtual server's own required scope counts there.
    expect((await initialize('suite', await idpToken())).status).toBe(403);
    expect((await initialize('suite', await idpTokenWithScope('mcp suite:use'))).status).toBe(200);
  });

  it('lists the required scopes in the RFC 9728 metadata and the 401 challenge, where the stock SDK finds them', async () => {
    const anonymous = await initialize('files');
    expect(anonymous.status).toBe(401);
    const challenge = extractWWWAuthenticateParams(anonymous);
    expect(challenge).toEqual({ resourceMetadataUrl: new URL(metadataUrl('files')), scope: 'mcp files.write', error: undefined });
    const metadata = await discoverOAuthProtectedResourceMetadata(`${edgeUrl}/mcp/files`, { resourceMetadataUrl: challenge.resourceMetadataUrl });
    expect(metadata).toMatchObject({ resource: `${edgeUrl}/mcp/files`, authorization_servers: [idp.issuer], scopes_supported: ['mcp', 'files.write'] });
    expect(await (await fetch(metadataUrl('notes'))).json()).toMatchObject({ scopes_supported: ['mcp'] });
    expect(await (await fetch(metadataUrl('suite'))).json()).toMatchObject({ scopes_supported: ['suite:use'] });
  });

  it("has a stock SDK client with an OAuth provider ask the IdP for the challenge's scopes, at first contact and to step up after 403", async () => {
    // First contact: 401 → metadata → the IdP's metadata → an authorization request for the scopes the challenge named.
    const provider = new RecordingOAuthClient(SCOPES_E2E_CLIENT);
    await expect(sdkClient('files', { authProvider: provider })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.authorizationRequests).toHaveLength(1);
    const first = provider.authorizationRequests[0]!;
    expect(first.origin).toBe(idp.issuer);
    expect(first.searchParams.get('scope')).toBe('mcp files.write');
    expect(first.searchParams.get('resource')).toBe(`${edgeUrl}/mcp/files`);

    // Step-up: holding a token with `mcp` only, the 403 makes the SDK ask for the scopes the server requires.
    const stepUp = new RecordingOAuthClient(SCOPES_E2E_CLIENT);
    stepUp.saveTokens({ access_token: await idpToken(), token_type: 'Bearer' });
    await expect(sdkClient('files', { authProvider: stepUp })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(stepUp.authorizationRequests.map((url) => url.searchParams.get('scope'))).toEqual(['mcp files.write']);

    // Once the user consented to them, the same client gets in.
    stepUp.saveTokens({ access_token: await idpTokenWithScope('mcp files.write'), token_type: 'Bearer' });
    const client = await sdkClient('files', { authProvider: stepUp });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
  });

  it('does not scope-limit a gateway API key (RBAC governs it)', async () => {
    expect((await initialize('files', apiKey)).status).toBe(200);
  });

  it("carries the subject token's scopes into an exchanged token, which cannot gain a scope by asking", async () => {
    const plain = await exchanged(await idpToken());
    expect(plain.scope).toBe('mcp');
    expect((await initialize('notes', plain.access_token)).status).toBe(200);
    expect((await initialize('files', plain.access_token)).status).toBe(403);
    const greedy = await exchanged(await idpToken(), 'mcp files.write');
    expect(greedy.scope).toBe('mcp');
    expect((await initialize('files', greedy.access_token)).status).toBe(403);
    const full = await exchanged(await idpTokenWithScope('mcp files.write'));
    expect((await initialize('files', full.access_token)).status).toBe(200);
  });

  it('follows a change of the required scopes at a warm edge', async () => {
    const token = await idpToken('bob-sub');
    expect((await initialize('files', token)).status).toBe(403);
    expect((await admin('PATCH', '/api/v1/servers/files', { requiredScopes: ['mcp'] })).status).toBe(200);
    const deadline = Date.now() + 5000;
    let status = 403;
    while (status === 403 && Date.now() < deadline) {
      status = (await initialize('files', token)).status;
      if (status === 403) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
    expect(await (await fetch(metadataUrl('files'))).json()).toMatchObject({ scopes_supported: ['mcp'] });

    // A virtual server's own list changes the same way; none required: no scopes_supported at all.
    expect((await initialize('suite', token)).status).toBe(403);
    const patched = await admin('PATCH', '/api/v1/virtual-servers/suite', { requiredScopes: [] });
    expect(patched).toMatchObject({ status: 200, body: { requiredScopes: [] } });
    const until = Date.now() + 5000;
    while ((await initialize('suite', token)).status === 403 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await initialize('suite', token)).status).toBe(200);
    expect(await (await fetch(metadataUrl('suite'))).json()).not.toHaveProperty('scopes_supported');
  });
});
