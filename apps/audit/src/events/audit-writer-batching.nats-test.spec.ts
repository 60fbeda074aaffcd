import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { AuditHandler, NatsBus } from '@portcullis/bus';
import { createLogger, MetricsRegistry } from '@portcullis/telemetry';
import { auditEvent, createTestDatabase, deleteJetStreamStreams, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { AuditWriterHandler } from './audit-writer.handler';
import { ChainVerificationService } from './chain-verification.service';

jest.setTimeout(120_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

describe(`${AuditWriterHandler.name} batches`, () => {
  let database: TestDatabase;
  let sql: Client;
  const apps: NestFastifyApplication[] = [];
  const buses: NatsBus[] = [];
  const streams: string[] = [];

  beforeEach(async () => {
    database = await createTestDatabase('audit_batches');
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterEach(async () => {
    await sql.end();
    for (const app of apps.splice(0)) await app.close();
    for (const bus of buses.splice(0)) await bus.close();
    await deleteJetStreamStreams(NATS_URL, streams.splice(0));
    await database.drop();
  });

  async function connect(subjectPrefix: string, name: string): Promise<NatsBus> {
    const bus = await NatsBus.connect({ servers: NATS_URL, name, subjectPrefix });
    buses.push(bus);
    if (!streams.includes(bus.auditStream)) streams.push(bus.auditStream);
    return bus;
  }

  /** One replica of the audit service; it stops with the test. */
  async function startWriter(bus: NatsBus): Promise<NestFastifyApplication> {
    const app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus, closeBusOnShutdown: false, logger: createLogger({ service: 'audit', level: 'fatal' }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    apps.push(app);
    await app.init();
    return app;
  }

  const rowCount = async () => Number((await sql.query('SELECT count(*) AS n FROM audit.events')).rows[0].n);
  const distinctIds = async () => Number((await sql.query('SELECT count(DISTINCT id) AS n FROM audit.events')).rows[0].n);

  async function waitForRows(expected: number, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let rows = await rowCount();
    while (rows < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = await rowCount();
    }
    return rows;
  }

  async function consumed(app: NestFastifyApplication, result: 'stored' | 'duplicate'): Promise<number> {
    const text = await app.get(MetricsRegistry).metrics();
    const match = new RegExp(`^portcullis_audit_events_consumed_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : 0;
  }

  it('keeps one unbroken chain when two replicas store batches at the same time', async () => {
    const prefix = uniqueSubjectPrefix();
    const publisher = await connect(prefix, 'edge-spec');
    const events = Array.from({ length: 3000 }, () => auditEvent());
    for (let i = 0; i < events.length; i += 250) await Promise.all(events.slice(i, i + 250).map((e) => publisher.publishAudit(e)));

    const [first, second] = await Promise.all([startWriter(await connect(prefix, 'audit-a')), startWriter(await connect(prefix, 'audit-b'))]);
    expect(await waitForRows(events.length)).toBe(events.length);
    // Both replicas took part: their batches interleave in the chain under the chain lock.
    expect(await consumed(first, 'stored')).toBeGreaterThan(0);
    expect(await consumed(second, 'stored')).toBeGreaterThan(0);
    expect((await consumed(first, 'stored')) + (await consumed(second, 'stored'))).toBe(events.length);
    expect(await distinctIds()).toBe(events.length);
    expect(await first.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: events.length });
  });

  it('stores an event once when the writer committed it but crashed before acknowledging it', async () => {
    const prefix = uniqueSubjectPrefix();
    const publisher = await connect(prefix, 'edge-spec');
    const bus = await connect(prefix, 'audit-spec');
    // The process "dies" after the commit: the ack never reaches JetStream, which delivers every event again.
    const crashedOnce = new Set<string>();
    const consumeAudit = bus.consumeAudit.bind(bus);
    bus.consumeAudit = (handler: AuditHandler) =>
      consumeAudit(async (event) => {
        await handler(event);
        if (!crashedOnce.has(event.id)) {
          crashedOnce.add(event.id);
          throw new Error('crashed between commit and ack');
        }
      });
    const app = await startWriter(bus);

    const events = Array.from({ length: 300 }, () => auditEvent());
    await Promise.all(events.map((e) => publisher.publishAudit(e)));
    expect(await waitForRows(events.length)).toBe(events.length);
    const deadline = Date.now() + 30_000;
    while ((await consumed(app, 'duplicate')) < events.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

    expect(await consumed(app, 'duplicate')).toBe(events.length);
    while ((await bus.auditBacklog()) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await bus.auditBacklog()).toBe(0);
    expect(await rowCount()).toBe(events.length);
    expect(await distinctIds()).toBe(events.length);
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: events.length });
  });

  it('stores each event of the edge batch messages once, also when a batch repeats events already stored', async () => {
    const prefix = uniqueSubjectPrefix();
    const publisher = await connect(prefix, 'edge-spec');
    const app = await startWriter(await connect(prefix, 'audit-spec'));
    const events = Array.from({ length: 8 }, () => auditEvent());
    await publisher.publishAuditBatch({ id: randomUUID(), events: events.slice(0, 5) });
    // A batch whose acknowledgement was lost, its events then replayed from the spool one by one and in another batch.
    await publisher.publishAudit(events[1]);
    await publisher.publishAuditBatch({ id: randomUUID(), events: events.slice(3) });

    expect(await waitForRows(events.length)).toBe(events.length);
    const deadline = Date.now() + 15_000;
    while ((await consumed(app, 'duplicate')) < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await consumed(app, 'duplicate')).toBe(3);
    expect(await rowCount()).toBe(events.length);
    expect((await sql.query('SELECT id FROM audit.events ORDER BY seq')).rows.map((row) => row.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: events.length });
  });

  it('stores the rest of a batch when PostgreSQL refuses one event in it, and keeps that one for redelivery', async () => {
    const prefix = uniqueSubjectPrefix();
    const publisher = await connect(prefix, 'edge-spec');
    const app = await startWriter(await connect(prefix, 'audit-spec'));
    // Valid by the contract, but a text column cannot hold U+0000: the database refuses this row (SQLSTATE 22P05).
    const poisoned = auditEvent({ reason: 'before\u0000after' });
    const healthy = [auditEvent(), auditEvent(), auditEvent()];
    await publisher.publishAuditBatch({ id: randomUUID(), events: [healthy[0], poisoned, healthy[1]] });
    await publisher.publishAudit(healthy[2]);

    expect(await waitForRows(healthy.length)).toBe(healthy.length);
    const ids = (await sql.query('SELECT id FROM audit.events ORDER BY seq')).rows.map((row) => row.id);
    expect(ids.sort()).toEqual(healthy.map((e) => e.id).sort());
    const text = await app.get(MetricsRegistry).metrics();
    expect(text).toMatch(/^portcullis_audit_events_consumed_total\{[^}]*result="failed"[^}]*\} [1-9]\d*$/m);
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: healthy.length });
  });
});
