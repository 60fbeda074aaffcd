import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { EventPartitions } from './event-partitions';

/**
 * The service keeps the coming months' partitions ready when its role may
 * (it owns the table); run as the writer role it may not, and says so
 * without failing: the retention command (run as the owner) does it.
 */
@Injectable()
export class PartitionsAtStart implements OnApplicationBootstrap {
  constructor(
    private readonly partitions: EventPartitions,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const outcomes = await this.partitions.ensure(this.clock.now());
      const created = outcomes.filter((o) => o.outcome === 'created').map((o) => o.partition);
      if (created.length > 0) this.log.info({ created }, 'audit partitions created');
      const held = outcomes.filter((o) => o.outcome === 'held-by-default').map((o) => o.partition);
      if (held.length > 0) this.log.warn({ held }, 'audit months already in the default partition: they cannot be dropped by retention until moved by hand');
    } catch (error) {
      const code = (error as { code?: string }).code;
      this.log.warn({ code }, 'could not create the coming months\' audit partitions (the service role may not; run the retention command as the owner)');
    }
  }
}
