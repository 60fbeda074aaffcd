import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Groups, collaborators, tool settings and tool policies (DESIGN §9), and a version per server for ETags. */
export class CreateAccess1763900000000 implements MigrationInterface {
  readonly name = 'CreateAccess1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "registry"."groups" (
        "id"         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "name"       text        NOT NULL,
        "version"    integer     NOT NULL DEFAULT 1,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "groups_name_key" UNIQUE ("name"),
        CONSTRAINT "groups_name_format" CHECK ("name" ~ '^[a-z0-9][a-z0-9-]{0,62}$')
      )`);
    await queryRunner.query(`
      ALTER TABLE "registry"."servers"
        ADD COLUMN "group_id" uuid REFERENCES "registry"."groups" ("id") ON DELETE SET NULL,
        ADD COLUMN "version"  integer NOT NULL DEFAULT 1`);
    await queryRunner.query(`
      CREATE TABLE "registry"."collaborators" (
        "id"         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "server_id"  uuid        REFERENCES "registry"."servers" ("id") ON DELETE CASCADE,
        "group_id"   uuid        REFERENCES "registry"."groups" ("id") ON DELETE CASCADE,
        "subject"    text        NOT NULL,
        "role"       text        NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "collaborators_one_target" CHECK (("server_id" IS NULL) <> ("group_id" IS NULL)),
        CONSTRAINT "collaborators_role_known" CHECK ("role" IN ('viewer', 'user', 'manager'))
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "collaborators_server_subject_key" ON "registry"."collaborators" ("server_id", "subject") WHERE "server_id" IS NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "collaborators_group_subject_key" ON "registry"."collaborators" ("group_id", "subject") WHERE "group_id" IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE "registry"."tool_settings" (
        "server_id"   uuid        NOT NULL REFERENCES "registry"."servers" ("id") ON DELETE CASCADE,
        "tool"        text        NOT NULL,
        "disabled"    boolean     NOT NULL DEFAULT false,
        "description" text,
        "updated_at"  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("server_id", "tool")
      )`);
    await queryRunner.query(`
      CREATE TABLE "registry"."tool_policies" (
        "id"         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "server_id"  uuid        NOT NULL REFERENCES "registry"."servers" ("id") ON DELETE CASCADE,
        "subject"    text        NOT NULL,
        "allow"      text[],
        "deny"       text[]      NOT NULL DEFAULT '{}',
        "version"    integer     NOT NULL DEFAULT 1,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "tool_policies_server_subject_key" UNIQUE ("server_id", "subject")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "registry"."tool_policies"`);
    await queryRunner.query(`DROP TABLE "registry"."tool_settings"`);
    await queryRunner.query(`DROP TABLE "registry"."collaborators"`);
    await queryRunner.query(`ALTER TABLE "registry"."servers" DROP COLUMN "version", DROP COLUMN "group_id"`);
    await queryRunner.query(`DROP TABLE "registry"."groups"`);
  }
}
