import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface VirtualAccountRow {
  id: string;
  name: string;
  description: string | null;
  can_exchange: boolean;
  created_at: Date;
}

export interface VirtualAccountTokenRow {
  id: string;
  virtual_account_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const TOKEN_COLUMNS = 'id, virtual_account_id, name, prefix, created_at, expires_at, last_used_at, revoked_at';

/** Virtual accounts and their tokens (only SHA-256 hashes are stored). A deleted account is gone with its tokens. */
@Injectable()
export class VirtualAccountRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insert(account: { name: string; description: string | null; canExchange: boolean; createdAt: Date }): Promise<VirtualAccountRow | undefined> {
    return (
      (await this.dataSource.query(
        `INSERT INTO "identity"."virtual_accounts" (name, description, can_exchange, created_at) VALUES ($1, $2, $3, $4)
          ON CONFLICT (name) DO NOTHING RETURNING id, name, description, can_exchange, created_at`,
        [account.name, account.description, account.canExchange, account.createdAt],
      )) as VirtualAccountRow[]
    )[0];
  }

  list(): Promise<VirtualAccountRow[]> {
    return this.dataSource.query(`SELECT id, name, description, can_exchange, created_at FROM "identity"."virtual_accounts" WHERE deactivated_at IS NULL ORDER BY name`);
  }

  async findByName(name: string, manager: EntityManager = this.dataSource.manager): Promise<VirtualAccountRow | undefined> {
    return (
      (await manager.query(`SELECT id, name, description, can_exchange, created_at FROM "identity"."virtual_accounts" WHERE name = $1 AND deactivated_at IS NULL`, [
        name,
      ])) as VirtualAccountRow[]
    )[0];
  }

  /** A live account by id (token exchange re-checks it at every use). */
  async findById(id: string): Promise<VirtualAccountRow | undefined> {
    return (
      (await this.dataSource.query(`SELECT id, name, description, can_exchange, created_at FROM "identity"."virtual_accounts" WHERE id = $1 AND deactivated_at IS NULL`, [
        id,
      ])) as VirtualAccountRow[]
    )[0];
  }

  async update(id: string, changes: { description?: string | null; canExchange?: boolean }): Promise<void> {
    if (changes.description !== undefined) await this.dataSource.query(`UPDATE "identity"."virtual_accounts" SET description = $2 WHERE id = $1`, [id, changes.description]);
    if (changes.canExchange !== undefined) await this.dataSource.query(`UPDATE "identity"."virtual_accounts" SET can_exchange = $2 WHERE id = $1`, [id, changes.canExchange]);
  }

  /** Returns the ids of the tokens that went with it. */
  async delete(id: string): Promise<string[]> {
    return this.dataSource.transaction(async (manager) => {
      const tokens = (await manager.query(`SELECT id FROM "identity"."virtual_account_tokens" WHERE virtual_account_id = $1`, [id])) as { id: string }[];
      await manager.query(`DELETE FROM "identity"."virtual_accounts" WHERE id = $1`, [id]);
      return tokens.map((t) => t.id);
    });
  }

  async insertToken(
    token: { virtualAccountId: string; name: string; prefix: string; tokenHash: string; createdAt: Date; expiresAt: Date | null },
    manager: EntityManager = this.dataSource.manager,
  ): Promise<VirtualAccountTokenRow> {
    return (
      (await manager.query(
        `INSERT INTO "identity"."virtual_account_tokens" (virtual_account_id, name, prefix, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
          RETURNING ${TOKEN_COLUMNS}`,
        [token.virtualAccountId, token.name, token.prefix, token.tokenHash, token.createdAt, token.expiresAt],
      )) as VirtualAccountTokenRow[]
    )[0];
  }

  listTokens(virtualAccountId: string): Promise<VirtualAccountTokenRow[]> {
    return this.dataSource.query(`SELECT ${TOKEN_COLUMNS} FROM "identity"."virtual_account_tokens" WHERE virtual_account_id = $1 ORDER BY created_at DESC, id`, [virtualAccountId]);
  }

  async findToken(virtualAccountId: string, id: string, manager: EntityManager = this.dataSource.manager): Promise<VirtualAccountTokenRow | undefined> {
    return (
      (await manager.query(`SELECT ${TOKEN_COLUMNS} FROM "identity"."virtual_account_tokens" WHERE virtual_account_id = $1 AND id = $2 FOR UPDATE`, [
        virtualAccountId,
        id,
      ])) as VirtualAccountTokenRow[]
    )[0];
  }

  /** Ends a token at `at`: now (revocation) or the end of a grace period (rotation). Never extends an earlier end. */
  async endToken(id: string, at: Date, revoke: boolean, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.query(
      `UPDATE "identity"."virtual_account_tokens" SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END,
         revoked_at = CASE WHEN $3 AND revoked_at IS NULL THEN $2 ELSE revoked_at END WHERE id = $1`,
      [id, at, revoke],
    );
  }

  /** The token with this hash and its account, for authentication. */
  async findByTokenHash(tokenHash: string): Promise<(VirtualAccountTokenRow & { account_name: string; can_exchange: boolean }) | undefined> {
    return (
      (await this.dataSource.query(
        `SELECT t.id, t.virtual_account_id, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, a.name AS account_name, a.can_exchange
           FROM "identity"."virtual_account_tokens" t JOIN "identity"."virtual_accounts" a ON a.id = t.virtual_account_id
          WHERE t.token_hash = $1 AND a.deactivated_at IS NULL`,
        [tokenHash],
      )) as (VirtualAccountTokenRow & { account_name: string; can_exchange: boolean })[]
    )[0];
  }

  /** Records a use unless one was recorded after `staleBefore`. */
  async touchToken(id: string, at: Date, staleBefore: Date): Promise<void> {
    await this.dataSource.query(`UPDATE "identity"."virtual_account_tokens" SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, [id, at, staleBefore]);
  }
}
