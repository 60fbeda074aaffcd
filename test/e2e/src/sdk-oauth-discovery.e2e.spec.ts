import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EchoMcpServer, followAuthorization, startEchoMcpServer, startOidcProvider, TestOidcProvider } from '@portcullis/testing';
import { ModuleGateway, RecordingOAuthClient, startModuleGateway } from './e2e-helpers';

/** The agent's own redirect URI: a desktop client's loopback listener, never contacted here (the "browser" stops at it). */
const AGENT_REDIRECT_URI = 'http://127.0.0.1:1/agent-callback';

/**
 * Issue 7: a stock MCP SDK client that is given only the gateway URL and an
 * OAuth client provider finds the customer's IdP from the gateway's 401
 * (RFC 9728 metadata → the IdP's metadata), sends the user through a real
 * authorization code + PKCE flow at a real oidc-provider (RFC 8707 resource =
 * the gateway's MCP URL, the scope the gateway names), and gets in with the
 * token it obtained. Nothing is minted by the test.
 */
describe('a stock SDK client discovering the IdP from the gateway', () => {
  let gateway: ModuleGateway;
  let idp: TestOidcProvider;
  let upstream: EchoMcpServer;
  const opened: Client[] = [];

  const admin = (method: string, path: string, body?: unknown) => gateway.admin(method, path, body);
  const mcpUrl = () => `${gateway.edgeUrl}/mcp/notes`;
  const connect = async (agent: OAuthClientProvider) => {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl()), { authProvider: agent });
    const client = new Client({ name: 'stock-sdk-agent', version: '1.0.0' });
    opened.push(client);
    await client.connect(transport);
    return { client, transport };
  };

  beforeAll(async () => {
    [gateway, upstream] = await Promise.all([startModuleGateway('sdk-oauth-e2e'), startEchoMcpServer()]);
    // The IdP's client for the agent is "upstream" in the test provider's terms: a confidential client whose tokens are for one resource, here the gateway's.
    idp = await startOidcProvider({
      audience: 'https://unused.sdk-oauth-e2e.example',
      upstream: { redirectUri: AGENT_REDIRECT_URI, resource: mcpUrl(), tokenEndpointAuthMethod: 'client_secret_post' },
    });
    expect((await admin('POST', '/api/v1/identity-providers', { name: 'acme', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, audiences: [mcpUrl()] })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers', { slug: 'notes', name: 'Notes', url: upstream.url, authType: 'none', requiredScopes: ['mcp'] })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers/notes/collaborators', { subject: 'external:acme/alice-sub', role: 'user' })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(opened.map((client) => client.close()));
    await gateway?.close();
    await Promise.allSettled([upstream?.close(), idp?.stop()]);
  });

  it('follows the 401 to the IdP, completes authorization code + PKCE there, and lists and calls tools with its own token', async () => {
    // A client registered at the IdP beforehand (client id and secret).
    const agent = new RecordingOAuthClient({ ...idp.upstreamClient!, clientName: 'stock-sdk-agent', redirectUri: AGENT_REDIRECT_URI });

    // First contact: no token → 401 → RFC 9728 metadata → the IdP's metadata → where to send the user.
    await expect(connect(agent)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(agent.authorizationRequests).toHaveLength(1);
    const authorizationUrl = agent.authorizationRequests[0]!;
    expect(authorizationUrl.origin + authorizationUrl.pathname).toMatch(new RegExp(`^${idp.issuer}`));
    expect(authorizationUrl.searchParams.get('client_id')).toBe(idp.upstreamClient!.clientId);
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcpUrl());
    expect(authorizationUrl.searchParams.get('scope')).toBe('mcp');
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');

    // The user signs in at the IdP in a browser; the IdP sends the code to the agent's redirect URI.
    await idp.setNextLogin({ sub: 'alice-sub' });
    const redirect = await followAuthorization(authorizationUrl.href, AGENT_REDIRECT_URI);
    const code = redirect.searchParams.get('code');
    expect(code).toBeTruthy();
    // The agent's redirect handler: a fresh transport trades the code (finding the IdP again from the gateway's metadata).
    await new StreamableHTTPClientTransport(new URL(mcpUrl()), { authProvider: agent }).finishAuth(code!);
    expect(agent.tokens()?.access_token).toBeTruthy();

    // With the token the IdP issued (aud = the gateway's MCP URL, scope mcp), the same stock client gets in.
    const { client } = await connect(agent);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    expect((await client.callTool({ name: 'echo', arguments: { message: 'discovered' } })).content).toEqual([{ type: 'text', text: 'discovered' }]);
    expect(await idp.tokenStats()).toMatchObject({ grants: expect.objectContaining({ authorization_code: 1 }) });
  });
});
