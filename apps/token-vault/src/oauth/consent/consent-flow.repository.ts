import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConsentFlowEntity } from './consent-flow.entity';

/** Flows older than this are of no use to anyone; dropped as new ones start. */
const KEEP_ENDED_FLOWS_MS = 24 * 60 * 60_000;

@Injectable()
export class ConsentFlowRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` holding the (principal, server) lock, so two callers at once start one flow. */
  async inPairTransaction<T>(serverId: string, principalId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis.vault.oauth-flow:${serverId}:${principalId}`]);
      return work(manager);
    });
  }

  /** The newest unused flow of the pair that is still good for at least `until`. */
  findPendingIn(manager: EntityManager, serverId: string, principalId: string, until: Date): Promise<ConsentFlowEntity | null> {
    return manager
      .getRepository(ConsentFlowEntity)
      .createQueryBuilder('f')
      .where('f.serverId = :serverId AND f.principalId = :principalId AND f.consumedAt IS NULL AND f.expiresAt > :until', { serverId, principalId, until })
      .orderBy('f.createdAt', 'DESC')
      .getOne();
  }

  async insertIn(manager: EntityManager, flow: ConsentFlowEntity): Promise<void> {
    await manager.getRepository(ConsentFlowEntity).insert(flow);
    await manager.query(`DELETE FROM "vault"."oauth_flows" WHERE "expires_at" < $1`, [new Date(flow.createdAt.getTime() - KEEP_ENDED_FLOWS_MS)]);
  }

  find(id: string): Promise<ConsentFlowEntity | null> {
    return this.dataSource.getRepository(ConsentFlowEntity).findOneBy({ id });
  }

  /** Binds a fresh state to a flow still open; false when it was used or expired meanwhile. */
  async bindState(id: string, stateHash: string, now: Date): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(
      `UPDATE "vault"."oauth_flows" SET "state_hash" = $2 WHERE "id" = $1 AND "consumed_at" IS NULL AND "expires_at" > $3`,
      [id, stateHash, now],
    )) as [unknown, number];
    return affected === 1;
  }

  /**
   * Marks the flow holding this state hash consumed, in one statement, and
   * returns it: null when there is none or it was already used (a replay).
   */
  async consume(stateHash: string, now: Date): Promise<ConsentFlowEntity | null> {
    const [rows] = (await this.dataSource.query(
      `UPDATE "vault"."oauth_flows" SET "consumed_at" = $2 WHERE "state_hash" = $1 AND "consumed_at" IS NULL
        RETURNING "id", "server_id", "server_slug", "principal_id", "principal_kind", "sealed_code_verifier", "key_id", "created_at", "expires_at"`,
      [stateHash, now],
    )) as [Array<Record<string, unknown>>, number];
    const row = rows[0];
    if (!row) return null;
    return Object.assign(new ConsentFlowEntity(), {
      id: row['id'] as string,
      serverId: row['server_id'] as string,
      serverSlug: row['server_slug'] as string,
      principalId: row['principal_id'] as string,
      principalKind: row['principal_kind'] as ConsentFlowEntity['principalKind'],
      stateHash,
      sealedCodeVerifier: row['sealed_code_verifier'] as string,
      keyId: row['key_id'] as string,
      createdAt: row['created_at'] as Date,
      expiresAt: row['expires_at'] as Date,
      consumedAt: now,
    });
  }
}
