import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusError, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { NotFoundError } from '../errors';
import { SLUG_PATTERN } from '../servers/dto/server.dto';
import { VirtualServerNotFoundError, VirtualServerService } from './virtual-server.service';

/** `registry.virtual.resolve`: slug → the tools a virtual server routes, each with its upstream. */
@Injectable()
export class VirtualServerHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    private readonly bus: Bus,
    private readonly virtualServers: VirtualServerService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reply(RequestSubjects.registryResolveVirtual, ServiceQueues.registry, async ({ slug }) => {
      try {
        if (!SLUG_PATTERN.test(slug)) throw new VirtualServerNotFoundError(slug);
        return { virtualServer: await this.virtualServers.resolve(slug) };
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
