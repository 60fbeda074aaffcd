import { readdirSync } from 'node:fs';
import { BusError } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { MetricsRegistry } from '@portcullis/telemetry';
import { EchoMcpServer, startEchoMcpServer } from '@portcullis/testing';
import { eventually, initializeRequest, MCP_HEADERS, principal, RunningEdge, startEdge, target } from '../../test/edge-harness';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { AuditSpool } from './audit-spool.service';

const TOKEN = 'pcl_spool_gateway-token-for-this-spec';

describe(AuditSpool.name, () => {
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

  const call = (id: number) =>
    fetch(edge.mcpUrl('echo'), { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKEN}` }, body: initializeRequest(id) });

  it('keeps the audit events of calls made while the bus refuses them, and delivers them in order when it is back', async () => {
    const spool = edge.app.get(AuditSpool);
    const realPublish = edge.bus.publishCheckedAudit.bind(edge.bus);
    const realPublishBatch = edge.bus.publishCheckedAuditBatch.bind(edge.bus);
    const refused: AuditEvent[] = [];
    // The transport is unreachable: every publish fails as NatsBus fails when NATS is down.
    edge.bus.publishCheckedAudit = async ({ event }) => {
      refused.push(event);
      throw new BusError('UNAVAILABLE', 'cannot reach NATS');
    };
    edge.bus.publishCheckedAuditBatch = async (_id, records) => {
      refused.push(...records.map((record) => record.event));
      throw new BusError('UNAVAILABLE', 'cannot reach NATS');
    };
    const before = edge.audit.length;
    try {
      for (let id = 1; id <= 5; id++) expect((await call(id)).status).toBe(200);
      await eventually(() => spool.spooled() === 5);
      const metrics = await edge.app.get(MetricsRegistry).metrics();
      expect(metrics).toMatch(/portcullis_edge_audit_spool_events\{service="edge-proxy"\} 5/);
    } finally {
      edge.bus.publishCheckedAudit = realPublish;
      edge.bus.publishCheckedAuditBatch = realPublishBatch;
    }
    await spool.replay();
    expect(spool.spooled()).toBe(0);
    await eventually(() => edge.audit.length === before + 5);
    const delivered = edge.audit.slice(before);
    expect(delivered.map((e) => e.method)).toEqual(Array(5).fill('initialize'));
    // Only the first attempt went to the bus; the rest queued behind it on disk, in order.
    expect(new Set(delivered.map((e) => e.id)).size).toBe(5);
    expect(delivered[0].id).toBe(refused[0].id);
  });

  it('publishes straight to the bus while it is up, spooling nothing (the journal holds the event only until it is stored)', async () => {
    const spool = edge.app.get(AuditSpool);
    const before = edge.audit.length;
    expect((await call(9)).status).toBe(200);
    await eventually(() => edge.audit.length === before + 1);
    expect(spool.spooled()).toBe(0);
    const { auditSpoolDir } = edge.app.get<EdgeProxyModuleOptions>(EDGE_PROXY_OPTIONS);
    // The journal file being written stays open for the next events (after a crash its lines are replayed; the writer stores each event once).
    expect(readdirSync(auditSpoolDir!).filter((name) => !name.startsWith('journal-'))).toEqual([]);
  });
});
