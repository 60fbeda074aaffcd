import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusError, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { NotFoundError } from '../errors';
import { AuthorizationService } from './authorization.service';

/** `registry.authorize`: may this principal list, call or manage this target, and which tools does it see. */
@Injectable()
export class AuthorizationHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    private readonly bus: Bus,
    private readonly authorization: AuthorizationService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reply(RequestSubjects.registryAuthorize, ServiceQueues.registry, async ({ principal, slug, action }) => {
      try {
        return await this.authorization.authorize(principal, slug, action);
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
