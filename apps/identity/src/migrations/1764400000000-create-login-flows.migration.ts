import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OIDC browser-login flows: the state is kept only as its SHA-256, the PKCE
 * verifier sealed with the identity keyring when one is configured. At most
 * one identity provider has `browserLogin` set.
 */
export class CreateLoginFlows1764400000000 implements MigrationInterface {
  readonly name = 'CreateLoginFlows1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "identity"."login_flows" (
        "id"            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "provider_id"   uuid        NOT NULL REFERENCES "identity"."identity_providers" ("id") ON DELETE CASCADE,
        "state_hash"    char(64)    NOT NULL UNIQUE,
        "nonce"         text        NOT NULL,
        "code_verifier" text        NOT NULL,
        "return_to"     text        NOT NULL,
        "created_at"    timestamptz NOT NULL,
        "expires_at"    timestamptz NOT NULL,
        "consumed_at"   timestamptz NULL
      )`);
    await queryRunner.query(`CREATE INDEX "login_flows_expires_at_idx" ON "identity"."login_flows" ("expires_at")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "identity_providers_one_browser_login" ON "identity"."identity_providers" ((true)) WHERE jsonb_typeof("settings"->'browserLogin') = 'object'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "identity"."identity_providers_one_browser_login"`);
    await queryRunner.query(`DROP TABLE "identity"."login_flows"`);
  }
}
