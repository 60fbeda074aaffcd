import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { allowAll, initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { UpstreamClient } from './upstream.client';

const TOKEN = 'pcl_AbCdEfGh_ssrf-test-token';

/** The edge's SSRF guard at connect time (OUTBOUND_ALLOW_PRIVATE off), against a real upstream on loopback. */
describe(UpstreamClient.name, () => {
  let echo: EchoMcpServer;
  let legacy: EchoMcpServer;
  let guarded: RunningEdge;
  let open: RunningEdge;

  beforeAll(async () => {
    [echo, legacy] = await Promise.all([startEchoMcpServer(), startEchoMcpServer({ transport: 'sse' })]);
    [guarded, open] = await Promise.all([startEdge({ outboundAllowPrivate: false }), startEdge()]);
    const port = new URL(echo.url).port;
    const legacyPort = new URL(legacy.url).port;
    for (const edge of [guarded, open]) {
      // `localhost` is a name: the registry saw a host name, the address behind it is only known when connecting.
      const rebound = edge.directory.addServer(target('rebound', `http://localhost:${port}/mcp`, { authType: 'none' }));
      const literal = edge.directory.addServer(target('literal', `http://127.0.0.1:${port}/mcp`, { authType: 'none' }));
      const legacyRebound = edge.directory.addServer({ ...target('legacy-rebound', `http://localhost:${legacyPort}/sse`, { authType: 'none' }), transport: 'sse' });
      // A virtual server reaches its upstreams through the SDK's client transports: the same guard must hold there.
      edge.directory.addVirtualServer('combo', [
        { name: 'rebound_echo', tool: 'echo', server: rebound },
        { name: 'literal_echo', tool: 'echo', server: literal },
        { name: 'legacy_echo', tool: 'echo', server: legacyRebound },
      ]);
      edge.directory.decisions.set('combo', () => allowAll());
      edge.directory.addToken(TOKEN, principal());
    }
  });

  afterAll(async () => {
    await Promise.all([guarded?.close(), open?.close()]);
    await Promise.all([echo?.close(), legacy?.close()]);
  });

  const callVirtual = async (edge: RunningEdge, tool: string) => {
    const answer = await fetch(edge.mcpUrl('combo'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: tool, arguments: { message: 'hi' } } }),
    });
    return (await answer.json()) as { result?: { content: unknown }; error?: { message: string } };
  };

  const initialize = (edge: RunningEdge, slug: string) =>
    fetch(edge.mcpUrl(slug), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }, body: initializeRequest() });

  describe('send', () => {
    it.each(['rebound', 'literal'])('stops DNS rebinding / SSRF: refuses to connect when %s resolves to loopback', async (slug) => {
      const before = echo.requests.length;
      const answer = await initialize(guarded, slug);
      expect(answer.status).toBe(502);
      expect(JSON.stringify(await answer.json())).toContain('private, loopback or link-local');
      expect(echo.requests.length).toBe(before);
    });

    it.each(['rebound_echo', 'literal_echo', 'legacy_echo'])("holds for a virtual server's upstreams too: %s is refused before connecting", async (tool) => {
      const before = echo.requests.length + legacy.requests.length;
      const answer = await callVirtual(guarded, tool);
      expect(answer.result).toBeUndefined();
      expect(answer.error?.message).toContain('private, loopback or link-local');
      expect(echo.requests.length + legacy.requests.length).toBe(before);
    });

    it.each(['rebound_echo', 'legacy_echo'])("lets a virtual server's %s through when OUTBOUND_ALLOW_PRIVATE is true", async (tool) => {
      expect((await callVirtual(open, tool)).result?.content).toEqual([{ type: 'text', text: 'hi' }]);
    });

    it('connects to a loopback upstream when OUTBOUND_ALLOW_PRIVATE is true', async () => {
      const answer = await initialize(open, 'rebound');
      expect(answer.status).toBe(200);
      await answer.body?.cancel();
    });
  });
});
