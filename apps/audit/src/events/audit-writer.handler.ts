import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { AuditEvent } from '@portcullis/contracts';
import { Bus, BusSubscription } from '@portcullis/bus';
import { LOGGER, Logger, MetricsRegistry } from '@portcullis/telemetry';
import { EventsService } from './events.service';

// Events stored in one transaction at most; more wait for the next one.
const MAX_BATCH_EVENTS = 500;

interface PendingEvent {
  event: AuditEvent;
  stored: () => void;
  failed: (error: unknown) => void;
}

/**
 * Consumes the audit stream (durable `audit-writer` over NATS) and stores
 * what arrives together in one transaction: while one batch commits, the
 * next one gathers (no timer, so a lone event is stored at once). An event
 * is acknowledged only once its row is committed; a failure rejects it, so
 * the bus delivers it again.
 */
@Injectable()
export class AuditWriterHandler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription: BusSubscription | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly pending: PendingEvent[] = [];
  private flushing: Promise<void> | null = null;
  private readonly written: ReturnType<MetricsRegistry['counter']>;
  private readonly writeDuration: ReturnType<MetricsRegistry['histogram']>;
  private readonly batchSize: ReturnType<MetricsRegistry['histogram']>;

  constructor(
    private readonly bus: Bus,
    private readonly events: EventsService,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsRegistry,
  ) {
    this.written = metrics.counter('portcullis_audit_events_consumed_total', 'Audit events consumed from the stream, by result', ['result']);
    this.writeDuration = metrics.histogram('portcullis_audit_write_duration_seconds', 'Time to append one batch of events to the chain (lock, insert, commit)', [], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
    this.batchSize = metrics.histogram('portcullis_audit_write_batch_events', 'Events appended to the chain in one transaction', [], [1, 2, 5, 10, 25, 50, 100, 250, 500]);
    // The audit lag: events the stream holds that the writer has not acknowledged yet. Unset when the bus cannot tell.
    metrics.gauge('portcullis_audit_backlog_events', 'Audit events on the bus not yet stored (JetStream pending + unacknowledged for audit-writer)', [], async (gauge) => {
      const backlog = await this.bus.auditBacklog().catch(() => null);
      if (backlog === null) gauge.reset();
      else gauge.set(backlog);
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.bus.consumeAudit((event) => this.track(this.write(event)));
  }

  /** Stops taking events, then lets the ones being written commit before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.unsubscribe();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves once the event is committed (or was already stored), rejects when it was not. */
  private write(event: AuditEvent): Promise<void> {
    return new Promise((stored, failed) => {
      this.pending.push({ event, stored, failed });
      this.flushSoon();
    });
  }

  /** Starts storing on the next turn of the event loop, unless a flush is running: it takes what waits next. */
  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flush())
      .finally(() => {
        this.flushing = null;
        if (this.pending.length > 0) this.flushSoon();
      });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) await this.store(this.pending.splice(0, MAX_BATCH_EVENTS));
  }

  private async store(batch: PendingEvent[]): Promise<void> {
    const stopTimer = this.writeDuration.startTimer();
    try {
      const results = await this.events.recordBatch(batch.map((p) => p.event));
      stopTimer();
      this.batchSize.observe(batch.length);
      const stored = results.filter((result) => result.stored).length;
      if (stored > 0) this.written.inc({ result: 'stored' }, stored);
      if (stored < batch.length) this.written.inc({ result: 'duplicate' }, batch.length - stored);
      this.log.debug({ events: batch.length, duplicates: batch.length - stored }, 'audit events stored');
      for (const p of batch) p.stored();
    } catch (error) {
      if (batch.length > 1 && refusedForItsData(error)) {
        // One event the database refuses must not hold back the others: each is tried alone.
        this.log.warn({ err: error, events: batch.length }, 'audit batch refused; storing its events one by one');
        for (const p of batch) await this.store([p]);
        return;
      }
      this.written.inc({ result: 'failed' }, batch.length);
      this.log.error({ eventIds: batch.slice(0, 20).map((p) => p.event.id), events: batch.length, err: error }, 'audit event not stored; it will be delivered again');
      for (const p of batch) p.failed(error);
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }
}

/** PostgreSQL data exceptions (class 22) and constraint violations (class 23): about one row, not the database. */
function refusedForItsData(error: unknown): boolean {
  const code = (error as { code?: unknown; driverError?: { code?: unknown } } | null)?.code ?? (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
