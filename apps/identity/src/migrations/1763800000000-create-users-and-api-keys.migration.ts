import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Users and their API keys. E-mails are stored lower-cased (enforced), tokens only as SHA-256 hex. */
export class CreateUsersAndApiKeys1763800000000 implements MigrationInterface {
  readonly name = 'CreateUsersAndApiKeys1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "identity"."users" (
        "id"           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "email"        text        NOT NULL,
        "display_name" text        NULL,
        "is_admin"     boolean     NOT NULL DEFAULT false,
        "active"       boolean     NOT NULL DEFAULT true,
        "created_at"   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "users_email_key" UNIQUE ("email"),
        CONSTRAINT "users_email_lowercase" CHECK ("email" = lower("email"))
      )`);
    await queryRunner.query(`
      CREATE TABLE "identity"."api_keys" (
        "id"           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id"      uuid        NOT NULL REFERENCES "identity"."users" ("id") ON DELETE CASCADE,
        "name"         text        NOT NULL,
        "prefix"       text        NOT NULL,
        "token_hash"   char(64)    NOT NULL,
        "is_admin"     boolean     NOT NULL DEFAULT false,
        "created_at"   timestamptz NOT NULL DEFAULT now(),
        "expires_at"   timestamptz NULL,
        "last_used_at" timestamptz NULL,
        "revoked_at"   timestamptz NULL,
        CONSTRAINT "api_keys_token_hash_key" UNIQUE ("token_hash"),
        CONSTRAINT "api_keys_token_hash_hex" CHECK ("token_hash" ~ '^[0-9a-f]{64}$')
      )`);
    await queryRunner.query(`CREATE INDEX "api_keys_user_id_idx" ON "identity"."api_keys" ("user_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "identity"."api_keys"`);
    await queryRunner.query(`DROP TABLE "identity"."users"`);
  }
}
