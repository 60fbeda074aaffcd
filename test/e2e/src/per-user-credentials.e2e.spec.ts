import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { ModuleGateway, startModuleGateway } from './e2e-helpers';

/**
 * Per-user header credentials (DESIGN §5 `header` `per_user`) end to end: each
 * user's own value, set by the user (`/me/credentials`) or by a manager (the
 * registry's `/api/v1/servers/{slug}/credentials/{userId}`), sealed in the real
 * vault and injected by the edge into that user's calls only.
 */
describe('per-user header credentials through the real services', () => {
  let gateway: ModuleGateway;
  let upstream: EchoMcpServer;
  const users: Record<'carol' | 'dan', { id: string; token: string }> = {} as never;

  const admin = (method: string, path: string, body?: unknown) => gateway.admin(method, path, body);
  /** What the upstream saw of a `request_headers` call made by a stock SDK client with `token`, or the error the gateway answered. */
  const headersSeenBy = async (token: string): Promise<{ headers?: Record<string, string>; error?: McpError }> => {
    const client = new Client({ name: 'per-user-e2e', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.edgeUrl}/mcp/team-api`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      const result = await client.callTool({ name: 'request_headers', arguments: {} });
      return { headers: JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, string> };
    } catch (error) {
      if (error instanceof McpError) return { error };
      throw error;
    } finally {
      await client.close();
    }
  };

  beforeAll(async () => {
    [gateway, upstream] = await Promise.all([startModuleGateway('per-user-e2e'), startEchoMcpServer()]);
    const created = await admin('POST', '/api/v1/servers', {
      slug: 'team-api',
      name: 'Team API',
      url: upstream.url,
      authType: 'header',
      headerMode: 'per_user',
      headers: { 'X-Team-Key': 'Bearer {{API_KEY}}' },
    });
    expect(created.status).toBe(201);
    expect((await admin('POST', '/api/v1/servers/team-api/collaborators', { subject: 'team:everyone', role: 'user' })).status).toBe(201);
    for (const name of ['carol', 'dan'] as const) {
      const key = await admin('POST', '/api/v1/api-keys', { name: `${name} laptop`, ownerEmail: `${name}@acme.example`, isAdmin: false, expiresAt: null });
      expect(key.status).toBe(201);
      users[name] = { id: key.body.apiKey.ownerUserId, token: key.body.token };
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it("asks a user without a value for it, and names the variable and where to set it, before anything reaches the upstream", async () => {
    const before = upstream.requests.length;
    const { error } = await headersSeenBy(users.carol.token);
    expect(error?.message).toContain('API_KEY');
    expect(JSON.stringify(error)).toContain('/me/credentials/team-api');
    expect(upstream.requests.length).toBe(before);
  });

  it("injects the value a manager set for a user into that user's calls only, and forgets it when the manager deletes it", async () => {
    const value = `carol-${randomBytes(12).toString('hex')}`;
    const set = await admin('PUT', `/api/v1/servers/team-api/credentials/${users.carol.id}`, { values: { API_KEY: value } });
    expect(set.status).toBe(200);
    expect(JSON.stringify(set.body)).not.toContain(value);

    expect((await headersSeenBy(users.carol.token)).headers?.['x-team-key']).toBe(`Bearer ${value}`);
    const dan = await headersSeenBy(users.dan.token);
    expect(dan.headers).toBeUndefined();
    expect(dan.error?.message).toContain('API_KEY');

    expect((await admin('DELETE', `/api/v1/servers/team-api/credentials/${users.carol.id}`)).status).toBe(204);
    expect((await headersSeenBy(users.carol.token)).error?.message).toContain('API_KEY');
  });

  it("injects the value a user set for themselves, which another user's token cannot reach", async () => {
    const value = `dan-${randomBytes(12).toString('hex')}`;
    const put = await fetch(`${gateway.edgeUrl}/me/credentials/team-api`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${users.dan.token}` },
      body: JSON.stringify({ values: { API_KEY: value } }),
    });
    expect(put.status).toBe(200);
    expect(await put.text()).not.toContain(value);
    expect((await headersSeenBy(users.dan.token)).headers?.['x-team-key']).toBe(`Bearer ${value}`);
    expect(JSON.stringify(await headersSeenBy(users.carol.token))).not.toContain(value);
  });
});
