import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Headers, InProcessBus, SpoolingAuditPublisher } from '@portcullis/bus';
import { AUDIT_BATCH_MAX_EVENTS, AuditEvent } from '@portcullis/contracts';
import { auditEvent } from '@portcullis/testing';
import { AuditBatcher } from './audit-batcher';

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

  describe('publishAudit', () => {
    it('sends events recorded together as one stream message, and acknowledges each', async () => {
      const batcher = new AuditBatcher(bus);
      const events = Array.from({ length: 30 }, () => auditEvent());
      await Promise.all(events.map((event) => batcher.publishAudit(event)));
      expect(bus.messages).toEqual([30]);
      await settle();
      expect(received.map((e) => e.id)).toEqual(events.map((e) => e.id));
    });

    it('sends a lone event at once, as a plain event message', async () => {
      const batcher = new AuditBatcher(bus);
      await batcher.publishAudit(auditEvent());
      await batcher.publishAudit(auditEvent());
      expect(bus.messages).toEqual([1, 1]);
    });

    it('gathers the events recorded while a message awaits its acknowledgement into the next one', async () => {
      const batcher = new AuditBatcher(bus);
      bus.holdAcknowledgements();
      const first = batcher.publishAudit(auditEvent());
      await settle();
      const later = Array.from({ length: 12 }, () => batcher.publishAudit(auditEvent()));
      await settle();
      expect(bus.messages).toEqual([1]); // the twelve wait for the first acknowledgement
      bus.releaseAcknowledgements();
      await Promise.all([first, ...later]);
      expect(bus.messages).toEqual([1, 12]);
    });

    it(`never puts more than ${AUDIT_BATCH_MAX_EVENTS} events in one message`, async () => {
      const batcher = new AuditBatcher(bus);
      await Promise.all(Array.from({ length: 2 * AUDIT_BATCH_MAX_EVENTS + 7 }, () => batcher.publishAudit(auditEvent())));
      expect(bus.messages).toEqual([AUDIT_BATCH_MAX_EVENTS, AUDIT_BATCH_MAX_EVENTS, 7]);
    });

    it('rejects every event of a message the bus did not take, so the spool keeps each on disk', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'audit-batcher-'));
      try {
        const publisher = new SpoolingAuditPublisher(new AuditBatcher(bus), { directory });
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

  describe('flush', () => {
    it('resolves only once the events waiting and in flight are acknowledged (a SIGTERM loses nothing)', async () => {
      const batcher = new AuditBatcher(bus);
      bus.holdAcknowledgements();
      const published = Array.from({ length: 3 }, () => batcher.publishAudit(auditEvent()));
      await settle();
      published.push(batcher.publishAudit(auditEvent()));
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
      const batcher = new AuditBatcher(bus);
      bus.holdAcknowledgements();
      const published = [batcher.publishAudit(auditEvent())];
      await settle();
      for (let n = 0; n < 5; n++) published.push(batcher.publishAudit(auditEvent()));
      const closing = bus.close(); // SIGTERM: the process drains its bus after the last request finished
      await settle();
      bus.releaseAcknowledgements();
      await closing;
      await expect(Promise.all(published)).resolves.toHaveLength(6);
      expect(bus.messages).toEqual([1, 5]);
    });
  });
});
