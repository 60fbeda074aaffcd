import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * External identities: identity providers, the (provider, subject) pairs
 * users were provisioned from, teams (from the groups claim or made by
 * admins) and virtual accounts. A user first seen through an IdP may have no
 * e-mail, so `users.email` becomes optional (still unique when set).
 */
export class CreateIdentityProviders1763900000000 implements MigrationInterface {
  readonly name = 'CreateIdentityProviders1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "identity"."users" ALTER COLUMN "email" DROP NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE "identity"."identity_providers" (
        "id"         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "name"       text        NOT NULL,
        "issuer"     text        NOT NULL,
        "settings"   jsonb       NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "identity_providers_name_key" UNIQUE ("name")
      )`);
    await queryRunner.query(`CREATE INDEX "identity_providers_issuer_idx" ON "identity"."identity_providers" ("issuer")`);
    await queryRunner.query(`
      CREATE TABLE "identity"."user_identities" (
        "provider_id" uuid        NOT NULL REFERENCES "identity"."identity_providers" ("id") ON DELETE CASCADE,
        "subject"     text        NOT NULL,
        "user_id"     uuid        NOT NULL REFERENCES "identity"."users" ("id") ON DELETE CASCADE,
        "created_at"  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("provider_id", "subject")
      )`);
    await queryRunner.query(`CREATE INDEX "user_identities_user_id_idx" ON "identity"."user_identities" ("user_id")`);
    await queryRunner.query(`
      CREATE TABLE "identity"."teams" (
        "id"         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "name"       text        NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "teams_name_key" UNIQUE ("name")
      )`);
    await queryRunner.query(`
      CREATE TABLE "identity"."team_members" (
        "team_id" uuid NOT NULL REFERENCES "identity"."teams" ("id") ON DELETE CASCADE,
        "user_id" uuid NOT NULL REFERENCES "identity"."users" ("id") ON DELETE CASCADE,
        "source"  text NOT NULL CHECK ("source" IN ('idp', 'admin')),
        PRIMARY KEY ("team_id", "user_id")
      )`);
    await queryRunner.query(`CREATE INDEX "team_members_user_id_idx" ON "identity"."team_members" ("user_id")`);
    await queryRunner.query(`
      CREATE TABLE "identity"."virtual_accounts" (
        "id"             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "name"           text        NOT NULL,
        "description"    text        NULL,
        "created_at"     timestamptz NOT NULL DEFAULT now(),
        "deactivated_at" timestamptz NULL,
        CONSTRAINT "virtual_accounts_name_key" UNIQUE ("name")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "identity"."virtual_accounts"`);
    await queryRunner.query(`DROP TABLE "identity"."team_members"`);
    await queryRunner.query(`DROP TABLE "identity"."teams"`);
    await queryRunner.query(`DROP TABLE "identity"."user_identities"`);
    await queryRunner.query(`DROP TABLE "identity"."identity_providers"`);
    await queryRunner.query(`ALTER TABLE "identity"."users" ALTER COLUMN "email" SET NOT NULL`);
  }
}
