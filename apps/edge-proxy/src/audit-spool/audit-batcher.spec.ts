import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAuditEvent, Headers, InProcessBus, sentTo, SpoolingAuditPublisher } from '@portcullis/bus';
import { AUDIT_BATCH_MAX_EVENTS, AuditEvent } from '@portcullis/contracts';
import { auditEvent } from '@portcullis/testing';
import { AUDIT_BATCH_LINGER_MS, AuditBatcher } from './audit-batcher';

/** The in-process bus, counting the stream messages appended and able to hold their acknowledgement back. */
class MessageCountingBus extends InProcessBus {
  readonly messages: number[] = [];
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  holdAcknowledgements(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  releaseAcknowledgements(): void {
    this.open?.();
    this.gate = null;
  }

  protected override async appendAudit(subject: string, data: string, messageId: string, headers: Headers): Promise<void> {
    const parsed = JSON.parse(data) as { events?: unknown[] };
    this.messages.push(parsed.events?.length ?? 1);
    await this.gate;
    return super.appendAudit(subject, data, messageId, headers);
  }
}

describe(AuditBatcher.name, () => {
  let bus: MessageCountingBus;
  let received: AuditEvent[];

  beforeEach(async () => {
    bus = new MessageCountingBus();
    received = [];
    await bus.consumeAudit(async (event) => void received.push(event));
  });

  afterEach(async () => {
    await bus.close();
  });

  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  describe('sendAudit', () => {
    it('sends events recorded together as one stream message, and acknowledges each', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      const events = Array.from({ length: 30 }, () => auditEvent());
      await Promise.all(events.map((event) => sentTo(batcher, event)));
      expect(bus.messages).toEqual([30]);
      await settle();
      expect(received.map((e) => e.id)).toEqual(events.map((e) => e.id));
    });

    it(`by default waits ${AUDIT_BATCH_LINGER_MS} ms after the first event, so events recorded a few ms apart share one message`, async () => {
      const batcher = new AuditBatcher(bus);
      const started = performance.now();
      const published: Promise<void>[] = [];
      for (let n = 0; n < 4; n++) {
        published.push(sentTo(batcher, auditEvent()));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(bus.messages).toEqual([]); // nothing sent before the first event's wait is over
      await Promise.all(published);
      expect(bus.messages).toEqual([4]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(AUDIT_BATCH_LINGER_MS - 1);
    });

    it('holds events gathered while a batch is in flight for their own linger, not just until the acknowledgement', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 80 });
      bus.holdAcknowledgements();
      const first = sentTo(batcher, auditEvent());
      await new Promise((resolve) => setTimeout(resolve, 100)); // the first event's linger is over: it is in flight
      expect(bus.messages).toEqual([1]);
      const later = [sentTo(batcher, auditEvent())];
      bus.releaseAcknowledgements();
      await first;
      later.push(sentTo(batcher, auditEvent()));
      await settle();
      expect(bus.messages).toEqual([1]); // acknowledged, but the next event's 80 ms are not up
      await Promise.all(later);
      expect(bus.messages).toEqual([1, 2]);
    });

    it('sends a full batch without waiting for the linger to end', async () => {
      const batcher = new AuditBatcher(bus, { maxEvents: 5, lingerMs: 60_000 });
      await Promise.all(Array.from({ length: 5 }, () => sentTo(batcher, auditEvent())));
      expect(bus.messages).toEqual([5]);
    });

    it('with no linger, sends a lone event at once, as a plain event message', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      await sentTo(batcher, auditEvent());
      await sentTo(batcher, auditEvent());
      expect(bus.messages).toEqual([1, 1]);
    });

    it('gathers the events recorded while a message awaits its acknowledgement into the next one', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      bus.holdAcknowledgements();
      const first = sentTo(batcher, auditEvent());
      await settle();
      const later = Array.from({ length: 12 }, () => sentTo(batcher, auditEvent()));
      await settle();
      expect(bus.messages).toEqual([1]); // the twelve wait for the first acknowledgement
      bus.releaseAcknowledgements();
      await Promise.all([first, ...later]);
      expect(bus.messages).toEqual([1, 12]);
    });

