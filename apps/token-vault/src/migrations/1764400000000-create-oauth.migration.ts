import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Upstream OAuth: per-server settings, consent flows, and tokens per
 * (principal, server). A null principal on a token is the server's own
 * client_credentials token; two partial indexes make each pair unique.
 */
export class CreateOAuth1764400000000 implements MigrationInterface {
  readonly name = 'CreateOAuth1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "vault"."oauth_settings" (
        "server_id" uuid PRIMARY KEY,
        "server_slug" text NOT NULL,
        "resource" text NOT NULL,
        "grant_type" text NOT NULL CHECK ("grant_type" IN ('authorization_code', 'client_credentials', 'token_exchange')),
        "client_id" text,
        "sealed_client_secret" text,
        "key_id" text,
        "authorization_url" text,
        "token_url" text,
        "revocation_url" text,
        "issuer" text,
        "scopes" text[] NOT NULL DEFAULT '{}',
        "token_endpoint_auth_method" text NOT NULL CHECK ("token_endpoint_auth_method" IN ('client_secret_basic', 'client_secret_post', 'none')),
        "created_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "vault"."oauth_flows" (
        "id" uuid PRIMARY KEY,
        "server_id" uuid NOT NULL,
        "server_slug" text NOT NULL,
        "principal_id" text NOT NULL CHECK ("principal_id" <> ''),
        "state_hash" text UNIQUE,
        "sealed_code_verifier" text NOT NULL,
        "key_id" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "consumed_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX "oauth_flows_pending_idx" ON "vault"."oauth_flows" ("server_id", "principal_id") WHERE "consumed_at" IS NULL`);
    await queryRunner.query(`CREATE INDEX "oauth_flows_expires_idx" ON "vault"."oauth_flows" ("expires_at")`);
    await queryRunner.query(`
      CREATE TABLE "vault"."oauth_tokens" (
        "id" uuid PRIMARY KEY,
        "server_id" uuid NOT NULL,
        "principal_id" text CHECK ("principal_id" IS NULL OR "principal_id" <> ''),
        "grant_type" text NOT NULL CHECK ("grant_type" IN ('authorization_code', 'client_credentials', 'token_exchange')),
        "status" text NOT NULL CHECK ("status" IN ('active', 'needs_consent')),
        "sealed_access_token" text,
        "sealed_refresh_token" text,
        "key_id" text,
        "scopes" text[] NOT NULL DEFAULT '{}',
        "issued_at" timestamptz,
        "expires_at" timestamptz,
        "refresh_failures" integer NOT NULL DEFAULT 0,
        "retry_after" timestamptz,
        "created_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "oauth_tokens_principal_unique" ON "vault"."oauth_tokens" ("server_id", "principal_id") WHERE "principal_id" IS NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "oauth_tokens_server_unique" ON "vault"."oauth_tokens" ("server_id") WHERE "principal_id" IS NULL`);
    await queryRunner.query(`CREATE INDEX "oauth_tokens_principal_idx" ON "vault"."oauth_tokens" ("principal_id")`);
    // What the refresh scheduler scans.
    await queryRunner.query(`CREATE INDEX "oauth_tokens_due_idx" ON "vault"."oauth_tokens" ("expires_at") WHERE "status" = 'active'`);
    await queryRunner.query(`CREATE INDEX "oauth_tokens_key_id_idx" ON "vault"."oauth_tokens" ("key_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "vault"."oauth_tokens"`);
    await queryRunner.query(`DROP TABLE "vault"."oauth_flows"`);
    await queryRunner.query(`DROP TABLE "vault"."oauth_settings"`);
  }
}
