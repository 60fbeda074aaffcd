import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PARTITION_MONTHS_AHEAD } from '../migrations/1764000000000-partition-events.migration';

export interface PartitionOutcome {
  partition: string;
  /** `held-by-default`: rows of that month already sit in the default partition, so the month stays there. */
  outcome: 'created' | 'exists' | 'held-by-default';
}

/** One monthly partition of `audit.events`: rows recorded in `[from, to)`. */
export interface MonthlyPartition {
  name: string;
  from: Date;
  to: Date;
}

export const DEFAULT_PARTITION = 'events_default';

/**
 * The monthly partitions of `audit.events` (UTC months of `recorded_at`).
 * Creating one needs the table owner: the retention command does it, the
 * service tries at start.
 */
@Injectable()
export class EventPartitions {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Makes sure the month of `at` and the next ones exist (the migration's `audit.ensure_event_partitions`). */
  async ensure(at: Date, manager: EntityManager = this.dataSource.manager): Promise<PartitionOutcome[]> {
    const rows: { partition_name: string; outcome: PartitionOutcome['outcome'] }[] = await manager.query(
      `SELECT "partition_name", "outcome" FROM "audit"."ensure_event_partitions"($1::timestamptz, $1::timestamptz + make_interval(months => $2))`,
      [at.toISOString(), PARTITION_MONTHS_AHEAD],
    );
    return rows.map((row) => ({ partition: row.partition_name, outcome: row.outcome }));
  }

  /** Every monthly partition, oldest first (the default partition is not one). */
  async monthly(manager: EntityManager = this.dataSource.manager): Promise<MonthlyPartition[]> {
    const rows: { name: string; from: Date; to: Date }[] = await manager.query(
      `SELECT "name", (regexp_match("bound", 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS "from",
              (regexp_match("bound", 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS "to"
       FROM (SELECT c.relname AS "name", pg_get_expr(c.relpartbound, c.oid) AS "bound"
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = '"audit"."events"'::regclass) AS p
       WHERE "bound" <> 'DEFAULT'
       ORDER BY "to"`,
    );
    return rows.map((row) => ({ name: row.name, from: row.from, to: row.to }));
  }

  /** The lowest and highest seq one partition holds (null when empty); read through its own seq index. */
  async seqRange(partition: string, manager: EntityManager = this.dataSource.manager): Promise<{ min: number; max: number } | null> {
    const rows: { min: string | null; max: string | null }[] = await manager.query(
      `SELECT min("seq") AS "min", max("seq") AS "max" FROM "audit".${quoteIdentifier(partition)}`,
    );
    return rows[0]?.min === null || rows[0]?.min === undefined || rows[0].max === null ? null : { min: Number(rows[0].min), max: Number(rows[0].max) };
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