    it('validates a batch when it goes: an event that breaks the schema is rejected alone, the others are stored', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      const good = [auditEvent(), auditEvent()];
      const bad = { ...auditEvent(), latencyMs: -1 };
      const outcomes = await Promise.allSettled([sentTo(batcher, good[0]), sentTo(batcher, bad), sentTo(batcher, good[1])]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_REQUEST' });
      expect(bus.messages).toEqual([2]);
      await settle();
      expect(received.map((e) => e.id)).toEqual(good.map((e) => e.id));
    });

    it(`never puts more than ${AUDIT_BATCH_MAX_EVENTS} events in one message`, async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      await Promise.all(Array.from({ length: 2 * AUDIT_BATCH_MAX_EVENTS + 7 }, () => sentTo(batcher, auditEvent())));
      expect(bus.messages).toEqual([AUDIT_BATCH_MAX_EVENTS, AUDIT_BATCH_MAX_EVENTS, 7]);
    });

    it('rejects every event of a message the bus did not take, so the spool keeps each on disk', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'audit-batcher-'));
      try {
        const publisher = new SpoolingAuditPublisher(new AuditBatcher(bus, { lingerMs: 0 }), { directory });
        await bus.close(); // the transport is gone
        const outcomes = await Promise.all(Array.from({ length: 5 }, () => publisher.publish(auditEvent())));
        expect(outcomes).toEqual(Array(5).fill('spooled'));
        expect(publisher.spooled()).toBe(5);
        await publisher.stop();
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  });

  describe('replaying a spool', () => {
    it('sends the spooled events a batch at a time, in order, not each after a linger of its own', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'audit-batcher-replay-'));
      try {
        // What an edge left behind: 250 events spooled while the bus did not take them.
        const spooled = Array.from({ length: 2 * AUDIT_BATCH_MAX_EVENTS + 50 }, () => checkAuditEvent(auditEvent()));
        writeFileSync(join(directory, 'active.ndjson'), spooled.map((event) => `${JSON.stringify(event)}\n`).join(''), { mode: 0o600 });
        const publisher = new SpoolingAuditPublisher(new AuditBatcher(bus), { directory });
        expect(publisher.spooled()).toBe(spooled.length);
        await publisher.replay();
        expect(publisher.spooled()).toBe(0);
        // One linger at most for the whole file (the last, partial batch), where one per event would take 25 s.
        expect(bus.messages).toEqual([AUDIT_BATCH_MAX_EVENTS, AUDIT_BATCH_MAX_EVENTS, 50]);
        await settle();
        expect(received.map((event) => event.id)).toEqual(spooled.map((event) => event.id));
        await publisher.stop();
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  });

  describe('flush', () => {
    it('resolves only once the events waiting and in flight are acknowledged (a SIGTERM loses nothing)', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      bus.holdAcknowledgements();
      const published = Array.from({ length: 3 }, () => sentTo(batcher, auditEvent()));
      await settle();
      published.push(sentTo(batcher, auditEvent()));
      let flushed = false;
      const flushing = batcher.flush().then(() => (flushed = true));
      await settle();
      expect(flushed).toBe(false);
      expect(batcher.pending).toBeGreaterThan(0);
      bus.releaseAcknowledgements();
      await flushing;
      expect(batcher.pending).toBe(0);
      await Promise.all(published);
      await settle();
      expect(received).toHaveLength(4);
    });
  });

  describe('with a closing bus', () => {
    it('has the message in flight and the events gathered behind it acknowledged before the bus closes', async () => {
      const batcher = new AuditBatcher(bus, { lingerMs: 0 });
      bus.holdAcknowledgements();
      const published = [sentTo(batcher, auditEvent())];
      await settle();
      for (let n = 0; n < 5; n++) published.push(sentTo(batcher, auditEvent()));
      const closing = bus.close(); // SIGTERM: the process drains its bus after the last request finished
      await settle();
      bus.releaseAcknowledgements();
      await closing;
      await expect(Promise.all(published)).resolves.toHaveLength(6);
      expect(bus.messages).toEqual([1, 5]);
    });
  });
});
