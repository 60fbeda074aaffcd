import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { CredentialEntity, StoredCredentialKind } from './credential.entity';

/** Credential rows of one server, inside a transaction that holds that server's lock. */
export interface ServerCredentialsTransaction {
  findShared(kind: StoredCredentialKind): Promise<CredentialEntity[]>;
  save(rows: CredentialEntity[]): Promise<void>;
  deleteByIds(ids: string[]): Promise<void>;
  deleteAll(): Promise<number>;
}

@Injectable()
export class CredentialsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Runs `work` in one transaction holding a per-server advisory lock, so two
   * replicas replacing one server's credentials at once cannot interleave.
   */
  async inServerTransaction<T>(serverId: string, work: (tx: ServerCredentialsTransaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis.vault.server:${serverId}`]);
      return work(this.transactionFor(manager, serverId));
    });
  }

  private transactionFor(manager: EntityManager, serverId: string): ServerCredentialsTransaction {
    const rows = manager.getRepository(CredentialEntity);
    return {
      findShared: (kind) => rows.find({ where: { serverId, principalId: IsNull(), kind } }),
      save: async (entities) => {
        if (entities.length > 0) await rows.save(entities);
      },
      deleteByIds: async (ids) => {
        if (ids.length > 0) await rows.delete({ serverId, id: In(ids) });
      },
      deleteAll: async () => (await rows.delete({ serverId })).affected ?? 0,
    };
  }

  /** The rows that apply to `principalId` on a server: shared ones and the principal's own. */
  async findApplicable(serverId: string, principalId: string, kind: StoredCredentialKind): Promise<CredentialEntity[]> {
    return this.dataSource
      .getRepository(CredentialEntity)
      .createQueryBuilder('c')
      .where('c.serverId = :serverId AND c.kind = :kind', { serverId, kind })
      .andWhere('(c.principalId IS NULL OR c.principalId = :principalId)', { principalId })
      .orderBy('lower(c.name)', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .getMany();
  }
}
