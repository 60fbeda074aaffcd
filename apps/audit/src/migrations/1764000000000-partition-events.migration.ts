import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_WRITER_ROLE } from './1763900000000-audit-writer-role.migration';

/** How many months ahead of the current one partitions are kept ready (the migration, the service at start, retention). */
export const PARTITION_MONTHS_AHEAD = 2;

const EVENT_COLUMNS = `"id", "ts", "trace_id", "principal_id", "principal_kind", "principal_email", "actor_id", "actor_kind", "actor_email",
  "action", "method", "server", "tool", "credential_kind", "credential_id", "outcome", "reason", "latency_ms", "prev_hash", "hash"`;

/**
 * `audit.events` becomes range-partitioned by month on `recorded_at` (when
 * the writer stored the row, never the producer's `ts`, which is old for a
 * spooled event), so each partition holds a contiguous run of seqs and
 * retention drops whole old partitions: a prefix of the chain, without any
 * role ever being able to DELETE a row (the trigger's retention bypass is gone).
 *
 * A partitioned table cannot enforce `UNIQUE (id)` without the partition key,
 * so exactly-once moves to `audit.event_ids`, written in the same transaction.
 * Existing rows are copied in seq order with their seq and hash; their
 * `recorded_at` is the running maximum of `ts` (never later than now), which
 * is monotonic in seq like a real insertion time.
 */
export class PartitionEvents1764000000000 implements MigrationInterface {
  readonly name = 'PartitionEvents1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit"."events" RENAME TO "events_unpartitioned"`);
    // The sequence outlives the old table: seqs continue where they were.
    await queryRunner.query(`
      CREATE TABLE "audit"."events" (
        "seq" bigint NOT NULL DEFAULT nextval('"audit"."events_seq_seq"'),
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
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "events_prev_hash_format" CHECK ("prev_hash" ~ '^[0-9a-f]{64}$'),
        CONSTRAINT "events_hash_format" CHECK ("hash" ~ '^[0-9a-f]{64}$')
      ) PARTITION BY RANGE ("recorded_at")`);
    await queryRunner.query(`ALTER SEQUENCE "audit"."events_seq_seq" OWNED BY "audit"."events"."seq"`);
    await queryRunner.query(`
      CREATE TABLE "audit"."event_ids" (
        "id" uuid PRIMARY KEY,
        "seq" bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "event_ids_seq_idx" ON "audit"."event_ids" ("seq")`);

