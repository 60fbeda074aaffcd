import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `audit.events`, append-only: a trigger refuses UPDATE, DELETE and TRUNCATE
 * for every role that does not first disable it (only the table owner or a
 * superuser can), so tampering needs privileges and still breaks the hash chain.
 */
export class CreateEvents1763800000000 implements MigrationInterface {
  readonly name = 'CreateEvents1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "audit"."events" (
        "seq" bigserial PRIMARY KEY,
        "id" uuid NOT NULL,
        "ts" timestamptz NOT NULL,
        "trace_id" text,
        "principal_id" text,
        "principal_kind" text,
        "principal_email" text,
        "actor_id" text,
        "actor_kind" text,
        "actor_email" text,
        "action" text NOT NULL,
        "method" text,
        "server" text,
        "tool" text,
        "credential_kind" text,
        "credential_id" text,
        "outcome" text NOT NULL,
        "reason" text,
        "latency_ms" double precision,
        "prev_hash" text NOT NULL,
        "hash" text NOT NULL,
        CONSTRAINT "events_id_key" UNIQUE ("id"),
        CONSTRAINT "events_prev_hash_format" CHECK ("prev_hash" ~ '^[0-9a-f]{64}$'),
        CONSTRAINT "events_hash_format" CHECK ("hash" ~ '^[0-9a-f]{64}$')
      )`);
    await queryRunner.query(`CREATE INDEX "events_principal_seq_idx" ON "audit"."events" ("principal_id", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_actor_seq_idx" ON "audit"."events" ("actor_id", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_server_seq_idx" ON "audit"."events" ("server", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_trace_idx" ON "audit"."events" ("trace_id")`);
    await queryRunner.query(`CREATE INDEX "events_ts_idx" ON "audit"."events" ("ts")`);
    await queryRunner.query(`
      CREATE FUNCTION "audit"."events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit.events is append-only: % refused', TG_OP;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_rows" BEFORE UPDATE OR DELETE ON "audit"."events"
      FOR EACH ROW EXECUTE FUNCTION "audit"."events_append_only"()`);
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_truncate" BEFORE TRUNCATE ON "audit"."events"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit"."events_append_only"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit"."events"`);
    await queryRunner.query(`DROP FUNCTION "audit"."events_append_only"()`);
  }
}
