import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The auditor role: may read the audit trail (compliance API), nothing more. */
export class AddUserAuditor1764200000000 implements MigrationInterface {
  readonly name = 'AddUserAuditor1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "identity"."users" ADD COLUMN "is_auditor" boolean NOT NULL DEFAULT false`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "identity"."users" DROP COLUMN "is_auditor"`);
  }
}
