import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { KeyRotationService } from './key-rotation.service';

/** `vault.admin.keys.rotate`, asked by an admin API that has already checked its caller. */
@Injectable()
export class KeyRotationHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: BusSubscription | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly rotation: KeyRotationService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reply(RequestSubjects.vaultAdminKeysRotate, ServiceQueues.tokenVault, (request) =>
      this.rotation.rotate(request).catch((error: unknown) => {
        throw toBusError(error);
      }),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.unsubscribe();
    this.subscription = null;
  }
}
