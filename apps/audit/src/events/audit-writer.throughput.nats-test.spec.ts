import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Bus, InProcessBus, NatsBus } from '@portcullis/bus';
import { createLogger } from '@portcullis/telemetry';
import { auditEvent, createTestDatabase, deleteJetStreamStreams, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { AuditWriterHandler } from './audit-writer.handler';
import { ChainVerificationService } from './chain-verification.service';

jest.setTimeout(180_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const BACKLOG = 3000;

interface Transport {
  name: string;
  /** The publishing end and the writer's end (one bus in process; two connections over NATS). */
  open(): Promise<{ publisher: Bus; writer: Bus; dispose: () => Promise<void> }>;
}

const transports: Transport[] = [
  {
    name: 'NATS JetStream (distributed)',
    open: async () => {
      const subjectPrefix = uniqueSubjectPrefix();
      const publisher = await NatsBus.connect({ servers: NATS_URL, name: 'edge-spec', subjectPrefix });
      const writer = await NatsBus.connect({ servers: NATS_URL, name: 'audit-spec', subjectPrefix });
      return {
        publisher,
        writer,
        dispose: async () => {
          await publisher.close();
          await deleteJetStreamStreams(NATS_URL, [publisher.auditStream]);
        },
      };
    },
  },
  {
    name: 'in-process bus (all-in-one)',
    open: async () => {
      const bus = new InProcessBus();
      return { publisher: bus, writer: bus, dispose: async () => undefined };
    },
  },
];

/**
 * How fast one writer drains a backlog: the events wait on the bus while
 * the writer is stopped, then it starts and the clock runs from its first
 * committed row to its last. Prints the figure docs/audit.md quotes.
 */
describe.each(transports)(`${AuditWriterHandler.name} throughput over $name`, (transport) => {
  let database: TestDatabase;
  let app: NestFastifyApplication | undefined;
  let sql: Client;
  let dispose: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await dispose?.();
    await database?.drop();
  });

  it(`stores a backlog of ${BACKLOG} events, each once, in a valid chain, and reports events/s`, async () => {
    database = await createTestDatabase('audit_throughput');
    const ends = await transport.open();
    dispose = ends.dispose;
    const events = Array.from({ length: BACKLOG }, () => auditEvent());
    for (let i = 0; i < events.length; i += 200) await Promise.all(events.slice(i, i + 200).map((e) => ends.publisher.publishAudit(e)));

    sql = new Client({ connectionString: database.url });
    await sql.connect();
    const started = performance.now();
    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus: ends.writer, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'error' }), databaseUrl: database.url }),
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
    console.log(
      `audit writer over ${transport.name}: ${BACKLOG} events in ${seconds.toFixed(2)} s = ${Math.round(BACKLOG / seconds)} events/s (start to last row ${((finished - started) / 1000).toFixed(2)} s)`,
    );
  });
});
