import { Inject, Injectable } from '@nestjs/common';
import type { AuditEvent } from '@portcullis/contracts';
import { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
import { AuditEventEntity } from './audit-event.entity';
import type { ListEventsQuery } from './dto/list-events.dto';

// One chain per database: every writer, in every replica, takes this lock to append.
const CHAIN_LOCK = 'portcullis.audit.chain';

/** The newest link: its hash and when it was recorded (or, once retention removed every row, the checkpoint it left). */
export interface ChainTail {
  hash: string;
  recordedAt: Date;
}

/** One row to append: the event and its place in the chain. */
export interface ChainRow {
  seq: number;
  event: AuditEvent;
  prevHash: string;
  hash: string;
  recordedAt: Date;
}

/** The chain's tail, seen from inside the append transaction that holds the lock. */
export interface ChainAppender {
  tail(): Promise<ChainTail | null>;
  /**
   * Claims the ids not stored yet (in the order given) and returns the seq
   * each claimed id gets; an id already stored is left out of the map.
   */
  claim(ids: readonly string[]): Promise<Map<string, number>>;
  /** Inserts rows whose ids this transaction claimed, in one statement. */
  insert(rows: readonly ChainRow[]): Promise<void>;
}

export type EventFilter = Omit<ListEventsQuery, 'limit' | 'cursor'>;

@Injectable()
export class EventsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Runs `work` in one transaction holding the chain lock, so appends never interleave. */
  async appendLocked<T>(work: (appender: ChainAppender) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CHAIN_LOCK]);
      return work(this.appender(manager));
    });
  }

  private appender(manager: EntityManager): ChainAppender {
    return {
      tail: async () => {
        const rows: { hash: string; recorded_at: Date }[] = await manager.query(`SELECT "hash", "recorded_at" FROM "audit"."events" ORDER BY "seq" DESC LIMIT 1`);
        if (rows[0]) return { hash: rows[0].hash, recordedAt: rows[0].recorded_at };
        // Retention removed every row: the chain goes on from the last removed one, after the months it dropped.
        const checkpoints: { anchor_hash: string; before_ts: Date }[] = await manager.query(
          `SELECT "anchor_hash", "before_ts" FROM "audit"."retention_checkpoints" ORDER BY "id" DESC LIMIT 1`,
        );
        return checkpoints[0] ? { hash: checkpoints[0].anchor_hash, recordedAt: checkpoints[0].before_ts } : null;
      },
      claim: async (ids) => {
        // The partitioned table cannot hold UNIQUE (id): `event_ids` does; seqs are drawn in the order given.
        const rows: { id: string; seq: string }[] = await manager.query(
          `INSERT INTO "audit"."event_ids" ("id", "seq")
           SELECT "t"."id", nextval('"audit"."events_seq_seq"') FROM unnest($1::uuid[]) WITH ORDINALITY AS "t"("id", "n") ORDER BY "t"."n"
           ON CONFLICT ("id") DO NOTHING
           RETURNING "id", "seq"`,
          [ids],
        );
        return new Map(rows.map((row) => [row.id, Number(row.seq)]));
      },
      insert: async (rows) => {
        if (rows.length === 0) return;
        // One parameter for the whole batch: no limit on bind parameters, one round trip.
        await manager.query(
          `INSERT INTO "audit"."events" ("seq", "id", "ts", "trace_id", "principal_id", "principal_kind", "principal_email",
             "actor_id", "actor_kind", "actor_email", "action", "method", "server", "tool", "credential_kind",
             "credential_id", "outcome", "reason", "latency_ms", "prev_hash", "hash", "recorded_at")
           SELECT "seq", "id", "ts", "trace_id", "principal_id", "principal_kind", "principal_email",
             "actor_id", "actor_kind", "actor_email", "action", "method", "server", "tool", "credential_kind",
             "credential_id", "outcome", "reason", "latency_ms", "prev_hash", "hash", "recorded_at"
           FROM jsonb_to_recordset($1::jsonb) AS "r"("seq" bigint, "id" uuid, "ts" timestamptz, "trace_id" text,
             "principal_id" text, "principal_kind" text, "principal_email" text, "actor_id" text, "actor_kind" text,
             "actor_email" text, "action" text, "method" text, "server" text, "tool" text, "credential_kind" text,
             "credential_id" text, "outcome" text, "reason" text, "latency_ms" double precision, "prev_hash" text,
             "hash" text, "recorded_at" timestamptz)`,
          [JSON.stringify(rows.map(columnsOf))],
        );
      },
    };
  }

  /** Newest first, strictly older than `beforeSeq` when given; at most `limit` rows. */
  async findPage(filter: EventFilter, limit: number, beforeSeq?: number): Promise<AuditEventEntity[]> {
    const query = this.dataSource.getRepository(AuditEventEntity).createQueryBuilder('e').orderBy('e.seq', 'DESC').limit(limit);
    if (beforeSeq !== undefined) query.andWhere('e.seq < :beforeSeq', { beforeSeq });
    return withFilter(query, filter).getMany();
  }

  /** Oldest first, strictly newer than `afterSeq`; at most `limit` rows (export and live tail walk the table with it). */
  async findAfter(filter: EventFilter, afterSeq: number, limit: number): Promise<AuditEventEntity[]> {
    const query = this.dataSource
      .getRepository(AuditEventEntity)
      .createQueryBuilder('e')
      .where('e.seq > :afterSeq', { afterSeq })
      .orderBy('e.seq', 'ASC')
      .limit(limit);
    return withFilter(query, filter).getMany();
  }

  /** The newest retention checkpoint: the chain now starts after `deletedThroughSeq`, following `anchorHash`. */
  async latestRetentionCheckpoint(): Promise<{ deletedThroughSeq: number; anchorHash: string } | null> {
    const rows: { deleted_through_seq: string; anchor_hash: string }[] = await this.dataSource.query(
      `SELECT "deleted_through_seq", "anchor_hash" FROM "audit"."retention_checkpoints" ORDER BY "id" DESC LIMIT 1`,
    );
    return rows[0] ? { deletedThroughSeq: Number(rows[0].deleted_through_seq), anchorHash: rows[0].anchor_hash } : null;
  }

  /** The stored link just before `seq` (seqs can have gaps), or null when there is none. */
  async findLinkBefore(seq: number): Promise<{ seq: number; hash: string } | null> {
    const rows: { seq: string; hash: string }[] = await this.dataSource.query(
      `SELECT "seq", "hash" FROM "audit"."events" WHERE "seq" < $1 ORDER BY "seq" DESC LIMIT 1`,
      [seq],
    );
    return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : null;
  }

  /** Highest seq stored now, or 0 for an empty table. */
  async lastSeq(): Promise<number> {
    const rows: { seq: string | null }[] = await this.dataSource.query(`SELECT max("seq") AS "seq" FROM "audit"."events"`);
    return rows[0]?.seq === null || rows[0]?.seq === undefined ? 0 : Number(rows[0].seq);
  }

  /** Rows in chain order with `afterSeq < seq <= upToSeq`, at most `limit` of them. */
  async findChainSlice(afterSeq: number, upToSeq: number, limit: number): Promise<AuditEventEntity[]> {
    return this.dataSource
      .getRepository(AuditEventEntity)
      .createQueryBuilder('e')
      .where('e.seq > :afterSeq AND e.seq <= :upToSeq', { afterSeq, upToSeq })
      .orderBy('e.seq', 'ASC')
      .limit(limit)
      .getMany();
  }
}

