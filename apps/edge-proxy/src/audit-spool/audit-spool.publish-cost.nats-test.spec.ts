import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsBus } from '@portcullis/bus';
import { createLogger, MetricsRegistry } from '@portcullis/telemetry';
import { auditEvent, deleteJetStreamStreams, uniqueSubjectPrefix } from '@portcullis/testing';
import { AuditSpool } from './audit-spool.service';

jest.setTimeout(120_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const EVENTS = 4000;
const WARM_UP = 500;

/**
 * The edge's CPU per audit event, from `AuditSpool.publish` to the stream's
 * acknowledgement, against a real NATS server: under load (calls in flight
 * together, as the edge sees them) and one at a time. Prints the figures
 * docs/audit.md quotes; asserts every event reached the stream.
 */
describe(`${AuditSpool.name} publish cost`, () => {
  let bus: NatsBus;
  let spool: AuditSpool;
  let directory: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'audit-publish-cost-'));
    bus = await NatsBus.connect({ servers: NATS_URL, name: 'edge-spec', subjectPrefix: uniqueSubjectPrefix() });
    // A short linger: each lone event waits it out (wall time, not CPU), and 1,500 of them go one at a time.
    spool = new AuditSpool(bus, { auditSpoolDir: directory, auditBatchLingerMs: 20 } as never, createLogger({ service: 'edge-proxy', level: 'error' }), new MetricsRegistry());
    spool.onApplicationBootstrap();
  });

  afterAll(async () => {
    await spool?.onApplicationShutdown();
    await bus?.close();
    await deleteJetStreamStreams(NATS_URL, [bus.auditStream]);
    rmSync(directory, { recursive: true, force: true });
  });

  async function cpuMicrosPerEvent(count: number, inFlight: number): Promise<number> {
    const events = Array.from({ length: count }, () => auditEvent());
    const before = process.cpuUsage();
    for (let i = 0; i < count; i += inFlight) {
      const outcomes = await Promise.all(events.slice(i, i + inFlight).map((event) => spool.publish(event)));
      expect(outcomes.every((outcome) => outcome === 'published')).toBe(true);
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  }

  it('reports the CPU each published event costs the edge', async () => {
    // Each shape warmed up on its own first, so both measure code the JIT has optimized.
    await cpuMicrosPerEvent(WARM_UP, 1);
    const oneAtATime = await cpuMicrosPerEvent(EVENTS / 4, 1);
    await cpuMicrosPerEvent(WARM_UP, 50);
    const underLoad = await cpuMicrosPerEvent(EVENTS, 50);
    // eslint-disable-next-line no-console
    console.log(`edge audit publish: ${underLoad.toFixed(0)} µs CPU per event with 50 in flight, ${oneAtATime.toFixed(0)} µs one at a time`);
    expect(spool.spooled()).toBe(0);
    expect(await bus.auditBacklog()).toBeNull(); // no consumer: the stream only stores
  });
});
