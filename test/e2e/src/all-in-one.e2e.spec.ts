import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startAllInOne, startEchoMcpServer } from '@portcullis/testing';
import { admin, describeGatewayScenario } from './gateway-scenario';

describe('all-in-one with nothing configured but the bootstrap token', () => {
  describeGatewayScenario(() => startAllInOne());
});

describe('all-in-one first start', () => {
  it('prints an admin key once, and a second start reuses the data without printing it again', async () => {
    const first = await startAllInOne({ bootstrapAdminToken: null });
    try {
      expect(first.adminToken).toMatch(/\S{20,}/);
      const created = await admin(first, 'POST', '/api/v1/servers', { slug: 'kept', name: 'Kept', url: 'http://127.0.0.1:9/mcp', authType: 'none' });
      expect(created.status).toBe(201);
      await first.stop();

      const second = await startAllInOne({ dataDir: first.dataDir, bootstrapAdminToken: null });
      try {
        expect(second.logs()).not.toContain('shown only this once');
        const kept = await admin(second, 'GET', '/api/v1/servers/kept', undefined, first.adminToken);
        expect(kept.status).toBe(200);
        expect(kept.body.slug).toBe('kept');
      } finally {
        await second.stop();
      }
    } finally {
      await first.destroy();
    }
  });
});

describe('all-in-one session keys', () => {
  it('keeps the MCP session keys in the data folder (0600), so a session outlives a restart', async () => {
    const echo = await startEchoMcpServer();
    const first = await startAllInOne();
    const clients: Client[] = [];
    const connect = async (edgeUrl: string, token: string, sessionId?: string) => {
      const transport = new StreamableHTTPClientTransport(new URL(`${edgeUrl}/mcp/kept-session`), { sessionId, requestInit: { headers: { Authorization: `Bearer ${token}` } } });
      const client = new Client({ name: 'e2e-session', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    };
    try {
      expect((await admin(first, 'POST', '/api/v1/servers', { slug: 'kept-session', name: 'Kept session', url: echo.url, authType: 'none' })).status).toBe(201);
      const before = await connect(first.edgeUrl, first.adminToken);
      const sessionId = before.transport.sessionId!;
      expect(sessionId).toMatch(/^[A-Za-z0-9_-]{100,}$/);
      expect((await stat(join(first.dataDir, 'session-keys'))).mode & 0o777).toBe(0o600);
      await first.stop();

      const second = await startAllInOne({ dataDir: first.dataDir, bootstrapAdminToken: first.adminToken });
      try {
        const after = await connect(second.edgeUrl, second.adminToken, sessionId);
        expect((await after.client.callTool({ name: 'echo', arguments: { message: 'after restart' } })).content).toEqual([{ type: 'text', text: 'after restart' }]);
      } finally {
        await second.stop();
      }
    } finally {
      await Promise.allSettled(clients.map((client) => client.close()));
      await first.destroy();
      await echo.close();
    }
  });
});