    // No bypass any more: no role can UPDATE, DELETE or TRUNCATE rows; retention drops partitions.
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "audit"."events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit.events is append-only: % refused', TG_OP;
      END
      $$`);
    // Row triggers are cloned onto every partition; statement (TRUNCATE) triggers are not, so each partition gets its own.
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_rows" BEFORE UPDATE OR DELETE ON "audit"."events"
      FOR EACH ROW EXECUTE FUNCTION "audit"."events_append_only"()`);
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_truncate" BEFORE TRUNCATE ON "audit"."events"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit"."events_append_only"()`);
    // A safety net: a row recorded in a month nobody created a partition for still lands somewhere.
    await queryRunner.query(`CREATE TABLE "audit"."events_default" PARTITION OF "audit"."events" DEFAULT`);
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_truncate" BEFORE TRUNCATE ON "audit"."events_default"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit"."events_append_only"()`);

    // Creates the monthly partitions (UTC) from the month of p_from through the month of p_through.
    // A month whose rows already sit in the default partition is left to the default (reported, not created).
    await queryRunner.query(`
      CREATE FUNCTION "audit"."ensure_event_partitions"(p_from timestamptz, p_through timestamptz)
      RETURNS TABLE ("partition_name" text, "outcome" text) LANGUAGE plpgsql AS $$
      DECLARE
        month_start timestamptz := date_trunc('month', p_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        month_end timestamptz;
      BEGIN
        -- The chain lock: never racing appends, retention or another replica doing the same.
        PERFORM pg_advisory_xact_lock(hashtext('portcullis.audit.chain'));
        WHILE month_start <= p_through LOOP
          month_end := ((month_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
          partition_name := 'events_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
          IF to_regclass(format('"audit".%I', partition_name)) IS NOT NULL THEN
            outcome := 'exists';
          ELSIF EXISTS (SELECT 1 FROM "audit"."events_default" d WHERE d."recorded_at" >= month_start AND d."recorded_at" < month_end) THEN
            outcome := 'held-by-default';
          ELSE
            EXECUTE format('CREATE TABLE "audit".%I PARTITION OF "audit"."events" FOR VALUES FROM (%L) TO (%L)', partition_name, month_start, month_end);
            EXECUTE format('CREATE TRIGGER "events_append_only_truncate" BEFORE TRUNCATE ON "audit".%I FOR EACH STATEMENT EXECUTE FUNCTION "audit"."events_append_only"()', partition_name);
            outcome := 'created';
          END IF;
          RETURN NEXT;
          month_start := month_end;
        END LOOP;
      END
      $$`);
    await queryRunner.query(
      `SELECT * FROM "audit"."ensure_event_partitions"(
         coalesce((SELECT least("ts", now()) FROM "audit"."events_unpartitioned" ORDER BY "seq" LIMIT 1), now()),
         now() + interval '${PARTITION_MONTHS_AHEAD} months')`,
    );

    await queryRunner.query(`
      INSERT INTO "audit"."events" ("seq", ${EVENT_COLUMNS}, "recorded_at")
      SELECT "seq", ${EVENT_COLUMNS}, least(max("ts") OVER (ORDER BY "seq"), now())
      FROM "audit"."events_unpartitioned" ORDER BY "seq"`);
    await queryRunner.query(`INSERT INTO "audit"."event_ids" ("id", "seq") SELECT "id", "seq" FROM "audit"."events_unpartitioned"`);
    await queryRunner.query(`SELECT setval('"audit"."events_seq_seq"', max("seq")) FROM "audit"."events" HAVING max("seq") IS NOT NULL`);
    await queryRunner.query(`DROP TABLE "audit"."events_unpartitioned"`);

    // Unique constraints of a partitioned table must include the partition key; seq comes from one sequence anyway.
    await queryRunner.query(`ALTER TABLE "audit"."events" ADD CONSTRAINT "events_pkey" PRIMARY KEY ("seq", "recorded_at")`);
    await queryRunner.query(`CREATE INDEX "events_principal_seq_idx" ON "audit"."events" ("principal_id", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_actor_seq_idx" ON "audit"."events" ("actor_id", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_server_seq_idx" ON "audit"."events" ("server", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_trace_idx" ON "audit"."events" ("trace_id")`);
    await queryRunner.query(`CREATE INDEX "events_ts_idx" ON "audit"."events" ("ts")`);

    // The new table lost the old grants. Partitions get none: the writer reaches rows only through the parent.
    await queryRunner.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDIT_WRITER_ROLE}') THEN
          REVOKE ALL ON ALL TABLES IN SCHEMA "audit" FROM ${AUDIT_WRITER_ROLE};
          GRANT SELECT, INSERT ON "audit"."events", "audit"."event_ids" TO ${AUDIT_WRITER_ROLE};
          GRANT USAGE ON SEQUENCE "audit"."events_seq_seq" TO ${AUDIT_WRITER_ROLE};
          GRANT SELECT ON "audit"."retention_checkpoints", "audit"."migrations" TO ${AUDIT_WRITER_ROLE};
        END IF;
      END
      $$`);
  }

  /** Back to one plain table with every row; the trigger's old retention bypass is not brought back (rows stay undeletable). */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit"."events" RENAME TO "events_partitioned"`);
    await queryRunner.query(`
      CREATE TABLE "audit"."events" (LIKE "audit"."events_partitioned" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await queryRunner.query(`ALTER TABLE "audit"."events" DROP COLUMN "recorded_at"`);
    await queryRunner.query(`ALTER SEQUENCE "audit"."events_seq_seq" OWNED BY "audit"."events"."seq"`);
    await queryRunner.query(`INSERT INTO "audit"."events" ("seq", ${EVENT_COLUMNS}) SELECT "seq", ${EVENT_COLUMNS} FROM "audit"."events_partitioned" ORDER BY "seq"`);
    await queryRunner.query(`DROP TABLE "audit"."events_partitioned"`);
    await queryRunner.query(`DROP TABLE "audit"."event_ids"`);
    await queryRunner.query(`DROP FUNCTION "audit"."ensure_event_partitions"(timestamptz, timestamptz)`);
    await queryRunner.query(`ALTER TABLE "audit"."events" ADD CONSTRAINT "events_pkey" PRIMARY KEY ("seq"), ADD CONSTRAINT "events_id_key" UNIQUE ("id")`);
    await queryRunner.query(`CREATE INDEX "events_principal_seq_idx" ON "audit"."events" ("principal_id", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_actor_seq_idx" ON "audit"."events" ("actor_id", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_server_seq_idx" ON "audit"."events" ("server", "seq" DESC)`);
    await queryRunner.query(`CREATE INDEX "events_trace_idx" ON "audit"."events" ("trace_id")`);
    await queryRunner.query(`CREATE INDEX "events_ts_idx" ON "audit"."events" ("ts")`);
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_rows" BEFORE UPDATE OR DELETE ON "audit"."events"
      FOR EACH ROW EXECUTE FUNCTION "audit"."events_append_only"()`);
    await queryRunner.query(`
      CREATE TRIGGER "events_append_only_truncate" BEFORE TRUNCATE ON "audit"."events"
      FOR EACH STATEMENT EXECUTE FUNCTION "audit"."events_append_only"()`);
    await queryRunner.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDIT_WRITER_ROLE}') THEN
          GRANT SELECT, INSERT ON "audit"."events" TO ${AUDIT_WRITER_ROLE};
        END IF;
      END
      $$`);
  }
}
