import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { rethrowForBus } from '../errors';
import { ConnectionsService } from './connections/connections.service';
import { ConsentFlowService } from './consent/consent-flow.service';
import { OAuthSettingsService } from './settings/oauth-settings.service';

/**
 * Upstream OAuth on the bus: settings (asked by the registry after its own
 * access check), consent flows and connections (asked by the edge for the
 * user it authenticated, and by the registry for admins).
 */
@Injectable()
export class OAuthHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly settings: OAuthSettingsService,
    private readonly consent: ConsentFlowService,
    private readonly connections: ConnectionsService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.tokenVault;
    this.subscriptions = [
      this.bus.reply(RequestSubjects.vaultAdminServerOAuthPut, queue, async ({ server, settings }) => ({ settings: await this.settings.put(server, settings).catch(rethrowForBus) })),
      this.bus.reply(RequestSubjects.vaultAdminServerOAuthGet, queue, async ({ serverId }) => ({ settings: await this.settings.view(serverId).catch(rethrowForBus) })),
      this.bus.reply(RequestSubjects.vaultOAuthStart, queue, async ({ principal, server }) => {
        const { flowId, expiresAt } = await this.consent.start(principal, server).catch(rethrowForBus);
        return { flowId, expiresAt: expiresAt.toISOString() };
      }),
      this.bus.reply(RequestSubjects.vaultOAuthConnect, queue, async ({ flowId, browserPrincipalId }) => ({
        authorizationUrl: await this.consent.connect(flowId, browserPrincipalId).catch(rethrowForBus),
      })),
      this.bus.reply(RequestSubjects.vaultOAuthCallback, queue, (request) => this.consent.callback(request).catch(rethrowForBus)),
      this.bus.reply(RequestSubjects.vaultConnectionStatus, queue, ({ principal, server }) => this.connections.status(principal, server).catch(rethrowForBus)),
      this.bus.reply(RequestSubjects.vaultConnectionList, queue, async (filter) => ({ connections: await this.connections.list(filter).catch(rethrowForBus) })),
      this.bus.reply(RequestSubjects.vaultConnectionDelete, queue, ({ principalId, serverId }) => this.connections.delete(principalId, serverId).catch(rethrowForBus)),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((subscription) => subscription.unsubscribe()));
    this.subscriptions = [];
  }
}
