import { MetricsRegistry } from '@portcullis/telemetry';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { EdgeCacheMetrics } from './cache.metrics';

const TOKEN = 'pcl_cache_metrics_gateway_token';

describe(EdgeCacheMetrics.name, () => {
  let edge: RunningEdge;
  let echo: EchoMcpServer;

  beforeAll(async () => {
    echo = await startEchoMcpServer();
    edge = await startEdge();
    edge.directory.addServer(target('echo', echo.url));
    edge.directory.addToken(TOKEN, principal());
  });

  afterAll(async () => {
    await edge?.close();
    await echo?.close();
  });

  it('counts a miss per cache on the first call and hits on the next ones', async () => {
    for (let id = 1; id <= 3; id++) {
      const response = await fetch(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }, body: initializeRequest(id) });
      expect(response.status).toBe(200);
      await response.text();
    }
    const text = await edge.app.get(MetricsRegistry).metrics();
    for (const cache of ['principal', 'target', 'decision', 'credential']) {
      expect(text).toContain(`portcullis_edge_cache_lookups_total{cache="${cache}",result="miss",service="edge-proxy"} 1`);
      expect(text).toContain(`portcullis_edge_cache_lookups_total{cache="${cache}",result="hit",service="edge-proxy"} 2`);
    }
  });
});
