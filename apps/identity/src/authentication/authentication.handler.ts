import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { AuthenticationService } from './authentication.service';

@Injectable()
export class AuthenticationHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription?: BusSubscription;

  constructor(
    private readonly bus: Bus,
    private readonly authentication: AuthenticationService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, ({ token }) =>
      this.authentication.authenticate(token).catch((error: unknown) => {
        throw toBusError(error);
      }),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.unsubscribe();
  }
}
