import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { auditEvent as baseAuditEvent, createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { ChainVerificationService } from './chain-verification.service';
import { EventsService } from './events.service';

jest.setTimeout(60_000);

function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return baseAuditEvent({ ts: '2026-01-01T12:00:00.000Z', principal: { id: 'user-1', kind: 'user', email: 'ada@example.com' }, latencyMs: 12.25, ...overrides });
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe(EventsService.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let app: NestFastifyApplication;
  let sql: Client;
  let events: EventsService;
  let verification: ChainVerificationService;

  const rowCount = async () => Number((await sql.query('SELECT count(*) AS n FROM audit.events')).rows[0].n);

  beforeAll(async () => {
    database = await createTestDatabase('audit_events');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'silent' }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    sql = new Client({ connectionString: database.url });
    await sql.connect();
    events = app.get(EventsService);
    verification = app.get(ChainVerificationService);
  });

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await database?.drop();
  });

  describe('record (through the audit stream)', () => {
    it('stores every published event once, in a chain that verifies', async () => {
      const before = await rowCount();
      const published = Array.from({ length: 25 }, (_, i) => auditEvent({ tool: `tool_${i}`, latencyMs: i + 0.1 }));
      for (const e of published) await bus.publishAudit(e);
      expect(await eventually(rowCount, (n) => n === before + published.length)).toBe(before + published.length);
      expect(bus.pendingAuditCount()).toBe(0);

      const { rows } = await sql.query('SELECT seq, id, prev_hash, hash FROM audit.events ORDER BY seq');
      expect(rows[0].prev_hash).toBe('0'.repeat(64));
      for (let i = 1; i < rows.length; i += 1) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
      expect(rows.slice(-published.length).map((r) => r.id)).toEqual(published.map((e) => e.id));
      expect(await verification.verify()).toEqual({ ok: true, checked: rows.length });
    });

    it('keeps the stored event exactly as published, so its hash can be recomputed', async () => {
      const published = auditEvent({
        principal: { id: 'user-2', kind: 'user' },
        actor: { id: 'va-1', kind: 'virtual_account', email: 'bot@example.com' },
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        reason: 'policy "deny-all" matched',
        outcome: 'denied',
        latencyMs: 0.1 + 0.2,
      });
      await events.record(published);
      const page = await events.list({ limit: 1 });
      const { seq, prevHash, hash, ...stored } = page.items[0];
      expect(stored).toEqual(published);
      expect(Object.keys(stored.principal!)).toEqual(['id', 'kind']);
      expect(seq).toBeGreaterThan(0);
      expect(prevHash).toMatch(/^[0-9a-f]{64}$/);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('stores an event published twice only once and does not chain it twice', async () => {
      const duplicate = auditEvent();
      await bus.publishAudit(duplicate);
      await bus.publishAudit(duplicate);
      await eventually(async () => (await sql.query('SELECT 1 FROM audit.events WHERE id = $1', [duplicate.id])).rowCount, (n) => n === 1);
      // A redelivery that reaches the writer (e.g. after a crash before the ack) is acknowledged, not stored.
      const before = await rowCount();
      await expect(events.record(duplicate)).resolves.toEqual({ stored: false });
      expect(await rowCount()).toBe(before);
      expect((await sql.query('SELECT count(*) AS n FROM audit.events WHERE id = $1', [duplicate.id])).rows[0].n).toBe('1');
      // The partitioned table cannot hold UNIQUE (id); the de-duplication table does, pointing at the one stored row.
      const claimed = await sql.query('SELECT i.seq = e.seq AS same FROM audit.event_ids i JOIN audit.events e ON e.id = i.id WHERE i.id = $1', [duplicate.id]);
      expect(claimed.rows).toEqual([{ same: true }]);
      expect((await verification.verify()).ok).toBe(true);
    });

    it('serializes concurrent writers into one unbroken chain', async () => {
      const before = await rowCount();
      const results = await Promise.all(Array.from({ length: 30 }, () => events.record(auditEvent())));
      expect(results.every((r) => r.stored)).toBe(true);
      expect(await rowCount()).toBe(before + 30);
      expect(await verification.verify()).toEqual({ ok: true, checked: before + 30 });
      // Reading the chain in small slices gives the same answer as one pass.
      expect(await verification.verify(7)).toEqual({ ok: true, checked: before + 30 });
    });

    it('normalizes the timestamp to UTC milliseconds, the precision the column keeps', async () => {
      const published = auditEvent({ ts: '2026-03-04T05:06:07.891234Z' });
      await events.record(published);
      const page = await events.list({ limit: 1 });
      expect(page.items[0].ts).toBe('2026-03-04T05:06:07.891Z');
      expect((await verification.verify()).ok).toBe(true);
    });
  });

  describe('append-only table', () => {
    it('refuses an UPDATE that rewrites history', async () => {
      await expect(sql.query(`UPDATE audit.events SET outcome = 'success' WHERE seq = (SELECT min(seq) FROM audit.events)`)).rejects.toThrow(
        /append-only: UPDATE refused/,
      );
    });

    it('refuses a DELETE that hides an event', async () => {
      await expect(sql.query('DELETE FROM audit.events WHERE seq = (SELECT max(seq) FROM audit.events)')).rejects.toThrow(/append-only: DELETE refused/);
    });

    it('refuses a TRUNCATE that wipes the log', async () => {
      await expect(sql.query('TRUNCATE audit.events')).rejects.toThrow(/append-only: TRUNCATE refused/);
    });
  });

  describe(ChainVerificationService.name, () => {
    it('names the first row altered behind the trigger’s back', async () => {
      for (let i = 0; i < 3; i += 1) await events.record(auditEvent());
      const { rows } = await sql.query('SELECT seq FROM audit.events ORDER BY seq DESC LIMIT 2');
      const tampered = Number(rows[1].seq);
      // Only a superuser or the table owner can do this: it takes switching the trigger off.
      await sql.query('ALTER TABLE audit.events DISABLE TRIGGER events_append_only_rows');
      await sql.query(`UPDATE audit.events SET principal_id = 'someone-else' WHERE seq = $1`, [tampered]);
      await sql.query('ALTER TABLE audit.events ENABLE TRIGGER events_append_only_rows');

      const total = await rowCount();
      const verdict = await verification.verify();
      expect(verdict).toEqual({ ok: false, checked: total - 1, firstBrokenSeq: tampered });
      expect(await verification.verify(4)).toEqual(verdict);
    });
  });
});
