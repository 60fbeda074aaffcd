import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface BrowserSessionRow {
  id: string;
  user_id: string;
  expires_at: Date;
  revoked_at: Date | null;
  email: string | null;
  active: boolean;
}

/** `identity.browser_sessions`: one row per sign-in; the token itself is never stored, only its SHA-256. */
@Injectable()
export class BrowserSessionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(userId: string, tokenHash: string, createdAt: Date, expiresAt: Date): Promise<string> {
    const rows = (await this.dataSource.query(
      `INSERT INTO "identity"."browser_sessions" ("user_id", "token_hash", "created_at", "expires_at") VALUES ($1, $2, $3, $4) RETURNING "id"`,
      [userId, tokenHash, createdAt, expiresAt],
    )) as Array<{ id: string }>;
    return rows[0]!.id;
  }

  async findByTokenHash(tokenHash: string): Promise<BrowserSessionRow | null> {
    const rows = (await this.dataSource.query(
      `SELECT s.id, s.user_id, s.expires_at, s.revoked_at, u.email, u.active
         FROM "identity"."browser_sessions" s JOIN "identity"."users" u ON u.id = s.user_id
        WHERE s.token_hash = $1`,
      [tokenHash],
    )) as BrowserSessionRow[];
    return rows[0] ?? null;
  }

  /** Revokes the session with this token hash; its id and user when one was live. */
  async revokeByTokenHash(tokenHash: string, now: Date): Promise<{ id: string; userId: string } | null> {
    const rows = (await this.dataSource.query(
      `UPDATE "identity"."browser_sessions" SET "revoked_at" = $2 WHERE "token_hash" = $1 AND "revoked_at" IS NULL RETURNING "id", "user_id"`,
      [tokenHash, now],
    )) as [Array<{ id: string; user_id: string }>, number];
    const row = rows[0][0];
    return row ? { id: row.id, userId: row.user_id } : null;
  }

  /** Revokes every live session of a user (deactivation); the ids revoked. */
  async revokeAllOfUser(userId: string, now: Date): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `UPDATE "identity"."browser_sessions" SET "revoked_at" = $2 WHERE "user_id" = $1 AND "revoked_at" IS NULL RETURNING "id"`,
      [userId, now],
    )) as [Array<{ id: string }>, number];
    return rows[0].map((row) => row.id);
  }
}
