import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { Bus, SpoolingAuditPublisher } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { LOGGER, Logger, MetricsRegistry } from '@portcullis/telemetry';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { AuditBatcher } from './audit-batcher';

/** Where the edge spools audit events when `auditSpoolDir` is not given. */
export const DEFAULT_AUDIT_SPOOL_DIR = join(tmpdir(), 'portcullis-spool');

/**
 * The edge's way to the audit stream (DESIGN §11): publishes on the bus,
 * events recorded together coalesced into one message ({@link AuditBatcher}),
 * and, when the bus cannot take an event, spools it to local disk and
 * replays it later. Its size is the `portcullis_edge_audit_spool_events` gauge.
 */
@Injectable()
export class AuditSpool implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly publisher: SpoolingAuditPublisher;
  private readonly batcher: AuditBatcher;
  private removeCloseHook: () => void = () => undefined;

  constructor(private readonly bus: Bus, @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions, @Inject(LOGGER) logger: Logger, metrics: MetricsRegistry) {
    const directory = options.auditSpoolDir ?? DEFAULT_AUDIT_SPOOL_DIR;
    this.batcher = new AuditBatcher(bus, { lingerMs: options.auditBatchLingerMs });
    this.publisher = new SpoolingAuditPublisher(this.batcher, {
      directory,
      replayIntervalMs: options.auditSpoolReplayIntervalMs,
      onError: (what, error) => {
        if (what === 'spooled') logger.warn({ err: error, directory }, 'audit event spooled to disk: the bus did not take it');
        else if (what === 'replay_failed') logger.warn({ err: error, spooled: this.publisher.spooled() }, 'audit spool replay paused: the bus did not take an event');
        else logger.error({ err: error }, 'invalid audit event dropped');
      },
    });
    const publisher = this.publisher;
    metrics.gauge('portcullis_edge_audit_spool_events', 'Audit events spooled on local disk, waiting for the bus', [], (gauge) => gauge.set(publisher.spooled()));
  }

  onApplicationBootstrap(): void {
    this.publisher.start();
    // A stopping process drains the bus before the app's own hooks run (GracefulShutdown): the pending batch and the
    // spool go out while the bus still carries them, rather than staying on a disk that may go with the pod.
    this.removeCloseHook = this.bus.beforeClose(async () => {
      await this.batcher.flush();
      await this.publisher.replay();
    });
  }

  /** Sends the events still waiting for a batch before the bus closes: on the stream, or else on disk. */
  async onModuleDestroy(): Promise<void> {
    await this.batcher.flush();
  }

  /** Requests that finished during shutdown may have recorded more: those too, then the spool stops. */
  async onApplicationShutdown(): Promise<void> {
    this.removeCloseHook();
    await this.batcher.flush();
    await this.publisher.stop();
  }

  /** Resolves once the event is on the bus (alone or in a batch) or on disk. */
  publish(event: AuditEvent): Promise<'published' | 'spooled'> {
    return this.publisher.publish(event);
  }

  /** {@link publish} without waiting (the proxy's way): `lost` hears of an event that reached neither. */
  record(event: AuditEvent, lost: (error: unknown) => void): void {
    this.publisher.record(event, lost);
  }

  spooled(): number {
    return this.publisher.spooled();
  }

  /** Replays the spool now instead of at the next tick (tests, shutdown hooks). */
  replay(): Promise<void> {
    return this.publisher.replay();
  }
}
