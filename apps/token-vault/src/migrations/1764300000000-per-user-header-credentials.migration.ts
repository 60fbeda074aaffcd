import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-user header credentials live in `vault.credentials` as two more kinds:
 * `header_template` (shared, like `header`) and `header_value` (one
 * principal's value of one template variable). The constraint keeps a
 * principal's value from ever being stored as a shared row, or a shared
 * header as someone's own. No earlier code wrote per-principal `header` rows.
 */
export class PerUserHeaderCredentials1764300000000 implements MigrationInterface {
  readonly name = 'PerUserHeaderCredentials1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "vault"."credentials" ADD CONSTRAINT "credentials_kind_scope" CHECK (
        CASE "kind"
          WHEN 'header' THEN "principal_id" IS NULL
          WHEN 'header_template' THEN "principal_id" IS NULL
          WHEN 'header_value' THEN "principal_id" IS NOT NULL
          ELSE false
        END
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "vault"."credentials" DROP CONSTRAINT "credentials_kind_scope"`);
  }
}
