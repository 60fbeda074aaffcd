import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `vault.credentials`. Uniqueness treats a null principal (shared value) as
 * one principal, through two partial indexes; header names compare
 * case-insensitively, as HTTP does.
 */
export class CreateCredentials1763800000000 implements MigrationInterface {
  readonly name = 'CreateCredentials1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "vault"."credentials" (
        "id" uuid PRIMARY KEY,
        "server_id" uuid NOT NULL,
        "principal_id" text,
        "kind" text NOT NULL,
        "name" text NOT NULL,
        "sealed_value" text NOT NULL,
        "key_id" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL,
        CONSTRAINT "credentials_name_not_empty" CHECK ("name" <> ''),
        CONSTRAINT "credentials_principal_not_empty" CHECK ("principal_id" IS NULL OR "principal_id" <> '')
      )`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX "credentials_shared_unique" ON "vault"."credentials" ("server_id", "kind", lower("name"))
      WHERE "principal_id" IS NULL`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX "credentials_principal_unique" ON "vault"."credentials" ("server_id", "principal_id", "kind", lower("name"))
      WHERE "principal_id" IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "credentials_key_id_idx" ON "vault"."credentials" ("key_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "vault"."credentials"`);
  }
}
