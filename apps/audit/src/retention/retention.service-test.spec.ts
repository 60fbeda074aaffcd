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
import { ChainVerificationService } from '../events/chain-verification.service';
import { EventsService } from '../events/events.service';
import { AUDIT_WRITER_ROLE } from '../migrations/1763900000000-audit-writer-role.migration';
import { BrokenChainError, RetentionService } from './retention.service';

jest.setTimeout(60_000);

const FROZEN = new Date('2026-06-01T00:00:00.000Z');

function auditEvent(ts: string): AuditEvent {
  return baseAuditEvent({ ts, tool: 'search' });
}

async function startAudit(databaseUrl: string): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AuditModule.register({
      bus: new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() }),
      closeBusOnShutdown: true,
      logger: createLogger({ service: 'audit', level: 'silent' }),
      databaseUrl,
    }),
    new FastifyAdapter(),
    { logger: false },
  );
  await app.init();
  return app;
}

describe('audit storage', () => {
  let database: TestDatabase;
  let owner: NestFastifyApplication;
  let sql: Client;

  beforeEach(async () => {
    database = await createTestDatabase('audit_store');
    owner = await startAudit(database.url);
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
    let writer: NestFastifyApplication | undefined;
    let asWriter: Client;

    beforeEach(async () => {
      login = `pcl_audit_svc_${randomBytes(4).toString('hex')}`;
      await sql.query(`CREATE ROLE ${login} LOGIN IN ROLE ${AUDIT_WRITER_ROLE}`);
      const url = new URL(database.url);
      url.username = login;
      writer = await startAudit(url.toString());
      asWriter = new Client({ connectionString: url.toString() });
      await asWriter.connect();
    });

    afterEach(async () => {
      await asWriter?.end();
      await writer?.close();
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
    ])('stops a compromised service from rewriting history with %s', async (_what, statement) => {
      await writer!.get(EventsService).record(auditEvent('2026-01-01T00:00:00.000Z'));
      await expect(asWriter.query(statement)).rejects.toMatchObject({ code: '42501' });
    });

    it('stops a compromised service that sets the retention flag from deleting', async () => {
      await writer!.get(EventsService).record(auditEvent('2026-01-01T00:00:00.000Z'));
      await asWriter.query('BEGIN');
      await asWriter.query(`SET LOCAL portcullis.audit_retention = 'on'`);
      await expect(asWriter.query('DELETE FROM audit.events')).rejects.toMatchObject({ code: '42501' });
      await asWriter.query('ROLLBACK');
    });
  });

  describe(RetentionService.name, () => {
    const retention = () => new RetentionService(owner.get(DataSource), owner.get(EventsService), () => FROZEN);

    it('removes the old prefix of the chain, audits the removal, and verify still checks every remaining link', async () => {
      const events = owner.get(EventsService);
      for (const day of ['01', '02', '03']) await events.record(auditEvent(`2025-12-${day}T00:00:00.000Z`));
      for (const day of ['01', '02']) await events.record(auditEvent(`2026-01-${day}T00:00:00.000Z`));

      const result = await retention().purgeBefore(new Date('2026-01-01T00:00:00Z'), 'spec');
      expect(result).toMatchObject({ deleted: 3, throughSeq: 3 });
      const { rows } = await sql.query('SELECT seq, action, method, reason FROM audit.events ORDER BY seq');
      expect(rows.map((r) => Number(r.seq))).toEqual([4, 5, 6]);
      expect(rows[2]).toMatchObject({ action: 'admin.change', method: 'audit.retention' });
      expect(rows[2].reason).toContain('removed 3 events through seq 3');
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 3 });

      // A second run finds nothing older, and a later tamper is still caught.
      expect(await retention().purgeBefore(new Date('2026-01-01T00:00:00Z'), 'spec')).toEqual({ deleted: 0 });
      await sql.query('ALTER TABLE audit.events DISABLE TRIGGER USER');
      await sql.query(`UPDATE audit.events SET outcome = 'denied' WHERE seq = 5`);
      await sql.query('ALTER TABLE audit.events ENABLE TRIGGER USER');
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: false, checked: 2, firstBrokenSeq: 5 });
    });

    it('refuses to delete a prefix that was tampered with, keeping the evidence', async () => {
      const events = owner.get(EventsService);
      for (const day of ['01', '02']) await events.record(auditEvent(`2025-12-${day}T00:00:00.000Z`));
      await sql.query('ALTER TABLE audit.events DISABLE TRIGGER USER');
      await sql.query(`UPDATE audit.events SET tool = 'other' WHERE seq = 1`);
      await sql.query('ALTER TABLE audit.events ENABLE TRIGGER USER');
      await expect(retention().purgeBefore(new Date('2026-01-01T00:00:00Z'), 'spec')).rejects.toBeInstanceOf(BrokenChainError);
      expect((await sql.query('SELECT count(*)::int AS n FROM audit.events')).rows[0].n).toBe(2);
    });

    it('keeps refusing a plain DELETE outside retention, even by the owner', async () => {
      await owner.get(EventsService).record(auditEvent('2025-12-01T00:00:00.000Z'));
      await expect(sql.query('DELETE FROM audit.events')).rejects.toThrow(/append-only/);
    });

    it('runs as a command: node dist/apps/audit/retention.js --before <date>', async () => {
      const events = owner.get(EventsService);
      await events.record(auditEvent('2025-12-01T00:00:00.000Z'));
      await events.record(auditEvent('2026-02-01T00:00:00.000Z'));
      const script = join(__dirname, '../../../../dist/apps/audit/retention.js');
      const { stdout } = await promisify(execFile)(process.execPath, [script, '--before', '2026-01-01T00:00:00Z'], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, LOG_LEVEL: 'info' },
      });
      expect(stdout).toContain('audit retention removed old events');
      const { rows } = await sql.query('SELECT action FROM audit.events ORDER BY seq');
      expect(rows.map((r) => r.action)).toEqual(['tool.call', 'admin.change']);
      expect(await owner.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 2 });
    });
  });
});
