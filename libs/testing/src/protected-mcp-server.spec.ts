import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startOidcProvider, TestOidcProvider } from './oidc-provider';
import { ProtectedMcpServer, startProtectedMcpServer } from './protected-mcp-server';

describe(startProtectedMcpServer.name, () => {
  let server: ProtectedMcpServer;
  let idp: TestOidcProvider;

  beforeAll(async () => {
    server = await startProtectedMcpServer();
    idp = await startOidcProvider({ audience: 'https://gateway.example/mcp', upstream: { redirectUri: 'https://gateway.example/oauth/callback', resource: server.url } });
    server.trust({ issuer: idp.issuer, jwksUri: idp.jwksUri });
  });

  afterAll(async () => {
    await server?.close();
    await idp?.stop();
  });

  async function upstreamToken(): Promise<string> {
    const client = idp.upstreamClient!;
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: server.url, scope: 'mcp' }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it('answers a request without a token with 401 naming its RFC 9728 metadata, which names the provider', async () => {
    const answer = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toContain(`resource_metadata="${server.resourceMetadataUrl}"`);
    const metadata = (await (await fetch(server.resourceMetadataUrl)).json()) as { resource: string; authorization_servers: string[] };
    expect(metadata).toMatchObject({ resource: server.url, authorization_servers: [idp.issuer] });
  });

  it('refuses a token the provider issued for another audience', async () => {
    const foreign = await idp.mintAccessToken({ sub: 'alice' });
    const answer = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${foreign}` }, body: '{}' });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('serves the echo tool to the SDK client holding a token for this resource', async () => {
    const token = await upstreamToken();
    const client = new Client({ name: 'spec', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    expect((await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).content).toEqual([{ type: 'text', text: 'hi' }]);
    await client.close();
    expect(server.accepted.at(-1)).toMatchObject({ clientId: idp.upstreamClient!.clientId });
  });
});
