import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Upstream MCP servers. Header names only: their values live in the token vault. */
export class CreateServers1763800000000 implements MigrationInterface {
  readonly name = 'CreateServers1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "registry"."servers" (
        "id"           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        "slug"         text        NOT NULL,
        "name"         text        NOT NULL,
        "url"          text        NOT NULL,
        "transport"    text        NOT NULL DEFAULT 'streamable-http',
        "auth_type"    text        NOT NULL,
        "header_names" text[]      NOT NULL DEFAULT '{}',
        "timeout_ms"   integer     NOT NULL DEFAULT 30000,
        "created_at"   timestamptz NOT NULL DEFAULT now(),
        "updated_at"   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "servers_slug_key" UNIQUE ("slug"),
        CONSTRAINT "servers_slug_format" CHECK ("slug" ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        CONSTRAINT "servers_transport_known" CHECK ("transport" IN ('streamable-http', 'sse')),
        CONSTRAINT "servers_auth_type_known" CHECK ("auth_type" IN ('none', 'header')),
        CONSTRAINT "servers_header_names_match_auth" CHECK (("auth_type" = 'header') = (cardinality("header_names") > 0)),
        CONSTRAINT "servers_timeout_positive" CHECK ("timeout_ms" > 0)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "registry"."servers"`);
  }
}
