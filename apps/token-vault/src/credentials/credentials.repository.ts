import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, IsNull, Not } from 'typeorm';
import { CredentialEntity, StoredCredentialKind } from './credential.entity';

/** Credential rows of one server, inside a transaction that holds that server's lock. */
export interface ServerCredentialsTransaction {
  /** Rows shared by every principal (`header`, `header_template`). */
  findShared(kind: StoredCredentialKind): Promise<CredentialEntity[]>;
  /** One principal's own `header_value` rows. */
  findUserValues(principalId: string): Promise<CredentialEntity[]>;
  save(rows: CredentialEntity[]): Promise<void>;
  deleteByIds(ids: string[]): Promise<void>;
  /** Deletes every principal's values of variables not in `keep`; returns how many. */
  deleteUserValuesExcept(keep: string[]): Promise<number>;
  /** Deletes one principal's values; returns how many. */
  deleteUserValues(principalId: string): Promise<number>;
  deleteAll(): Promise<number>;
}

@Injectable()
export class CredentialsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Runs `work` in one transaction holding a per-server advisory lock, so two
   * replicas replacing one server's credentials at once cannot interleave, and
   * a user's values are checked against the template that is current.
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
      findUserValues: (principalId) => rows.find({ where: { serverId, principalId, kind: 'header_value' } }),
      save: async (entities) => {
        if (entities.length > 0) await rows.save(entities);
      },
      deleteByIds: async (ids) => {
        if (ids.length > 0) await rows.delete({ serverId, id: In(ids) });
      },
      deleteUserValuesExcept: async (keep) =>
        (await rows.delete({ serverId, kind: 'header_value', ...(keep.length > 0 ? { name: Not(In(keep)) } : {}) })).affected ?? 0,
      deleteUserValues: async (principalId) => (await rows.delete({ serverId, principalId, kind: 'header_value' })).affected ?? 0,
      deleteAll: async () => (await rows.delete({ serverId })).affected ?? 0,
    };
  }

  /** The rows every principal shares on a server: global headers or per-user templates. */
  async findShared(serverId: string): Promise<CredentialEntity[]> {
    return this.dataSource
      .getRepository(CredentialEntity)
      .createQueryBuilder('c')
      .where('c.serverId = :serverId AND c.principalId IS NULL', { serverId })
      .orderBy('lower(c.name)', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .getMany();
  }

  /**
   * Everything resolve needs for `principalId` on a server: the shared rows
   * (global headers or per-user templates) and that principal's own values,
   * never another principal's.
   */
  async findForPrincipal(serverId: string, principalId: string): Promise<CredentialEntity[]> {
    return this.dataSource
      .getRepository(CredentialEntity)
      .createQueryBuilder('c')
      .where('c.serverId = :serverId', { serverId })
      .andWhere(`(c.principalId IS NULL OR (c.principalId = :principalId AND c.kind = 'header_value'))`, { principalId })
      .orderBy('lower(c.name)', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .getMany();
  }
}
