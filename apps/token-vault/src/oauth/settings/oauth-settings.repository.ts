import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConsentFlowEntity } from '../consent/consent-flow.entity';
import { OAuthTokenEntity } from '../connections/oauth-token.entity';
import { OAuthSettingsEntity } from './oauth-settings.entity';

@Injectable()
export class OAuthSettingsRepository {
  constructor(private readonly dataSource: DataSource) {}

  find(serverId: string): Promise<OAuthSettingsEntity | null> {
    return this.dataSource.getRepository(OAuthSettingsEntity).findOneBy({ serverId });
  }

  /**
   * Runs `work` in one transaction holding the server's settings row lock
   * (an advisory lock, as the row may not exist yet).
   */
  async inServerTransaction<T>(serverId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis.vault.oauth-settings:${serverId}`]);
      return work(manager);
    });
  }

  async findIn(manager: EntityManager, serverId: string): Promise<OAuthSettingsEntity | null> {
    return manager.getRepository(OAuthSettingsEntity).findOneBy({ serverId });
  }

  async saveIn(manager: EntityManager, settings: OAuthSettingsEntity): Promise<void> {
    await manager.getRepository(OAuthSettingsEntity).save(settings);
  }

  async deleteIn(manager: EntityManager, serverId: string): Promise<void> {
    await manager.getRepository(OAuthSettingsEntity).delete({ serverId });
  }

  /** Drops every connection and pending flow of the server: they belong to a client or provider that is no longer configured. */
  async forgetConnectionsIn(manager: EntityManager, serverId: string): Promise<number> {
    await manager.getRepository(ConsentFlowEntity).delete({ serverId });
    return (await manager.getRepository(OAuthTokenEntity).delete({ serverId })).affected ?? 0;
  }
}
