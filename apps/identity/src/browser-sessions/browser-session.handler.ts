import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { BrowserSessionService } from './browser-session.service';

/** `identity.login.api-key` and `identity.login.logout`. */
@Injectable()
export class BrowserSessionHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions = [] as BusSubscription[];

  constructor(
    private readonly bus: Bus,
    private readonly sessions: BrowserSessionService,
  ) {}

  onApplicationBootstrap(): void {
    const fail = (error: unknown): never => {
      throw toBusError(error);
    };
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityLoginApiKey, ServiceQueues.identity, (request) => this.sessions.loginWithApiKey(request.apiKey).catch(fail)),
      this.bus.reply(RequestSubjects.identityLoginLogout, ServiceQueues.identity, (request) => this.sessions.logout(request.sessionToken).catch(fail)),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
  }
}
