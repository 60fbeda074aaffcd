import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTracing, type TracingHandle } from '@portcullis/telemetry';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { eventually, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';

const GATEWAY_TOKEN = 'pcl_TrAcEiDs_gateway-secret-token';

// Tracing as the services start it with no OTLP endpoint: spans are not recorded (cheap), yet audit events still carry real trace ids.
describe('trace ids with tracing on and nothing exported', () => {
  let tracing: TracingHandle;
  let edge: RunningEdge;
  let echo: EchoMcpServer;

  beforeAll(async () => {
    tracing = startTracing('edge-proxy-test', {});
    echo = await startEchoMcpServer();
    edge = await startEdge();
    edge.directory.addServer(target('echo', echo.url));
    edge.directory.addToken(GATEWAY_TOKEN, principal());
  });

  afterAll(async () => {
    await edge?.close();
    await echo?.close();
    await tracing?.shutdown();
  });

  async function callEcho(times: number): Promise<void> {
    const transport = new StreamableHTTPClientTransport(new URL(edge.mcpUrl('echo')), {
      requestInit: { headers: { Authorization: `Bearer ${GATEWAY_TOKEN}` } },
    });
    const client = new Client({ name: 'trace-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      for (let i = 0; i < times; i++) await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  }

  it('gives every audited call its own real trace id although no span is recorded', async () => {
    const before = edge.audit.length;
    await callEcho(2);
    await eventually(() => edge.audit.slice(before).filter((e) => e.action === 'tool.call').length === 2);
    const ids = edge.audit
      .slice(before)
      .filter((e) => e.action === 'tool.call')
      .map((e) => e.traceId);
    for (const id of ids) expect(id).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(2);
    // The upstream continues each call's trace.
    const upstreamTraces = echo.requests.map((r) => String(r['traceparent'] ?? '').split('-')[1]);
    for (const id of ids) expect(upstreamTraces).toContain(id);
  });
});
