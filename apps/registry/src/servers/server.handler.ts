import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusError, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { NotFoundError } from '../errors';
import { ServerService } from './server.service';

/** `registry.resolve`: slug → what the edge routes to. */
@Injectable()
export class ServerHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    private readonly bus: Bus,
    private readonly servers: ServerService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async ({ slug }) => {
      try {
        return { target: await this.servers.resolve(slug) };
      } catch (error) {
        if (error instanceof NotFoundError) throw new BusError('NOT_FOUND', error.message);
        throw error;
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.unsubscribe();
  }
}
