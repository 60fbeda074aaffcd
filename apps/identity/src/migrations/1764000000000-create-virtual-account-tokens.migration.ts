import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tokens of virtual accounts (SHA-256 only, like API keys; a rotation sets the
 * old token's `expires_at` to the end of its grace period), whether a virtual
 * account may exchange user tokens (RFC 8693; the exchange itself comes later).
 */
export class CreateVirtualAccountTokens1764000000000 implements MigrationInterface {
  readonly name = 'CreateVirtualAccountTokens1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "identity"."virtual_accounts" ADD COLUMN "can_exchange" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`
      CREATE TABLE "identity"."virtual_account_tokens" (
        "id"                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "virtual_account_id" uuid        NOT NULL REFERENCES "identity"."virtual_accounts" ("id") ON DELETE CASCADE,
        "name"               text        NOT NULL,
        "prefix"             text        NOT NULL,
        "token_hash"         char(64)    NOT NULL,
        "created_at"         timestamptz NOT NULL,
        "expires_at"         timestamptz NULL,
        "last_used_at"       timestamptz NULL,
        "revoked_at"         timestamptz NULL,
        CONSTRAINT "virtual_account_tokens_token_hash_key" UNIQUE ("token_hash"),
        CONSTRAINT "virtual_account_tokens_token_hash_hex" CHECK ("token_hash" ~ '^[0-9a-f]{64}$')
      )`);
    await queryRunner.query(`CREATE INDEX "virtual_account_tokens_account_idx" ON "identity"."virtual_account_tokens" ("virtual_account_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "identity"."virtual_account_tokens"`);
    await queryRunner.query(`ALTER TABLE "identity"."virtual_accounts" DROP COLUMN "can_exchange"`);
  }
}
