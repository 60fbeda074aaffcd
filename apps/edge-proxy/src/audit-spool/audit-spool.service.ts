import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Bus, SpoolingAuditPublisher } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { LOGGER, Logger, MetricsRegistry } from '@portcullis/telemetry';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';

/** Where the edge spools audit events when `auditSpoolDir` is not given. */
export const DEFAULT_AUDIT_SPOOL_DIR = join(tmpdir(), 'portcullis-spool');

/**
 * The edge's way to the audit stream (DESIGN §11): publishes on the bus and,
 * when the bus cannot take an event, spools it to local disk and replays it
 * later. Its size is the `portcullis_edge_audit_spool_events` gauge.
 */
@Injectable()
export class AuditSpool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly publisher: SpoolingAuditPublisher;

  constructor(bus: Bus, @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions, @Inject(LOGGER) logger: Logger, metrics: MetricsRegistry) {
    const directory = options.auditSpoolDir ?? DEFAULT_AUDIT_SPOOL_DIR;
    this.publisher = new SpoolingAuditPublisher(bus, {
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
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.stop();
  }

  /** Resolves once the event is on the bus or on disk. */
  publish(event: AuditEvent): Promise<'published' | 'spooled'> {
    return this.publisher.publish(event);
  }

  spooled(): number {
    return this.publisher.spooled();
  }

  /** Replays the spool now instead of at the next tick (tests, shutdown hooks). */
  replay(): Promise<void> {
    return this.publisher.replay();
  }
}
