import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { EventSubjects } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { AccessDecisionResolver } from './access-decision-resolver.service';
import { CredentialResolver } from './credential-resolver.service';
import { PrincipalResolver } from './principal-resolver.service';
import { TargetResolver } from './target-resolver.service';
import { VirtualServerResolver } from './virtual-server-resolver.service';

/** Listens for the invalidation events every edge replica hears and drops what they name from the caches. */
@Injectable()
export class CacheInvalidationHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly principals: PrincipalResolver,
    private readonly targets: TargetResolver,
    private readonly credentials: CredentialResolver,
    private readonly decisions: AccessDecisionResolver,
    private readonly virtualServers: VirtualServerResolver,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriptions = [
      this.bus.on(EventSubjects.identityRevoked, (event) => {
        const principals = this.principals.forget(event);
        const credentials = this.credentials.forgetPrincipals(event.principalIds);
        this.decisions.forgetPrincipals(event.principalIds);
        this.logger.debug({ principals, credentials }, 'identity revoked: cache entries dropped');
      }),
      this.bus.on(EventSubjects.registryChanged, (event) => {
        const targets = this.targets.forget(event.slug, event.serverId);
        // Auth settings may have changed with the server, so its credentials go too.
        const credentials = this.credentials.forgetServer(event.serverId, null);
        // Collaborators and policies reach many servers (through groups): every decision goes.
        this.decisions.forgetAll();
        this.virtualServers.forgetAll();
        this.logger.debug({ slug: event.slug, targets, credentials }, 'registry changed: cache entries dropped');
      }),
      this.bus.on(EventSubjects.vaultChanged, (event) => {
        const credentials = this.credentials.forgetServer(event.serverId, event.principalId);
        this.logger.debug({ serverId: event.serverId, credentials }, 'vault changed: cache entries dropped');
      }),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    await Promise.allSettled(subscriptions.map((subscription) => subscription.unsubscribe()));
  }
}
