import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { rethrowForBus } from '../errors';
import { CredentialsService } from './credentials.service';

/**
 * `vault.credential.resolve` and `vault.user-credential.*` (asked by the edge,
 * for the authenticated principal) and `vault.admin.*` (asked by the registry,
 * which has already checked that its caller may change the server).
 */
@Injectable()
export class CredentialsHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly credentials: CredentialsService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.tokenVault;
    this.subscriptions = [
      this.bus.reply(RequestSubjects.vaultCredentialResolve, queue, (request) => this.credentials.resolve(request).catch(rethrowForBus)),
      this.bus.reply(RequestSubjects.vaultAdminSharedCredentialResolve, queue, ({ server }) => this.credentials.resolveShared(server).catch(rethrowForBus)),
      this.bus.reply(RequestSubjects.vaultAdminServerHeadersPut, queue, async (request) => ({
        headerNames: await this.credentials.putServerHeaders(request).catch(rethrowForBus),
      })),
      this.bus.reply(RequestSubjects.vaultAdminServerCredentialsDelete, queue, async ({ serverId }) => ({
        deleted: await this.credentials.deleteServerCredentials(serverId).catch(rethrowForBus),
      })),
      this.bus.reply(RequestSubjects.vaultUserCredentialPut, queue, async (request) => ({
        variables: await this.credentials.putUserValues(request).catch(rethrowForBus),
      })),
      this.bus.reply(RequestSubjects.vaultUserCredentialDelete, queue, async (request) => ({
        deleted: await this.credentials.deleteUserValues(request).catch(rethrowForBus),
      })),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.unsubscribe()));
    this.subscriptions = [];
  }
}
