import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { SigningKeyService } from './signing-key.service';
import { TokenExchangeService } from './token-exchange.service';

@Injectable()
export class TokenExchangeHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions = [] as BusSubscription[];

  constructor(
    private readonly bus: Bus,
    private readonly exchange: TokenExchangeService,
    private readonly keys: SigningKeyService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityExchange, ServiceQueues.identity, (request) =>
        this.exchange.exchange(request).catch((error: unknown) => {
          throw toBusError(error);
        }),
      ),
      this.bus.reply(RequestSubjects.identityJwks, ServiceQueues.identity, async () => this.keys.jwks()),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
  }
}
