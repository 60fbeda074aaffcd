import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger } from '@portcullis/telemetry';
import { auditEvent, createTestDatabase, deleteJetStreamStreams, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { AuditWriterHandler } from './audit-writer.handler';
import { ChainVerificationService } from './chain-verification.service';

jest.setTimeout(180_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const BACKLOG = 3000;

/**
 * How fast one writer drains a backlog: the events wait in JetStream while
 * the writer is stopped, then it starts and the clock runs until the last
 * row is committed. Prints the figure docs/audit.md quotes.
 */
describe(`${AuditWriterHandler.name} throughput`, () => {
  let database: TestDatabase;
  let publisher: NatsBus;
  let app: NestFastifyApplication | undefined;
  let sql: Client;
  let auditStream: string;

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await publisher?.close();
    await deleteJetStreamStreams(NATS_URL, [auditStream]);
    await database?.drop();
  });

  it(`stores a backlog of ${BACKLOG} events, each once, in a valid chain, and reports events/s`, async () => {
    const subjectPrefix = uniqueSubjectPrefix();
    database = await createTestDatabase('audit_throughput');
    publisher = await NatsBus.connect({ servers: NATS_URL, name: 'edge-spec', subjectPrefix });
    auditStream = publisher.auditStream;
    const events = Array.from({ length: BACKLOG }, () => auditEvent());
    for (let i = 0; i < events.length; i += 200) await Promise.all(events.slice(i, i + 200).map((e) => publisher.publishAudit(e)));

    const bus = await NatsBus.connect({ servers: NATS_URL, name: 'audit-spec', subjectPrefix });
    sql = new Client({ connectionString: database.url });
    await sql.connect();
    const started = performance.now();
    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'error' }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    const rows = async () => Number((await sql.query('SELECT count(*) AS n FROM audit.events')).rows[0].n);
    let firstRowAt: number | null = null;
    for (let n = await rows(); n < BACKLOG && performance.now() - started < 150_000; n = await rows()) {
      if (n > 0) firstRowAt ??= performance.now();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const finished = performance.now();
    // From the first committed row to the last, so the app's start does not count.
    const seconds = (finished - (firstRowAt ?? started)) / 1000;

    expect(await rows()).toBe(BACKLOG);
    expect(await app.get(ChainVerificationService).verify()).toEqual({ ok: true, checked: BACKLOG });
    // eslint-disable-next-line no-console
    console.log(`audit writer: ${BACKLOG} events in ${seconds.toFixed(2)} s = ${Math.round(BACKLOG / seconds)} events/s (start to last row ${((finished - started) / 1000).toFixed(2)} s)`);
  });
});
