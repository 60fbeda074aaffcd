import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { UpstreamClient } from './upstream.client';

const TOKEN = 'pcl_AbCdEfGh_ssrf-test-token';

/** The edge's SSRF guard at connect time (OUTBOUND_ALLOW_PRIVATE off), against a real upstream on loopback. */
describe(UpstreamClient.name, () => {
  let echo: EchoMcpServer;
  let guarded: RunningEdge;
  let open: RunningEdge;

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    [guarded, open] = await Promise.all([startEdge({ outboundAllowPrivate: false }), startEdge()]);
    const port = new URL(echo.url).port;
    for (const edge of [guarded, open]) {
      // `localhost` is a name: the registry saw a host name, the address behind it is only known when connecting.
      edge.directory.addServer(target('rebound', `http://localhost:${port}/mcp`, { authType: 'none' }));
      edge.directory.addServer(target('literal', `http://127.0.0.1:${port}/mcp`, { authType: 'none' }));
      edge.directory.addToken(TOKEN, principal());
    }
  });

  afterAll(async () => {
    await Promise.all([guarded?.close(), open?.close()]);
    await echo?.close();
  });

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

    it('connects to a loopback upstream when OUTBOUND_ALLOW_PRIVATE is true', async () => {
      const answer = await initialize(open, 'rebound');
      expect(answer.status).toBe(200);
      await answer.body?.cancel();
    });
  });
});
