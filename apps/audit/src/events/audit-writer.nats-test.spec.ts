import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { auditEvent as baseAuditEvent, createTestDatabase, TestDatabase, uniqueSubjectPrefix, deleteJetStreamStreams } from '@portcullis/testing';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { AuditWriterHandler } from './audit-writer.handler';
import { ChainVerificationService } from './chain-verification.service';

jest.setTimeout(60_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

function auditEvent(): AuditEvent {
  return baseAuditEvent({ latencyMs: 4 });
}

async function eventually(probe: () => Promise<number>, expected: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

describe(`${AuditWriterHandler.name} over NATS JetStream`, () => {
  let database: TestDatabase;
  let edge: NatsBus;
  let app: NestFastifyApplication;
  let sql: Client;
  let auditStream: string;
  const errorLines: string[] = [];

  const rowCount = async () => Number((await sql.query('SELECT count(*) AS n FROM audit.events')).rows[0].n);

  beforeAll(async () => {
    const subjectPrefix = uniqueSubjectPrefix();
    database = await createTestDatabase('audit_nats');
    const bus = await NatsBus.connect({ servers: NATS_URL, name: 'audit-spec', subjectPrefix });
    auditStream = bus.auditStream;
    // The publisher is another connection, as the edge is another process.
    edge = await NatsBus.connect({ servers: NATS_URL, name: 'edge-spec', subjectPrefix });
    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'error', destination: { write: (line: string) => void errorLines.push(line) } }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await edge?.close();
    await deleteJetStreamStreams(NATS_URL, [auditStream]);
    await database?.drop();
  });

  it('stores events published by another process, each once, in a valid chain', async () => {
    const published = Array.from({ length: 5 }, auditEvent);
    for (const e of published) await edge.publishAudit(e);
    await edge.publishAudit(published[2]); // a retried publish
    expect(await eventually(rowCount, 5)).toBe(5);
    const { rows } = await sql.query('SELECT id FROM audit.events ORDER BY seq');
    expect(rows.map((r) => r.id)).toEqual(published.map((e) => e.id));
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: 5 });
  });

  it('acknowledges an event only once its row is committed, so a failed write is delivered again', async () => {
    const before = await rowCount();
    // The table is briefly unreachable: every write fails until it is back.
    await sql.query('ALTER TABLE audit.events RENAME TO events_away');
    const late = auditEvent();
    try {
      await edge.publishAudit(late);
      await new Promise((resolve) => setTimeout(resolve, 700));
    } finally {
      await sql.query('ALTER TABLE audit.events_away RENAME TO events');
    }
    expect(errorLines.join('')).toContain('it will be delivered again');
    expect(await eventually(rowCount, before + 1)).toBe(before + 1);
    expect((await sql.query('SELECT 1 FROM audit.events WHERE id = $1', [late.id])).rowCount).toBe(1);
    expect((await app.get(ChainVerificationService).verify()).ok).toBe(true);
  });
});
