import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busAuditSink, NatsBus, SpoolingAuditPublisher } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { createTestDatabase, freePort, OwnNatsServer, ServiceProcess, sleep, TestDatabase, uniqueSubjectPrefix, waitForReady } from '@portcullis/testing';
import { Client } from 'pg';

/**
 * DESIGN §11 "nothing is lost": the audit service down (JetStream keeps the
 * events) and NATS down (the publisher spools them to disk). Runs against a
 * NATS server of its own, which it kills and restarts, and a real audit process.
 */
describe('audit trail: never lost', () => {
  let nats: OwnNatsServer;
  let database: TestDatabase;
  let sql: Client;
  let spoolDir: string;
  let auditPort: number;
  let audit: ServiceProcess | null = null;
  let publisherBus: NatsBus;
  let publisher: SpoolingAuditPublisher;
  const subjectPrefix = uniqueSubjectPrefix();

  const startAudit = async () => {
    audit = ServiceProcess.start('audit', {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      BUS_SUBJECT_PREFIX: subjectPrefix,
      AUDIT_PORT: String(auditPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    await waitForReady(`http://127.0.0.1:${auditPort}/readyz`, audit);
  };

  const stored = async () => {
    const { rows } = await sql.query<{ id: string }>('SELECT id FROM audit.events ORDER BY seq');
    return rows.map((row) => row.id);
  };

  const waitForRows = async (count: number, timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    let ids = await stored();
    while (ids.length < count && Date.now() < deadline) {
      await sleep(200);
      ids = await stored();
    }
    // A little longer, so a duplicate arriving late would be seen.
    await sleep(500);
    return stored();
  };

  beforeAll(async () => {
    nats = await OwnNatsServer.start();
    database = await createTestDatabase('neverlost');
    spoolDir = await mkdtemp(join(tmpdir(), 'portcullis-spool-e2e-'));
    auditPort = await freePort();
    await startAudit();
    sql = new Client({ connectionString: database.url });
    await sql.connect();
    // Publishes as the edge does: another process's connection, a disk spool behind it.
    publisherBus = await NatsBus.connect({ servers: nats.url, name: 'publisher-e2e', subjectPrefix, defaultTimeoutMs: 2000 });
    publisher = new SpoolingAuditPublisher(busAuditSink(publisherBus), { directory: spoolDir, replayIntervalMs: 250 });
    publisher.start();
  });

  afterAll(async () => {
    await publisher?.stop();
    await publisherBus?.close();
    await audit?.stop();
    await sql?.end();
    await database?.drop();
    await nats?.destroy();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('stores exactly the 1,000 events published while the audit service was stopped, once it starts again', async () => {
    await audit!.stop();
    const before = (await stored()).length;
    const events = Array.from({ length: 1000 }, (_, n) => auditEvent(n));
    for (let i = 0; i < events.length; i += 100) {
      const results = await Promise.all(events.slice(i, i + 100).map((event) => publisher.publish(event)));
      expect(results.every((result) => result === 'published')).toBe(true);
    }
    expect((await stored()).length).toBe(before);
    // The audit lag an operator sees: every event waits in JetStream for the durable consumer.
    expect(await publisherBus.auditBacklog()).toBe(1000);

    await startAudit();
    const ids = await waitForRows(before + 1000);
    const metrics = await (await fetch(`http://127.0.0.1:${auditPort}/metrics`)).text();
    expect(metrics).toMatch(/^portcullis_audit_backlog_events\{service="audit"\} 0$/m);
    expect(metrics).toMatch(/^portcullis_audit_write_duration_seconds_count\{service="audit"\} \d+$/m);
    expect(ids.length).toBe(before + 1000);
    expect(new Set(ids.slice(before))).toEqual(new Set(events.map((e) => e.id)));
    expect(await verify()).toEqual({ ok: true, checked: before + 1000 });
  });

  it('delivers every event exactly once when NATS is killed during calls and restarted', async () => {
    const before = (await stored()).length;
    const events: AuditEvent[] = [];
    const results: Promise<'published' | 'spooled'>[] = [];
    const publishSome = async (count: number) => {
      for (let n = 0; n < count; n++) {
        const event = auditEvent(events.length);
        events.push(event);
        results.push(publisher.publish(event));
        await sleep(5);
      }
    };

    await publishSome(100);
    await nats.stop('SIGKILL');
    await publishSome(100); // NATS is gone: these go to the spool
    await Promise.all(results);
    expect(publisher.spooled()).toBeGreaterThan(0);
    await nats.start();
    await publishSome(100);

    const outcomes = await Promise.all(results);
    expect(outcomes).toContain('spooled');
    const ids = await waitForRows(before + events.length);
    expect(ids.length).toBe(before + events.length);
    expect(new Set(ids.slice(before))).toEqual(new Set(events.map((e) => e.id)));
    expect(publisher.spooled()).toBe(0);
    expect(await verify()).toEqual({ ok: true, checked: before + events.length });
  });

  async function verify(): Promise<unknown> {
    // The chain, recomputed from the stored rows exactly as GET /api/v1/audit/verify does.
    const { AuditChain } = await import('@portcullis/audit');
    const { rows } = await sql.query('SELECT * FROM audit.events ORDER BY seq');
    return AuditChain.verify(
      rows.map((row) => ({
        seq: Number(row.seq),
        prevHash: row.prev_hash,
        hash: row.hash,
        event: eventOfRow(row),
      })),
    );
  }
});

function auditEvent(n: number): AuditEvent {
  return {
    id: randomUUID(),
    ts: new Date().toISOString(),
    traceId: null,
    principal: { id: 'user-never-lost', kind: 'user' },
    actor: null,
    action: 'tool.call',
    method: 'tools/call',
    server: 'everything',
    tool: 'echo',
    credentialKind: 'header',
    credentialId: 'cred-1',
    outcome: 'success',
    reason: null,
    latencyMs: n,
  };
}

function eventOfRow(row: Record<string, any>): AuditEvent {
  const party = (id: string | null, kind: string | null, email: string | null) =>
    id === null ? null : email === null ? { id, kind: kind as 'user' } : { id, kind: kind as 'user', email };
  return {
    id: row.id,
    ts: row.ts.toISOString(),
    traceId: row.trace_id,
    principal: party(row.principal_id, row.principal_kind, row.principal_email),
    actor: party(row.actor_id, row.actor_kind, row.actor_email),
    action: row.action,
    method: row.method,
    server: row.server,
    tool: row.tool,
    credentialKind: row.credential_kind,
    credentialId: row.credential_id,
    outcome: row.outcome,
    reason: row.reason,
    latencyMs: row.latency_ms,
  };
}
