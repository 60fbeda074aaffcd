import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';

export type RegistryChange = 'created' | 'updated' | 'deleted';

/**
 * Emits `events.registry.changed` after a committed change, one event per
 * server it touches, so every edge drops what it cached about them. A failed
 * emit is logged: the change is committed either way and edge caches expire.
 */
@Injectable()
export class RegistryChangeAnnouncer {
  constructor(
    private readonly bus: Bus,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async announce(servers: readonly { id: string; slug: string }[], change: RegistryChange): Promise<void> {
    for (const server of servers) {
      try {
        await this.bus.emit(EventSubjects.registryChanged, { serverId: server.id, slug: server.slug, change });
      } catch (error) {
        this.log.error({ err: error, serverId: server.id, change }, 'could not announce a registry change; edges keep their cache until it expires');
      }
    }
  }
}