function withFilter(query: SelectQueryBuilder<AuditEventEntity>, filter: EventFilter): SelectQueryBuilder<AuditEventEntity> {
  if (filter.principal !== undefined) query.andWhere('e.principalId = :principal', { principal: filter.principal });
  if (filter.actor !== undefined) query.andWhere('e.actorId = :actor', { actor: filter.actor });
  if (filter.server !== undefined) query.andWhere('e.server = :server', { server: filter.server });
  if (filter.tool !== undefined) query.andWhere('e.tool = :tool', { tool: filter.tool });
  if (filter.action !== undefined) query.andWhere('e.action = :action', { action: filter.action });
  if (filter.outcome !== undefined) query.andWhere('e.outcome = :outcome', { outcome: filter.outcome });
  if (filter.traceId !== undefined) query.andWhere('e.traceId = :traceId', { traceId: filter.traceId });
  if (filter.from !== undefined) query.andWhere('e.ts >= :from', { from: filter.from });
  if (filter.to !== undefined) query.andWhere('e.ts < :to', { to: filter.to });
  return query;
}

function columnsOf({ seq, event, prevHash, hash, recordedAt }: ChainRow): Record<string, unknown> {
  return {
    seq,
    id: event.id,
    ts: event.ts,
    trace_id: event.traceId,
    principal_id: event.principal?.id ?? null,
    principal_kind: event.principal?.kind ?? null,
    principal_email: event.principal?.email ?? null,
    actor_id: event.actor?.id ?? null,
    actor_kind: event.actor?.kind ?? null,
    actor_email: event.actor?.email ?? null,
    action: event.action,
    method: event.method,
    server: event.server,
    tool: event.tool,
    credential_kind: event.credentialKind,
    credential_id: event.credentialId,
    outcome: event.outcome,
    reason: event.reason,
    latency_ms: event.latencyMs,
    prev_hash: prevHash,
    hash,
    recorded_at: recordedAt.toISOString(),
  };
}
