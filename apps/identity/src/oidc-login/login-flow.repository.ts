import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface LoginFlowRow {
  id: string;
  provider_id: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  expires_at: Date;
}

/** `identity.login_flows`: one row per started OIDC login; the state itself is never stored, only its SHA-256. */
@Injectable()
export class LoginFlowRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(flow: { id: string; providerId: string; stateHash: string; nonce: string; codeVerifier: string; returnTo: string; createdAt: Date; expiresAt: Date }): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO "identity"."login_flows" ("id", "provider_id", "state_hash", "nonce", "code_verifier", "return_to", "created_at", "expires_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [flow.id, flow.providerId, flow.stateHash, flow.nonce, flow.codeVerifier, flow.returnTo, flow.createdAt, flow.expiresAt],
    );
    // Old flows are of no use to anyone; dropped as new ones start.
    await this.dataSource.query(`DELETE FROM "identity"."login_flows" WHERE "expires_at" < $1`, [new Date(flow.createdAt.getTime() - 24 * 60 * 60_000)]);
  }

  /**
   * Marks the flow with this state hash consumed, in one statement, and returns
   * it; null when there is none or it was already used (a replayed state).
   */
  async consume(stateHash: string, now: Date): Promise<LoginFlowRow | null> {
    const rows = (await this.dataSource.query(
      `UPDATE "identity"."login_flows" SET "consumed_at" = $2 WHERE "state_hash" = $1 AND "consumed_at" IS NULL
        RETURNING "id", "provider_id", "nonce", "code_verifier", "return_to", "expires_at"`,
      [stateHash, now],
    )) as [LoginFlowRow[], number];
    return rows[0][0] ?? null;
  }
}
