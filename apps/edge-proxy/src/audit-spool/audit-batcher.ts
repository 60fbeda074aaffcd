import { randomUUID } from 'node:crypto';
import { Bus, BusError } from '@portcullis/bus';
import { AUDIT_BATCH_MAX_EVENTS, AuditEvent } from '@portcullis/contracts';

interface Waiting {
  event: AuditEvent;
  published: () => void;
  failed: (error: unknown) => void;
}

/**
 * Coalesces the edge's audit events into batch messages (`audit.batch.edge`),
 * one stream acknowledgement per batch instead of one per event
 * (docs/audit.md has the figures). Nagle-like, no timer: an event is sent on
 * the next turn of the event loop when nothing is in flight, and events
 * recorded while a batch awaits its acknowledgement go out together after it.
 *
 * Each event's promise settles with its batch: resolved once the stream
 * stored it, rejected when it did not (the spool then keeps it on disk).
 */
export class AuditBatcher {
  private waiting: Waiting[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private scheduled = false;

  constructor(
    private readonly bus: Pick<Bus, 'publishAudit' | 'publishAuditBatch'>,
    private readonly maxEvents: number = AUDIT_BATCH_MAX_EVENTS,
  ) {}

  /** What SpoolingAuditPublisher calls: resolves once the stream acknowledged the message carrying `event`. */
  publishAudit(event: AuditEvent): Promise<void> {
    return new Promise((published, failed) => {
      this.waiting.push({ event, published, failed });
      if (this.waiting.length >= this.maxEvents) this.send();
      else if (this.inFlight.size === 0 && !this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.send();
        });
      }
    });
  }

  /** Events recorded but not acknowledged yet (waiting or in flight). */
  get pending(): number {
    return this.waiting.length + this.inFlight.size;
  }

  /** Sends what waits now and resolves once every message in flight settled (shutdown: a SIGTERM loses nothing). */
  async flush(): Promise<void> {
    while (this.waiting.length > 0 || this.inFlight.size > 0) {
      this.send();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private send(): void {
    if (this.waiting.length === 0) return;
    const sent: Promise<void> = this.deliver(this.waiting.splice(0, this.maxEvents)).finally(() => {
      this.inFlight.delete(sent);
      // What gathered meanwhile goes out now, as one batch (more when it is larger than one).
      if (this.inFlight.size === 0) while (this.waiting.length > 0) this.send();
    });
    this.inFlight.add(sent);
  }

  private async deliver(batch: Waiting[]): Promise<void> {
    try {
      if (batch.length === 1) await this.bus.publishAudit(batch[0].event);
      else await this.bus.publishAuditBatch({ id: randomUUID(), events: batch.map((w) => w.event) });
      for (const w of batch) w.published();
    } catch (error) {
      // Not expected (each event was checked before it got here), but one bad event must not take the others with it.
      if (batch.length > 1 && error instanceof BusError && error.code === 'INVALID_REQUEST') {
        await Promise.all(batch.map((w) => this.bus.publishAudit(w.event).then(w.published, w.failed)));
        return;
      }
      for (const w of batch) w.failed(error);
    }
  }
}
