import 'reflect-metadata';
import type { AuditEvent } from '@portcullis/contracts';
import { openSchemaDataSource } from '@portcullis/persistence';
import { createLogger } from '@portcullis/telemetry';
import { auditEvent, createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { AuditChain } from '../events/audit-chain';
import { AUDIT_SCHEMA, AuditEventEntity } from '../events/audit-event.entity';
import { ChainVerificationService } from '../events/chain-verification.service';
import { EventsService } from '../events/events.service';
import { CreateEvents1763800000000 } from './1763800000000-create-events.migration';
import { AUDIT_WRITER_ROLE, AuditWriterRole1763900000000 } from './1763900000000-audit-writer-role.migration';
import { auditMigrations } from '.';

jest.setTimeout(60_000);

describe('migration 1764000000000: audit.events partitioned by month', () => {
  let database: TestDatabase;
  let sql: Client;
  let app: NestFastifyApplication | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('audit_partition');
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await app?.close();
    await sql?.end();
    await database?.drop();
  });

  it('converts an existing trail: same seqs and hashes, monthly partitions by insertion order, ids de-duplicated, grants re-applied', async () => {
    // The trail as the unpartitioned schema kept it; the fourth event was spooled late (its ts is old).
    const before = await openSchemaDataSource({ url: database.url, schema: AUDIT_SCHEMA, entities: [AuditEventEntity], migrations: [CreateEvents1763800000000, AuditWriterRole1763900000000] });
    const events: AuditEvent[] = ['2026-08-10', '2026-08-20', '2026-09-02', '2026-07-01', '2026-10-05'].map((day) => auditEvent({ ts: `${day}T00:00:00.000Z` }));
    let prevHash = AuditChain.genesisHash;
    for (const event of events) {
      const hash = AuditChain.hash(prevHash, event);
      await before.query(
        `INSERT INTO audit.events (id, ts, trace_id, principal_id, principal_kind, action, method, server, tool, credential_kind, credential_id, outcome, reason, latency_ms, prev_hash, hash)
         VALUES ($1, $2, NULL, $3, 'user', $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12, $13)`,
        [event.id, event.ts, event.principal!.id, event.action, event.method, event.server, event.tool, event.credentialKind, event.credentialId, event.outcome, event.latencyMs, prevHash, hash],
      );
      prevHash = hash;
    }
    const oldRows = (await sql.query('SELECT seq, id, hash FROM audit.events ORDER BY seq')).rows;
    await before.destroy();

    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus: new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() }), closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'silent' }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();

    expect((await sql.query('SELECT seq, id, hash FROM audit.events ORDER BY seq')).rows).toEqual(oldRows);
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 5 });
    const placed = await sql.query(`SELECT seq, tableoid::regclass::text AS p FROM audit.events ORDER BY seq`);
    // The late event follows its predecessors (recorded_at is the running maximum of ts): each month is one run of seqs.
    expect(placed.rows.map((r) => r.p)).toEqual(['audit.events_2026_08', 'audit.events_2026_08', 'audit.events_2026_09', 'audit.events_2026_09', 'audit.events_2026_10']);
    expect((await sql.query('SELECT id, seq FROM audit.event_ids ORDER BY seq')).rows.map((r) => [r.id, Number(r.seq)])).toEqual(oldRows.map((r) => [r.id, Number(r.seq)]));

    // Appends go on: the next seq, chained to the last converted row; a converted id is still a duplicate.
    const next = auditEvent();
    expect(await app.get(EventsService).record(next)).toEqual({ stored: true, seq: 6 });
    expect(await app.get(EventsService).record({ ...events[0] })).toEqual({ stored: false });
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 6 });

    const privileges = await sql.query(
      `SELECT has_table_privilege($1, 'audit.events', 'INSERT') AS events_insert, has_table_privilege($1, 'audit.events', 'DELETE') AS events_delete,
              has_table_privilege($1, 'audit.events', 'UPDATE') AS events_update, has_table_privilege($1, 'audit.events', 'TRUNCATE') AS events_truncate,
              has_table_privilege($1, 'audit.event_ids', 'INSERT') AS ids_insert, has_table_privilege($1, 'audit.event_ids', 'DELETE') AS ids_delete,
              has_table_privilege($1, 'audit.events_default', 'SELECT') AS partition_select`,
      [AUDIT_WRITER_ROLE],
    );
    expect(privileges.rows[0]).toEqual({
      events_insert: true,
      events_delete: false,
      events_update: false,
      events_truncate: false,
      ids_insert: true,
      ids_delete: false,
      partition_select: false,
    });
  });

  it('reverts to the unpartitioned table with every row (down)', async () => {
    await app?.close();
    app = undefined;
    const migrated = await openSchemaDataSource({ url: database.url, schema: AUDIT_SCHEMA, entities: [AuditEventEntity], migrations: auditMigrations });
    try {
      const rows = (await sql.query('SELECT seq, id, hash FROM audit.events ORDER BY seq')).rows;
      await migrated.undoLastMigration({ transaction: 'each' });
      expect((await sql.query(`SELECT relkind FROM pg_class WHERE oid = 'audit.events'::regclass`)).rows[0].relkind).toBe('r');
      expect((await sql.query('SELECT seq, id, hash FROM audit.events ORDER BY seq')).rows).toEqual(rows);
      expect((await sql.query(`SELECT to_regclass('audit.event_ids') IS NULL AS gone`)).rows[0].gone).toBe(true);
      await expect(sql.query('DELETE FROM audit.events')).rejects.toThrow(/append-only/);
    } finally {
      await migrated.destroy();
    }
  });
});
