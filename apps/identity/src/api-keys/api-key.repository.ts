import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, IsNull, LessThan, Or } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';

export type ApiKeyWithOwner = ApiKeyEntity & { user: NonNullable<ApiKeyEntity['user']> };

export interface NewApiKey {
  userId: string;
  name: string;
  prefix: string;
  tokenHash: string;
  isAdmin: boolean;
  createdAt: Date;
  expiresAt: Date | null;
}

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(key: NewApiKey, manager: EntityManager = this.dataSource.manager): Promise<string> {
    const result = await manager.createQueryBuilder().insert().into(ApiKeyEntity).values(key).returning(['id']).execute();
    return (result.raw as { id: string }[])[0].id;
  }

  /** Inserts unless a key with the same token hash exists; safe for replicas doing it at once. */
  async insertIfAbsent(key: NewApiKey): Promise<void> {
    await this.dataSource.createQueryBuilder().insert().into(ApiKeyEntity).values(key).orIgnore().execute();
  }

  findByTokenHash(tokenHash: string): Promise<ApiKeyWithOwner | null> {
    return this.dataSource.getRepository(ApiKeyEntity).findOne({ where: { tokenHash }, relations: { user: true } }) as Promise<ApiKeyWithOwner | null>;
  }

  findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<ApiKeyWithOwner | null> {
    return manager.getRepository(ApiKeyEntity).findOne({ where: { id }, relations: { user: true } }) as Promise<ApiKeyWithOwner | null>;
  }

  list(ownerUserId?: string): Promise<ApiKeyWithOwner[]> {
    return this.dataSource.getRepository(ApiKeyEntity).find({
      where: ownerUserId === undefined ? {} : { userId: ownerUserId },
      relations: { user: true },
      order: { createdAt: 'DESC', id: 'ASC' },
    }) as Promise<ApiKeyWithOwner[]>;
  }

  /** Sets `revoked_at` once; revoking again keeps the first time. */
  async revoke(id: string, at: Date): Promise<void> {
    await this.dataSource.getRepository(ApiKeyEntity).update({ id, revokedAt: IsNull() }, { revokedAt: at });
  }

  /** Records a use unless one was recorded after `staleBefore` (by this or another replica). */
  async touch(id: string, at: Date, staleBefore: Date): Promise<void> {
    await this.dataSource.getRepository(ApiKeyEntity).update({ id, lastUsedAt: Or(IsNull(), LessThan(staleBefore)) }, { lastUsedAt: at });
  }
}
