import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { OidcLoginService } from './oidc-login.service';

/** `identity.login.start` and `identity.login.complete`. */
@Injectable()
export class OidcLoginHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions = [] as BusSubscription[];

  constructor(
    private readonly bus: Bus,
    private readonly login: OidcLoginService,
  ) {}

  onApplicationBootstrap(): void {
    const fail = (error: unknown): never => {
      throw toBusError(error);
    };
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityLoginStart, ServiceQueues.identity, (request) => this.login.start(request.returnTo).catch(fail)),
      this.bus.reply(RequestSubjects.identityLoginComplete, ServiceQueues.identity, (request) => this.login.complete(request).catch(fail)),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
  }
}
