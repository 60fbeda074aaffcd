import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EchoMcpServer, startEchoMcpServer } from './echo-mcp-server';

describe(startEchoMcpServer.name, () => {
  let server: EchoMcpServer;

  beforeAll(async () => {
    server = await startEchoMcpServer();
  });
  afterAll(() => server.close());

  it('serves echo and request_headers over a stateful streamable HTTP session', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { 'X-Probe': 'probe-1' } } });
    const client = new Client({ name: 'spec', version: '1.0.0' });
    await client.connect(transport);
    expect(transport.sessionId).toEqual(expect.any(String));

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['echo', 'request_headers']);
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'hello' }]);
    const headers = await client.callTool({ name: 'request_headers', arguments: {} });
    const seen = JSON.parse((headers.content as { text: string }[])[0].text) as Record<string, string>;
    expect(seen['x-probe']).toBe('probe-1');

    await transport.terminateSession();
    await client.close();
    expect(server.requests.some((r) => r[':method'] === 'DELETE' && r['x-probe'] === 'probe-1')).toBe(true);
  });

  it('answers 404 to a request for an unknown session', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'nope' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(404);
  });
});
