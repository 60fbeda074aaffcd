import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The principal's kind on flows and connections, so the vault's audit events name their principal fully. */
export class OAuthPrincipalKind1764500000000 implements MigrationInterface {
  readonly name = 'OAuthPrincipalKind1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "vault"."oauth_flows" ADD COLUMN "principal_kind" text`);
    await queryRunner.query(`ALTER TABLE "vault"."oauth_tokens" ADD COLUMN "principal_kind" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "vault"."oauth_tokens" DROP COLUMN "principal_kind"`);
    await queryRunner.query(`ALTER TABLE "vault"."oauth_flows" DROP COLUMN "principal_kind"`);
  }
}
