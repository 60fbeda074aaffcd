import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ResponseOf, ServiceQueues } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { rethrowForBus } from '../errors';
import { KeyRotationService } from './key-rotation.service';

/**
 * `vault.admin.keys.rotate`, asked by an admin API that has already checked
 * its caller; each run is a `key.rotated` audit event (counts and key ids,
 * never key material). The `vault:rotate` command has no bus: it logs the same.
 */
@Injectable()
export class KeyRotationHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: BusSubscription | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly rotation: KeyRotationService,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reply(RequestSubjects.vaultAdminKeysRotate, ServiceQueues.tokenVault, async (request) => {
      const result = await this.rotation.rotate(request).catch(rethrowForBus);
      this.audit(result);
      return result;
    });
  }

  private audit(result: ResponseOf<typeof RequestSubjects.vaultAdminKeysRotate>): void {
    const event = {
      id: randomUUID(),
      ts: this.clock.now().toISOString(),
      traceId: null,
      principal: null,
      actor: null,
      action: 'key.rotated' as const,
      method: 'vault.admin.keys.rotate',
      server: null,
      tool: null,
      credentialKind: null,
      credentialId: null,
      outcome: 'success' as const,
      reason: `vault keys: ${result.rewrapped} sealed values re-wrapped under ${result.activeKeyId}, ${result.alreadyCurrent} already current`,
      latencyMs: null,
    };
    this.bus.publishAudit(event).catch((error: unknown) => this.log.warn({ err: error, auditEventId: event.id }, 'could not publish the key rotation audit event'));
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.unsubscribe();
    this.subscription = null;
  }
}
