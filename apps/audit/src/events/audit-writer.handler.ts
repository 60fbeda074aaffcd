import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { AuditEvent } from '@portcullis/contracts';
import { Bus, BusSubscription } from '@portcullis/bus';
import { LOGGER, Logger, MetricsRegistry } from '@portcullis/telemetry';
import { EventsService } from './events.service';

/**
 * Consumes the audit stream (durable `audit-writer` over NATS). An event is
 * acknowledged only once its row is committed; a failure throws, so the bus
 * delivers it again.
 */
@Injectable()
export class AuditWriterHandler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription: BusSubscription | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly written: ReturnType<MetricsRegistry['counter']>;
  private readonly writeDuration: ReturnType<MetricsRegistry['histogram']>;

  constructor(
    private readonly bus: Bus,
    private readonly events: EventsService,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsRegistry,
  ) {
    this.written = metrics.counter('portcullis_audit_events_consumed_total', 'Audit events consumed from the stream, by result', ['result']);
    this.writeDuration = metrics.histogram('portcullis_audit_write_duration_seconds', 'Time to append one event to the chain (lock, insert, commit)', [], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
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

  private async write(event: AuditEvent): Promise<void> {
    const stopTimer = this.writeDuration.startTimer();
    try {
      const result = await this.events.record(event);
      stopTimer();
      this.written.inc({ result: result.stored ? 'stored' : 'duplicate' });
      if (result.stored) this.log.debug({ eventId: event.id, seq: result.seq, action: event.action }, 'audit event stored');
      else this.log.debug({ eventId: event.id }, 'duplicate audit event acknowledged');
    } catch (error) {
      this.written.inc({ result: 'failed' });
      this.log.error({ eventId: event.id, err: error }, 'audit event not stored; it will be delivered again');
      throw error;
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }
}
