import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { auditEvent as baseAuditEvent, createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { DataSource } from 'typeorm';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { Clock } from '../clock';
import { ChainVerificationService } from '../events/chain-verification.service';
import { EventsService } from '../events/events.service';
import { EventPartitions } from '../partitions/event-partitions';
import { AUDIT_WRITER_ROLE } from '../migrations/1763900000000-audit-writer-role.migration';
import { BrokenChainError, RetentionService } from './retention.service';

jest.setTimeout(60_000);

/** The audit service's clock, moved by the test: `recorded_at` (hence the partition) follows it. */
class MovableClock extends Clock {
  constructor(private at: Date) {
    super();
  }
  set(iso: string): void {
    this.at = new Date(iso);
  }
  override now(): Date {
    return new Date(this.at);
  }
}

function auditEvent(ts: string): AuditEvent {
  return baseAuditEvent({ ts, tool: 'search' });
}

async function startAudit(databaseUrl: string, clock?: Clock): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AuditModule.register({
      bus: new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() }),
      closeBusOnShutdown: true,
      logger: createLogger({ service: 'audit', level: 'silent' }),
      databaseUrl,
      clock,
    }),
    new FastifyAdapter(),
    { logger: false },
  );
  await app.init();
  return app;
}

describe('audit storage', () => {
  let database: TestDatabase;
  let clock: MovableClock;
  let owner: NestFastifyApplication;
  let sql: Client;

  const partitionOf = async (id: string): Promise<string> =>
    (await sql.query(`SELECT tableoid::regclass::text AS p FROM audit.events WHERE id = $1`, [id])).rows[0].p;
  const partitionExists = async (name: string): Promise<boolean> => (await sql.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [`audit.${name}`])).rows[0].e;

  beforeEach(async () => {
    database = await createTestDatabase('audit_store');
    // The owner's service starts in September 2026: it creates September, October and November.
    clock = new MovableClock(new Date('2026-09-10T00:00:00.000Z'));
    owner = await startAudit(database.url, clock);
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterEach(async () => {
    await sql?.end();
    await owner?.close();
    await database?.drop();
  });

  describe(`the ${AUDIT_WRITER_ROLE} role`, () => {
    let login: string;
    let writerUrl: string;
    let writer: NestFastifyApplication | undefined;
    let asWriter: Client;

    beforeEach(async () => {
      login = `pcl_audit_svc_${randomBytes(4).toString('hex')}`;
      await sql.query(`CREATE ROLE ${login} LOGIN IN ROLE ${AUDIT_WRITER_ROLE}`);
      const url = new URL(database.url);
      url.username = login;
      writerUrl = url.toString();
      writer = await startAudit(writerUrl);
      asWriter = new Client({ connectionString: writerUrl });
      await asWriter.connect();
    });

    afterEach(async () => {
      await asWriter?.end();
      await writer?.close();
      await sql.query(`DROP OWNED BY ${login}`);
      await sql.query(`DROP ROLE IF EXISTS ${login}`);
    });

    it('runs the service: appends and verifies the chain', async () => {
      const events = writer!.get(EventsService);
      await events.record(auditEvent('2026-01-01T00:00:00.000Z'));
      await events.record(auditEvent('2026-01-02T00:00:00.000Z'));
      expect(await writer!.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 2 });
    });

    it.each([
      ['UPDATE', `UPDATE audit.events SET outcome = 'denied'`],
      ['DELETE', `DELETE FROM audit.events`],
      ['TRUNCATE', `TRUNCATE audit.events`],
      ['DISABLE TRIGGER', `ALTER TABLE audit.events DISABLE TRIGGER USER`],
      ['DETACH PARTITION', `ALTER TABLE audit.events DETACH PARTITION audit.events_default`],
      ['DROP of a partition', `DROP TABLE audit.events_default`],
      ['DELETE straight from a partition', `DELETE FROM audit.events_default`],
      ['DELETE of the de-duplication ids', `DELETE FROM audit.event_ids`],
    ])('stops a compromised service from rewriting history with %s (privilege error)', async (_what, statement) => {
      await writer!.get(EventsService).record(auditEvent('2026-01-01T00:00:00.000Z'));
      await expect(asWriter.query(statement)).rejects.toMatchObject({ code: '42501' });
    });

    it('starts without failing where its role may not create the coming months’ partitions', async () => {
      const later = await startAudit(writerUrl, new MovableClock(new Date('2031-06-01T00:00:00.000Z')));
      try {
        expect(await partitionExists('events_2031_06')).toBe(false);
        // The safety net: a month without a partition still stores its events (in the default partition).
        const event = auditEvent('2031-06-01T00:00:00.000Z');
        await later.get(EventsService).record(event);
        expect(await partitionOf(event.id)).toBe('audit.events_default');
      } finally {
        await later.close();
      }
    });
  });

  it('refuses a DELETE even by the owner, whatever it sets (there is no row-delete bypass any more)', async () => {
    await owner.get(EventsService).record(auditEvent('2025-12-01T00:00:00.000Z'));
    await sql.query('BEGIN');
    await sql.query(`SET LOCAL portcullis.audit_retention = 'on'`);
    await expect(sql.query('DELETE FROM audit.events')).rejects.toThrow(/append-only: DELETE refused/);
    await sql.query('ROLLBACK');
    await expect(sql.query('DELETE FROM audit.events_2026_09')).rejects.toThrow(/append-only: DELETE refused/);
    await expect(sql.query('TRUNCATE audit.events_2026_09')).rejects.toThrow(/append-only: TRUNCATE refused/);
  });

  it('files an event by when it was recorded, not by its producer’s old ts, and never before the newest row', async () => {
    const events = owner.get(EventsService);
    clock.set('2026-10-05T12:00:00.000Z');
    const spooledLate = auditEvent('2025-01-01T00:00:00.000Z');
    await events.record(spooledLate);
    expect(await partitionOf(spooledLate.id)).toBe('audit.events_2026_10');
    // A clock that steps back does not put a newer row into an older month.
    clock.set('2026-09-30T23:59:59.000Z');
    const afterStepBack = auditEvent('2026-09-30T23:59:59.000Z');
    await events.record(afterStepBack);
    expect(await partitionOf(afterStepBack.id)).toBe('audit.events_2026_10');
  });

  it('stores an event id once, and keeps the id in the de-duplication table', async () => {
    const events = owner.get(EventsService);
    const event = auditEvent('2026-09-10T00:00:00.000Z');
    expect(await events.record(event)).toMatchObject({ stored: true });
    clock.set('2026-10-10T00:00:00.000Z');
    expect(await events.record(event)).toEqual({ stored: false });
    expect((await sql.query('SELECT count(*)::int AS n FROM audit.events WHERE id = $1', [event.id])).rows[0].n).toBe(1);
    expect((await sql.query('SELECT seq FROM audit.event_ids WHERE id = $1', [event.id])).rows.map((r) => Number(r.seq))).toEqual([1]);
  });

  describe(RetentionService.name, () => {
    const retention = () => new RetentionService(owner.get(DataSource), owner.get(EventsService), owner.get(EventPartitions), () => clock.now());

    async function recordIn(isoTimes: string[]): Promise<AuditEvent[]> {
      const recorded: AuditEvent[] = [];
      for (const at of isoTimes) {
        clock.set(at);
        const event = auditEvent('2025-06-01T00:00:00.000Z');
        await owner.get(EventsService).record(event);
        recorded.push(event);
      }
      return recorded;
    }

    it('drops whole expired months as a prefix of the chain, audits the removal, and verify still checks every remaining link', async () => {
      const old = await recordIn(['2026-09-10T00:00:00.000Z', '2026-09-20T00:00:00.000Z', '2026-10-02T00:00:00.000Z', '2026-10-30T00:00:00.000Z']);
      await recordIn(['2026-11-03T00:00:00.000Z']);
      clock.set('2026-11-20T00:00:00.000Z');

      // 15 November: November is not over, so only September and October go.
      const result = await retention().purgeBefore(new Date('2026-11-15T00:00:00Z'), 'spec');
      expect(result).toMatchObject({
        droppedPartitions: ['events_2026_09', 'events_2026_10'],
        deleted: 4,
        throughSeq: 4,
        keptFrom: '2026-11-01T00:00:00.000Z',
        heldBack: [],
      });
      expect(await partitionExists('events_2026_09')).toBe(false);
      expect(await partitionExists('events_2026_10')).toBe(false);
      expect(await partitionExists('events_2026_11')).toBe(true);
      const { rows } = await sql.query('SELECT seq, action, method, reason FROM audit.events ORDER BY seq');
      expect(rows.map((r) => Number(r.seq))).toEqual([5, 6]);
      expect(rows[1]).toMatchObject({ action: 'admin.change', method: 'audit.retention' });
      expect(rows[1].reason).toContain('dropped partitions events_2026_09, events_2026_10, removing 4 events through seq 4');
      expect(rows[1].reason).toContain('whole months recorded before 2026-11-01T00:00:00.000Z');
      const ids = await sql.query('SELECT id FROM audit.event_ids WHERE id = ANY($1::uuid[])', [old.map((e) => e.id)]);
      expect(ids.rowCount).toBe(0);
      const checkpoint = await sql.query('SELECT deleted_through_seq, deleted_count FROM audit.retention_checkpoints');
      expect(checkpoint.rows).toEqual([{ deleted_through_seq: '4', deleted_count: '4' }]);
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 2 });

      // A second run finds nothing older, and a later tamper is still caught.
      expect(await retention().purgeBefore(new Date('2026-11-15T00:00:00Z'), 'spec')).toMatchObject({ droppedPartitions: [], deleted: 0 });
      await sql.query('ALTER TABLE audit.events DISABLE TRIGGER USER');
      await sql.query(`UPDATE audit.events SET outcome = 'denied' WHERE seq = 5`);
      await sql.query('ALTER TABLE audit.events ENABLE TRIGGER USER');
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: false, checked: 1, firstBrokenSeq: 5 });
    });

    it('chains a second retention onto the first checkpoint', async () => {
      await recordIn(['2026-09-10T00:00:00.000Z', '2026-10-10T00:00:00.000Z', '2026-11-10T00:00:00.000Z']);
      clock.set('2026-11-20T00:00:00.000Z');
      expect(await retention().purgeBefore(new Date('2026-10-01T00:00:00Z'), 'spec')).toMatchObject({ droppedPartitions: ['events_2026_09'], throughSeq: 1 });
      clock.set('2026-12-02T00:00:00.000Z');
      expect(await retention().purgeBefore(new Date('2026-12-01T00:00:00Z'), 'spec')).toMatchObject({
        droppedPartitions: ['events_2026_10', 'events_2026_11'],
        deleted: 3, // seq 2, 3 and the first run's own admin.change (seq 4)
        throughSeq: 4,
      });
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 1 });
    });

    it('refuses to drop a prefix that was tampered with, keeping the evidence', async () => {
      await recordIn(['2026-09-10T00:00:00.000Z', '2026-09-11T00:00:00.000Z', '2026-10-10T00:00:00.000Z']);
      await sql.query('ALTER TABLE audit.events DISABLE TRIGGER USER');
      await sql.query(`UPDATE audit.events SET tool = 'other' WHERE seq = 2`);
      await sql.query('ALTER TABLE audit.events ENABLE TRIGGER USER');
      clock.set('2026-11-20T00:00:00.000Z');
      await expect(retention().purgeBefore(new Date('2026-11-01T00:00:00Z'), 'spec')).rejects.toMatchObject({ constructor: BrokenChainError, firstBrokenSeq: 2 });
      expect((await sql.query('SELECT count(*)::int AS n FROM audit.events')).rows[0].n).toBe(3);
      expect(await partitionExists('events_2026_09')).toBe(true);
      expect((await sql.query('SELECT count(*)::int AS n FROM audit.retention_checkpoints')).rows[0].n).toBe(0);
    });

    it('keeps expired months when an older event sits in the default partition (dropping them would cut the chain)', async () => {
      // May 2026 never got a partition: its event lands in the default one, ahead of September's in the chain.
      const [stray] = await recordIn(['2026-05-15T00:00:00.000Z', '2026-09-15T00:00:00.000Z', '2026-10-15T00:00:00.000Z']);
      expect(await partitionOf(stray.id)).toBe('audit.events_default');
      clock.set('2026-11-20T00:00:00.000Z');
      const result = await retention().purgeBefore(new Date('2026-11-01T00:00:00Z'), 'spec');
      expect(result).toMatchObject({ droppedPartitions: [], deleted: 0, heldBack: ['events_2026_09', 'events_2026_10'] });
      expect(await partitionExists('events_2026_09')).toBe(true);
    });

    it('runs as a command: node dist/apps/audit/retention.js --before <date>, saying it drops whole months', async () => {
      await recordIn(['2026-09-10T00:00:00.000Z', '2026-10-10T00:00:00.000Z']);
      const script = join(__dirname, '../../../../dist/apps/audit/retention.js');
      const { stdout } = await promisify(execFile)(process.execPath, [script, '--before', '2026-11-01T00:00:00Z'], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, LOG_LEVEL: 'info' },
      });
      expect(stdout).toContain('audit retention dropped old partitions');
      expect(stdout).toContain('retention drops whole calendar months (UTC) only: every event recorded from 2026-11-01T00:00:00.000Z on is kept');
      const { rows } = await sql.query('SELECT action, method FROM audit.events ORDER BY seq');
      expect(rows).toEqual([{ action: 'admin.change', method: 'audit.retention' }]);
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 1 });
    });
  });
});
