import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@portcullis/contracts';
import { auditEvent as baseAuditEvent } from '@portcullis/testing';
import { checkAuditEvent } from './bus';
import { BusError } from './bus.errors';
import { InProcessBus } from './in-process.bus';
import { busAuditSink, SpoolingAuditPublisher } from './spooling-audit-publisher';

function auditEvent(n: number): AuditEvent {
  return baseAuditEvent({ tool: `tool-${n}`, latencyMs: n });
}

/** A bus that can be taken down and brought back, and records what it acknowledged. */
class FlakyBus {
  up = true;
  readonly acknowledged: AuditEvent[] = [];

  sendAudit(event: AuditEvent, _json: string, settled: (error?: unknown) => void): void {
    try {
      checkAuditEvent(event);
    } catch (error) {
      return settled(error);
    }
    queueMicrotask(() => {
      if (!this.up) return settled(new BusError('UNAVAILABLE', 'the bus is down'));
      this.acknowledged.push(event);
      settled();
    });
  }
}

describe(SpoolingAuditPublisher.name, () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'portcullis-spool-spec-'));
  });

  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const spoolFiles = () => readdirSync(directory).filter((name) => !name.startsWith('journal-'));

  describe('publish', () => {
    it('publishes straight to the bus while it is up, spooling nothing', async () => {
      const bus = new FlakyBus();
      const publisher = new SpoolingAuditPublisher(bus, { directory });
      await expect(publisher.publish(auditEvent(1))).resolves.toBe('published');
      expect(publisher.spooled()).toBe(0);
      expect(spoolFiles()).toEqual([]);
      await publisher.stop();
      expect(readdirSync(directory)).toEqual([]); // the journal too, every event in it settled
    });

    it('spools events the bus refuses and replays them in order once it is back', async () => {
      const bus = new FlakyBus();
      const publisher = new SpoolingAuditPublisher(bus, { directory });
      const events = Array.from({ length: 10 }, (_, n) => auditEvent(n));
      await publisher.publish(events[0]);
      bus.up = false;
      for (const event of events.slice(1, 6)) await expect(publisher.publish(event)).resolves.toBe('spooled');
      bus.up = true;
      // Spooled events are not overtaken: later events queue behind them.
      for (const event of events.slice(6)) await expect(publisher.publish(event)).resolves.toBe('spooled');
      expect(publisher.spooled()).toBe(9);
      await publisher.replay();
      expect(publisher.spooled()).toBe(0);
      expect(bus.acknowledged.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(spoolFiles()).toEqual([]);
      await publisher.stop();
      expect(readdirSync(directory)).toEqual([]);
    });

    it('keeps the spool when a replay fails part way, and completes it on a later replay', async () => {
      const bus = new FlakyBus();
      const publisher = new SpoolingAuditPublisher(bus, { directory });
      bus.up = false;
      const events = Array.from({ length: 5 }, (_, n) => auditEvent(n));
      for (const event of events) await publisher.publish(event);
      await publisher.replay();
      expect(publisher.spooled()).toBe(5);
      bus.up = true;
      await publisher.replay();
      expect(publisher.spooled()).toBe(0);
      expect(bus.acknowledged.map((e) => e.id)).toEqual(events.map((e) => e.id));
      await publisher.stop();
    });

    it('rejects an event that breaks the schema instead of spooling it forever, while the bus is up or down', async () => {
      const bus = new FlakyBus();
      const dropped: string[] = [];
      const publisher = new SpoolingAuditPublisher(bus, { directory, onError: (what) => dropped.push(what) });
      const bad = { ...auditEvent(1), token: 'pcl_secret' } as unknown as AuditEvent;
      await expect(publisher.publish(bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      bus.up = false;
      await expect(publisher.publish(auditEvent(2))).resolves.toBe('spooled');
      await expect(publisher.publish(bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect(dropped).toEqual(['dropped_invalid', 'spooled', 'dropped_invalid']);
      expect(publisher.spooled()).toBe(1);
      await publisher.stop();
    });

    it('tells a caller of record() of an event it could neither publish nor spool, and of no other', async () => {
      const bus = new FlakyBus();
      const lost: unknown[] = [];
      const publisher = new SpoolingAuditPublisher(bus, { directory });
      publisher.record(auditEvent(1), (error) => lost.push(error));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(bus.acknowledged).toHaveLength(1);
      bus.up = false;
      rmSync(directory, { recursive: true, force: true }); // the spool's disk is gone too
      publisher.record(auditEvent(2), (error) => lost.push(error));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(bus.acknowledged).toHaveLength(1);
      expect(lost).toEqual([expect.objectContaining({ code: 'ENOENT' })]);
      await publisher.stop();
    });

    it('journals the schema\'s fields only: a field an event should not have never reaches the disk', async () => {
      // The sink validates later (as the edge's batcher does, a batch at a time) and has not answered yet.
      const waiting = { sendAudit: () => undefined };
      const publisher = new SpoolingAuditPublisher(waiting, { directory });
      const event = auditEvent(1);
      void publisher.publish({ ...event, token: 'pcl_secret' } as unknown as AuditEvent);
      const [journal] = readdirSync(directory).filter((name) => name.startsWith('journal-'));
      const line = readFileSync(join(directory, journal), 'utf8');
      expect(line).not.toContain('pcl_secret');
      expect(JSON.parse(line)).toEqual(event);
    });
  });

  describe('journal', () => {
    it('keeps the events a killed process held unacknowledged, and the next process on the folder replays them', async () => {
      // The bus took the events but never acknowledged them: a process that dies now has them only in memory and journal.
      const hanging = { sendAudit: () => undefined };
      const killed = new SpoolingAuditPublisher(hanging, { directory });
      const held = Array.from({ length: 3 }, (_, n) => auditEvent(n));
      for (const event of held) void killed.publish(event);
      expect(readdirSync(directory).filter((name) => name.startsWith('journal-'))).toHaveLength(1);

      const bus = new FlakyBus();
      const next = new SpoolingAuditPublisher(bus, { directory }); // `killed` never stopped: as after SIGKILL
      expect(next.spooled()).toBe(3);
      const later = auditEvent(9);
      await expect(next.publish(later)).resolves.toBe('spooled'); // behind the recovered ones, not ahead of them
      await next.replay();
      expect(bus.acknowledged.map((e) => e.id)).toEqual([...held, later].map((e) => e.id));
      await next.stop();
      expect(readdirSync(directory)).toEqual([]);
    });

    it('lets go of each event once the bus acknowledged it, across journal files', async () => {
      const bus = new FlakyBus();
      const publisher = new SpoolingAuditPublisher(bus, { directory });
      await Promise.all(Array.from({ length: 2500 }, (_, n) => publisher.publish(auditEvent(n))));
      expect(bus.acknowledged).toHaveLength(2500);
      // 1,000 events a file: the two full ones are gone, the third still takes events.
      expect(readdirSync(directory)).toEqual(['journal-0000000000000002.ndjson']);
      await publisher.stop();
      expect(readdirSync(directory)).toEqual([]);
    });
  });

  describe('start', () => {
    it('replays what a previous process left on disk, skipping a line torn by a crash', async () => {
      const bus = new FlakyBus();
      bus.up = false;
      const first = new SpoolingAuditPublisher(bus, { directory });
      const events = Array.from({ length: 3 }, (_, n) => auditEvent(n));
      for (const event of events) await first.publish(event);
      await first.stop();
      appendFileSync(join(directory, 'active.ndjson'), '{"id":"torn');

      bus.up = true;
      const errors: string[] = [];
      const second = new SpoolingAuditPublisher(bus, { directory, replayIntervalMs: 20, onError: (what) => errors.push(what) });
      expect(second.spooled()).toBe(4);
      second.start();
      const deadline = Date.now() + 5000;
      while (second.spooled() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(bus.acknowledged.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(errors).toEqual(['dropped_invalid']);
      await second.stop();
    });

    it('spools when the in-process bus is closed, and replays onto a new bus', async () => {
      const closed = new InProcessBus();
      await closed.close();
      const publisher = new SpoolingAuditPublisher(busAuditSink(closed), { directory });
      const event = auditEvent(1);
      await expect(publisher.publish(event)).resolves.toBe('spooled');
      await publisher.stop();

      const bus = new InProcessBus();
      const received: string[] = [];
      await bus.consumeAudit(async (e) => void received.push(e.id));
      const next = new SpoolingAuditPublisher(busAuditSink(bus), { directory });
      await next.replay();
      await new Promise((r) => setTimeout(r, 20));
      expect(received).toEqual([event.id]);
      await next.stop();
    });
  });
});
