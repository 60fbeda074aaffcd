import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { IdentityProviderService } from './identity-provider.service';

/** Admin operations on identity providers (the registry has already checked that the caller is an admin), and their public issuers. */
@Injectable()
export class IdentityProviderHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly providers: IdentityProviderService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.identity;
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityAdminIdentityProviderCreate, queue, async (request) => ({ identityProvider: await this.providers.create(request).catch(rethrow) })),
      this.bus.reply(RequestSubjects.identityAdminIdentityProviderList, queue, async () => ({ items: await this.providers.list() })),
      this.bus.reply(RequestSubjects.identityAdminIdentityProviderGet, queue, async ({ name }) => ({ identityProvider: await this.providers.get(name).catch(rethrow) })),
      this.bus.reply(RequestSubjects.identityAdminIdentityProviderUpdate, queue, async ({ name, changes }) => ({
        identityProvider: await this.providers.update(name, changes).catch(rethrow),
      })),
      this.bus.reply(RequestSubjects.identityAuthorizationServers, queue, async () => ({ issuers: await this.providers.authorizationServers() })),
      this.bus.reply(RequestSubjects.identityAdminIdentityProviderDelete, queue, async ({ name }) => ({ identityProvider: await this.providers.delete(name).catch(rethrow) })),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    this.subscriptions = [];
  }
}

function rethrow(error: unknown): never {
  throw toBusError(error);
}
