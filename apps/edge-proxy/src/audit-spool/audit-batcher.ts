import { randomUUID } from 'node:crypto';
import { AuditEventSink, Bus, BusError, checkAuditRecord, CheckedAuditRecord } from '@portcullis/bus';
import { AUDIT_BATCH_MAX_EVENTS, AuditEvent } from '@portcullis/contracts';

/**
 * How long the first event of a batch waits for others, unless
 * `AUDIT_BATCH_LINGER_MS` says otherwise. The call it records was answered
 * already; what the wait buys is fewer stream messages, acknowledgements and
 * wake-ups: at a few hundred calls per second, one message per tens of calls
 * instead of one per call. 100 ms rather than 20: the edge's CPU per call was
 * lower in every round of an A/B run (docs/performance.md), and an event
 * still reaches the stream within a fraction of a second.
 */
export const AUDIT_BATCH_LINGER_MS = 100;

export interface AuditBatcherOptions {
  maxEvents?: number;
  /** 0: a lone event goes out on the next turn of the event loop. */
  lingerMs?: number;
}

interface Waiting {
  event: AuditEvent;
  /** The event's text, as the journal wrote it: the batch message is put together from these. */
  json: string;
  settled: (error?: unknown) => void;
}

/**
 * Coalesces the edge's audit events into batch messages (`audit.batch.edge`),
 * one stream acknowledgement per batch instead of one per event
 * (docs/audit.md has the figures). Nagle-like: the events recorded within
 * {@link AUDIT_BATCH_LINGER_MS} of the first one waiting go out together, at
 * once when they reach `maxEvents`, and never while another batch awaits its
 * acknowledgement (they go right after it when their time is up by then).
 *
 * Each event is settled with its batch: told nothing once the stream stored
 * it, the error when it did not (the spool then keeps it on disk).
 *
 * Events are validated (AuditEventSchema) when their batch goes, all in one
 * loop, not one by one as they are recorded: on the request's path the schema's
 * code ran cold every time and cost about a tenth of the edge's CPU per call
 * (docs/performance.md). An event that breaks the schema is rejected alone
 * (`INVALID_REQUEST`) and never joins a batch, so it cannot cost the others theirs.
 */
export class AuditBatcher implements AuditEventSink {
  private waiting: Waiting[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private lingering: NodeJS.Timeout | null = null;
  /** The first waiting event has waited its linger: the batch goes as soon as nothing is in flight. */
  private due = false;
  private readonly maxEvents: number;
  private readonly lingerMs: number;

  constructor(
    private readonly bus: Pick<Bus, 'publishCheckedAudit' | 'publishCheckedAuditBatch'>,
    options: AuditBatcherOptions = {},
  ) {
    this.maxEvents = options.maxEvents ?? AUDIT_BATCH_MAX_EVENTS;
    this.lingerMs = options.lingerMs ?? AUDIT_BATCH_LINGER_MS;
  }

  /** What SpoolingAuditPublisher calls: `settled` once the stream acknowledged the message carrying `event`, or did not. */
  sendAudit(event: AuditEvent, json: string, settled: (error?: unknown) => void): void {
    this.waiting.push({ event, json, settled });
    if (this.waiting.length >= this.maxEvents) this.send();
    else if (this.waiting.length === 1) this.startLinger();
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

  private startLinger(): void {
    const due = (): void => {
      this.lingering = null;
      this.due = true;
      if (this.inFlight.size === 0) this.send();
    };
    // With no linger the batch is what was recorded in the same turn of the event loop.
    if (this.lingerMs > 0) this.lingering = setTimeout(due, this.lingerMs);
    else queueMicrotask(due);
  }

  private send(): void {
    if (this.lingering !== null) clearTimeout(this.lingering);
    this.lingering = null;
    this.due = false;
    if (this.waiting.length === 0) return;
    const batch = checked(this.waiting.splice(0, this.maxEvents));
    if (batch.length > 0) {
      const sent: Promise<void> = this.deliver(batch).finally(() => {
        this.inFlight.delete(sent);
        // Events whose time came while this batch was in flight go now (as one batch, or more when larger).
        if (this.inFlight.size === 0 && this.due) while (this.waiting.length > 0) this.send();
      });
      this.inFlight.add(sent);
    }
    // What is left (more than one batch's worth) waits a linger of its own.
    if (this.waiting.length > 0) this.startLinger();
  }

  private async deliver(batch: CheckedWaiting[]): Promise<void> {
    try {
      if (batch.length === 1) await this.bus.publishCheckedAudit(batch[0].record);
      else await this.bus.publishCheckedAuditBatch(randomUUID(), batch.map((w) => w.record));
    } catch (error) {
      // Not expected (each event was checked before it got here), but one bad event must not take the others with it.
      if (batch.length > 1 && error instanceof BusError && error.code === 'INVALID_REQUEST') {
        await Promise.all(batch.map((w) => this.bus.publishCheckedAudit(w.record).then(() => w.settled(), w.settled)));
        return;
      }
      for (const w of batch) w.settled(error);
      return;
    }
    for (const w of batch) w.settled();
  }
}

interface CheckedWaiting {
  record: CheckedAuditRecord;
  settled: Waiting['settled'];
}

/** The events that pass the schema, as checked; each one that does not is rejected on its own. */
function checked(waiting: Waiting[]): CheckedWaiting[] {
  const valid: CheckedWaiting[] = [];
  for (const w of waiting) {
    try {
      valid.push({ record: checkAuditRecord(w.event, w.json), settled: w.settled });
    } catch (error) {
      w.settled(error);
    }
  }
  return valid;
}
