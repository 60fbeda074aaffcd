import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The OAuth scopes a server or virtual server requires of callers whose token
 * is scope-limited (MCP authorization, RFC 6750 §3.1); none by default, so
 * existing rows keep behaving as before.
 */
export class RequiredScopes1764500000000 implements MigrationInterface {
  readonly name = 'RequiredScopes1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "registry"."servers" ADD COLUMN "required_scopes" text[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "registry"."virtual_servers" ADD COLUMN "required_scopes" text[] NOT NULL DEFAULT '{}'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "registry"."virtual_servers" DROP COLUMN "required_scopes"`);
    await queryRunner.query(`ALTER TABLE "registry"."servers" DROP COLUMN "required_scopes"`);
  }
}
