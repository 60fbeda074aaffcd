import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Virtual servers: a slug exposing chosen tools of several servers (DESIGN §9), with their own collaborators. */
export class CreateVirtualServers1764000000000 implements MigrationInterface {
  readonly name = 'CreateVirtualServers1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "registry"."virtual_servers" (
        "id"         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "slug"       text        NOT NULL,
        "name"       text        NOT NULL,
        "version"    integer     NOT NULL DEFAULT 1,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "virtual_servers_slug_key" UNIQUE ("slug"),
        CONSTRAINT "virtual_servers_slug_format" CHECK ("slug" ~ '^[a-z0-9][a-z0-9-]{0,62}$')
      )`);
    await queryRunner.query(`
      CREATE TABLE "registry"."virtual_server_tools" (
        "virtual_server_id" uuid    NOT NULL REFERENCES "registry"."virtual_servers" ("id") ON DELETE CASCADE,
        "position"          integer NOT NULL,
        -- A server still exposed by a virtual server cannot be deleted.
        "server_id"         uuid    NOT NULL REFERENCES "registry"."servers" ("id") ON DELETE RESTRICT,
        "tool"              text    NOT NULL,
        "alias"             text    NOT NULL,
        PRIMARY KEY ("virtual_server_id", "alias")
      )`);
    await queryRunner.query(`CREATE INDEX "virtual_server_tools_server_idx" ON "registry"."virtual_server_tools" ("server_id")`);
    await queryRunner.query(`
      ALTER TABLE "registry"."collaborators"
        ADD COLUMN "virtual_server_id" uuid REFERENCES "registry"."virtual_servers" ("id") ON DELETE CASCADE,
        DROP CONSTRAINT "collaborators_one_target",
        ADD CONSTRAINT "collaborators_one_target" CHECK (num_nonnulls("server_id", "group_id", "virtual_server_id") = 1)`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "collaborators_virtual_server_subject_key" ON "registry"."collaborators" ("virtual_server_id", "subject") WHERE "virtual_server_id" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "registry"."collaborators" WHERE "virtual_server_id" IS NOT NULL`);
    await queryRunner.query(`
      ALTER TABLE "registry"."collaborators"
        DROP CONSTRAINT "collaborators_one_target",
        DROP COLUMN "virtual_server_id",
        ADD CONSTRAINT "collaborators_one_target" CHECK (("server_id" IS NULL) <> ("group_id" IS NULL))`);
    await queryRunner.query(`DROP TABLE "registry"."virtual_server_tools"`);
    await queryRunner.query(`DROP TABLE "registry"."virtual_servers"`);
  }
}
