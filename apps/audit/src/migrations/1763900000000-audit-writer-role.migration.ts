import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The role production runs the audit service as: it may read and append, never change or remove. */
export const AUDIT_WRITER_ROLE = 'portcullis_audit_writer';

/**
 * Append-only by privilege as well as by trigger (DESIGN §11): a NOLOGIN
 * role with SELECT and INSERT on the trail and nothing else, which the
 * service's login role is made a member of. UPDATE, DELETE and TRUNCATE fail
 * on privilege before any trigger is consulted, and only the table owner
 * (the migrating role) can disable the trigger.
 *
 * Also `retention_checkpoints`: where retention (a separate command, run as
 * the owner) records the hash the remaining chain starts from, so `verify`
 * still recomputes every remaining link after old rows are removed.
 */
export class AuditWriterRole1763900000000 implements MigrationInterface {
  readonly name = 'AuditWriterRole1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "audit"."retention_checkpoints" (
        "id" bigserial PRIMARY KEY,
        "ran_at" timestamptz NOT NULL,
        "before_ts" timestamptz NOT NULL,
        "deleted_through_seq" bigint NOT NULL,
        "deleted_count" bigint NOT NULL,
        "anchor_hash" text NOT NULL CHECK ("anchor_hash" ~ '^[0-9a-f]{64}$')
      )`);
    // Retention removes a prefix of the chain, row by row, only inside a transaction that says so
    // (SET LOCAL portcullis.audit_retention = 'on'); UPDATE and TRUNCATE stay refused for everyone.
    // Anyone able to set that also owns the table, and could disable the trigger anyway.
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "audit"."events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('portcullis.audit_retention', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit.events is append-only: % refused', TG_OP;
      END
      $$`);
    // Roles belong to the cluster, not the database: create it once, tolerate it existing, and
    // do not fail where the migrating role may not create roles (grant by hand there, see docs/audit.md).
    await queryRunner.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDIT_WRITER_ROLE}') THEN
          BEGIN
            CREATE ROLE ${AUDIT_WRITER_ROLE} NOLOGIN;
          EXCEPTION WHEN insufficient_privilege OR duplicate_object THEN
            RAISE NOTICE 'role ${AUDIT_WRITER_ROLE} not created: %', SQLERRM;
          END;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDIT_WRITER_ROLE}') THEN
          EXECUTE format('GRANT CONNECT ON DATABASE %I TO ${AUDIT_WRITER_ROLE}', current_database());
          GRANT USAGE ON SCHEMA "audit" TO ${AUDIT_WRITER_ROLE};
          REVOKE ALL ON ALL TABLES IN SCHEMA "audit" FROM ${AUDIT_WRITER_ROLE};
          GRANT SELECT, INSERT ON "audit"."events" TO ${AUDIT_WRITER_ROLE};
          GRANT USAGE ON SEQUENCE "audit"."events_seq_seq" TO ${AUDIT_WRITER_ROLE};
          GRANT SELECT ON "audit"."retention_checkpoints", "audit"."migrations" TO ${AUDIT_WRITER_ROLE};
        END IF;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDIT_WRITER_ROLE}') THEN
          REVOKE ALL ON ALL TABLES IN SCHEMA "audit" FROM ${AUDIT_WRITER_ROLE};
          REVOKE ALL ON ALL SEQUENCES IN SCHEMA "audit" FROM ${AUDIT_WRITER_ROLE};
          REVOKE USAGE ON SCHEMA "audit" FROM ${AUDIT_WRITER_ROLE};
        END IF;
      END
      $$`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "audit"."events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit.events is append-only: % refused', TG_OP;
      END
      $$`);
    await queryRunner.query(`DROP TABLE "audit"."retention_checkpoints"`);
  }
}
