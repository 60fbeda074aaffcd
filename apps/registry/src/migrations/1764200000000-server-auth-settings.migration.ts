import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound auth beyond static headers: whether a header set is one value for
 * everyone or a per-user template, and which OAuth grant an `oauth2` server
 * uses (its settings and secrets live in the token vault).
 */
export class ServerAuthSettings1764200000000 implements MigrationInterface {
  readonly name = 'ServerAuthSettings1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "registry"."servers" ADD COLUMN "header_mode" text, ADD COLUMN "oauth_grant_type" text`);
    await queryRunner.query(`UPDATE "registry"."servers" SET "header_mode" = 'global' WHERE "auth_type" = 'header'`);
    await queryRunner.query(`
      ALTER TABLE "registry"."servers"
        DROP CONSTRAINT "servers_auth_type_known",
        ADD CONSTRAINT "servers_auth_type_known" CHECK ("auth_type" IN ('none', 'header', 'oauth2', 'passthrough')),
        ADD CONSTRAINT "servers_header_mode_known" CHECK ("header_mode" IN ('global', 'per_user')),
        ADD CONSTRAINT "servers_grant_type_known" CHECK ("oauth_grant_type" IN ('authorization_code', 'client_credentials', 'token_exchange')),
        ADD CONSTRAINT "servers_header_mode_only_for_headers" CHECK (("auth_type" = 'header') = ("header_mode" IS NOT NULL)),
        ADD CONSTRAINT "servers_grant_only_for_oauth2" CHECK (("auth_type" = 'oauth2') = ("oauth_grant_type" IS NOT NULL))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "registry"."servers"
        DROP CONSTRAINT "servers_grant_only_for_oauth2",
        DROP CONSTRAINT "servers_grant_type_known",
        DROP CONSTRAINT "servers_header_mode_known",
        DROP CONSTRAINT "servers_header_mode_only_for_headers",
        DROP COLUMN "oauth_grant_type",
        DROP COLUMN "header_mode"`);
    await queryRunner.query(`DELETE FROM "registry"."servers" WHERE "auth_type" NOT IN ('none', 'header')`);
    await queryRunner.query(`ALTER TABLE "registry"."servers" DROP CONSTRAINT "servers_auth_type_known", ADD CONSTRAINT "servers_auth_type_known" CHECK ("auth_type" IN ('none', 'header'))`);
  }
}
