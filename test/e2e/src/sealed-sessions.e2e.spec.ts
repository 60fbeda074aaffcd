import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EchoMcpServer, GatewayUnderTest, startDistributedGateway, startEchoMcpServer } from '@portcullis/testing';
import { admin } from './gateway-scenario';

/** A fetch that sends each request to the next edge replica in turn, as a round-robin load balancer would. */
function roundRobin(edgeUrls: readonly string[], seen: string[]): typeof fetch {
  let next = 0;
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const edge = new URL(edgeUrls[next++ % edgeUrls.length]!);
    url.host = edge.host;
    seen.push(edge.origin);
    return fetch(url, init);
  };
}

describe('sealed sessions: two edge processes behind a round-robin split (DESIGN §7)', () => {
  let gateway: GatewayUnderTest;
  let upstream: EchoMcpServer;
  let botToken: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    [gateway, upstream] = await Promise.all([startDistributedGateway({ edgeReplicas: 2 }), startEchoMcpServer()]);
    expect(gateway.edgeUrls).toHaveLength(2);
    expect((await admin(gateway, 'POST', '/api/v1/servers', { slug: 'echo', name: 'Echo', url: upstream.url, authType: 'none' })).status).toBe(201);
    // A second principal with its own access to the same server.
    expect((await admin(gateway, 'POST', '/api/v1/virtual-accounts', { name: 'other-bot' })).status).toBe(201);
    botToken = (await admin(gateway, 'POST', '/api/v1/virtual-accounts/other-bot/tokens', {})).body.token;
    expect((await admin(gateway, 'POST', '/api/v1/servers/echo/collaborators', { subject: 'virtualaccount:other-bot', role: 'user' })).status).toBe(201);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await upstream?.close();
    await gateway?.stop();
  });

  it('serves one SDK session whose requests alternate between the two edges', async () => {
    const seen: string[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(`${gateway.edgeUrl}/mcp/echo`), {
      requestInit: { headers: { Authorization: `Bearer ${gateway.adminToken}` } },
      fetch: roundRobin(gateway.edgeUrls, seen),
    });
    const client = new Client({ name: 'round-robin', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    const upstreamSessions = new Set<string>();
    for (let i = 0; i < 6; i++) {
      expect((await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } })).content).toEqual([{ type: 'text', text: `call ${i}` }]);
      const headers = JSON.parse(((await client.callTool({ name: 'request_headers', arguments: {} })).content as { text: string }[])[0]!.text) as Record<string, string>;
      upstreamSessions.add(headers['mcp-session-id']!);
    }
    // Both edges served the session, and the upstream saw one session throughout, never the sealed id.
    expect(new Set(seen)).toEqual(new Set(gateway.edgeUrls.map((url) => new URL(url).origin)));
    expect(upstreamSessions.size).toBe(1);
    expect(upstreamSessions.has(transport.sessionId!)).toBe(false);
    expect(JSON.stringify(upstream.requests)).not.toContain(transport.sessionId!);
  });

  it("refuses the session id replayed with another user's token on either edge (404, Session not found)", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${gateway.edgeUrl}/mcp/echo`), { requestInit: { headers: { Authorization: `Bearer ${gateway.adminToken}` } } });
    const client = new Client({ name: 'victim', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    for (const edgeUrl of gateway.edgeUrls) {
      const replayed = await fetch(`${edgeUrl}/mcp/echo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${botToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId! },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'stolen' } } }),
      });
      expect(replayed.status).toBe(404);
      expect(await replayed.json()).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'Session not found' } });
    }
    // The bot's own session works: the refusal was about the stolen id, not the bot.
    const own = new Client({ name: 'bot', version: '1.0.0' });
    clients.push(own);
    await own.connect(new StreamableHTTPClientTransport(new URL(`${gateway.edgeUrls[1]}/mcp/echo`), { requestInit: { headers: { Authorization: `Bearer ${botToken}` } } }));
    expect((await own.callTool({ name: 'echo', arguments: { message: 'mine' } })).content).toEqual([{ type: 'text', text: 'mine' }]);
  });
});
