import { Injectable } from '@nestjs/common';
import type { OAuthGrantType } from '@portcullis/contracts';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { OAuthTokenEntity } from './oauth-token.entity';

/** Work done while holding one token row's lock (`FOR UPDATE`); its writes commit together. */
export type LockedTokenWork<T> = (manager: EntityManager, row: OAuthTokenEntity) => Promise<T>;

/**
 * `vault.oauth_tokens`. Every change of a row's tokens happens under that
 * row's lock, so one credential is refreshed once however many replicas and
 * callers ask at the same moment.
 */
@Injectable()
export class OAuthTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  find(serverId: string, principalId: string | null): Promise<OAuthTokenEntity | null> {
    return this.query().where(pairCondition(principalId), { serverId, principalId }).getOne();
  }

  /** Locks the row with this id; `work` gets null when it is gone. */
  async lockById<T>(id: string, work: (manager: EntityManager, row: OAuthTokenEntity | null) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      const row = await manager.getRepository(OAuthTokenEntity).createQueryBuilder('t').setLock('pessimistic_write').where('t.id = :id', { id }).getOne();
      return work(manager, row);
    });
  }

  /**
   * Locks the (server, principal) row, creating an empty one first when there
   * is none, so even the first fetch of a token happens once. If `work`
   * throws, the transaction (and a row it created) is rolled back.
   */
  async lockPair<T>(serverId: string, principalId: string | null, grantType: OAuthGrantType, now: Date, work: LockedTokenWork<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      const conflict = principalId === null ? '("server_id") WHERE "principal_id" IS NULL' : '("server_id", "principal_id") WHERE "principal_id" IS NOT NULL';
      await manager.query(
        `INSERT INTO "vault"."oauth_tokens" ("id", "server_id", "principal_id", "grant_type", "status", "scopes", "refresh_failures", "created_at", "updated_at")
         VALUES ($1, $2, $3, $4, 'active', '{}', 0, $5, $5) ON CONFLICT ${conflict} DO NOTHING`,
        [randomUUID(), serverId, principalId, grantType, now],
      );
      const row = await manager
        .getRepository(OAuthTokenEntity)
        .createQueryBuilder('t')
        .setLock('pessimistic_write')
        .where(pairCondition(principalId, 't'), { serverId, principalId })
        .getOneOrFail();
      return work(manager, row);
    });
  }

  /**
   * Locks the next row the scheduler should refresh, skipping rows another
   * replica holds (`SKIP LOCKED`) and the ids already handled in this pass.
   * A row is due when less than min(window, half its lifetime) is left.
   */
  async lockNextDue<T>(now: Date, windowMs: number, skipIds: string[], work: LockedTokenWork<T>): Promise<T | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const row = await manager
        .getRepository(OAuthTokenEntity)
        .createQueryBuilder('t')
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .where(`t.status = 'active' AND t.sealedAccessToken IS NOT NULL AND t.expiresAt IS NOT NULL`)
        .andWhere(`((t.grantType = 'authorization_code' AND t.sealedRefreshToken IS NOT NULL) OR t.grantType = 'client_credentials')`)
        .andWhere(`t.expiresAt - LEAST(make_interval(secs => :windowSeconds), (t.expiresAt - COALESCE(t.issuedAt, t.updatedAt)) / 2) <= :now`, {
          windowSeconds: windowMs / 1000,
          now,
        })
        .andWhere('(t.retryAfter IS NULL OR t.retryAfter <= :now)', { now })
        .andWhere(skipIds.length > 0 ? 't.id NOT IN (:...skipIds)' : 'TRUE', { skipIds })
        .orderBy('t.expiresAt', 'ASC')
        .limit(1)
        .getOne();
      return row ? work(manager, row) : undefined;
    });
  }

  async saveIn(manager: EntityManager, row: OAuthTokenEntity): Promise<void> {
    await manager.getRepository(OAuthTokenEntity).save(row);
  }

  /** Connections as users and admins see them: placeholders (no token yet, not refused) are not connections. */
  listBy(filter: { principalId: string } | { serverId: string }): Promise<OAuthTokenEntity[]> {
    const query = this.query()
      .where('t.principalId IS NOT NULL')
      .andWhere(`(t.sealedAccessToken IS NOT NULL OR t.status = 'needs_consent')`);
    if ('principalId' in filter) query.andWhere('t.principalId = :principalId', { principalId: filter.principalId });
    else query.andWhere('t.serverId = :serverId', { serverId: filter.serverId });
    return query.orderBy('t.serverId', 'ASC').addOrderBy('t.principalId', 'ASC').getMany();
  }

  /** Deletes the (server, principal) row under its lock and returns what it held, for revocation. */
  async deletePair(serverId: string, principalId: string): Promise<OAuthTokenEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(OAuthTokenEntity);
      const row = await rows.createQueryBuilder('t').setLock('pessimistic_write').where(pairCondition(principalId, 't'), { serverId, principalId }).getOne();
      if (row) await rows.delete({ id: row.id });
      return row;
    });
  }

  private query() {
    return this.dataSource.getRepository(OAuthTokenEntity).createQueryBuilder('t');
  }
}

function pairCondition(principalId: string | null, alias = 't'): string {
  return principalId === null ? `${alias}.serverId = :serverId AND ${alias}.principalId IS NULL` : `${alias}.serverId = :serverId AND ${alias}.principalId = :principalId`;
}
