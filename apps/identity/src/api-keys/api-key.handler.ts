import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { ApiKeyService } from './api-key.service';

/** Admin operations on API keys. Callers (the registry) have already checked that the caller is an admin. */
@Injectable()
export class ApiKeyHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly apiKeys: ApiKeyService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.identity;
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityAdminApiKeyCreate, queue, (request) => this.apiKeys.create(request).catch(rethrow)),
      this.bus.reply(RequestSubjects.identityAdminApiKeyList, queue, async ({ ownerUserId }) => ({ items: await this.apiKeys.list(ownerUserId) })),
      this.bus.reply(RequestSubjects.identityAdminApiKeyRevoke, queue, async ({ id, ownerUserId }) => ({ apiKey: await this.apiKeys.revoke(id, ownerUserId).catch(rethrow) })),
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
