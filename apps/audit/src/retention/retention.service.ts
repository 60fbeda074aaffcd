import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditChain } from '../events/audit-chain';
import { auditEventOf, AuditEventEntity } from '../events/audit-event.entity';
import { EventsService } from '../events/events.service';
import { AuditError } from '../errors';

// The same lock every append takes: retention and appends never interleave.
const CHAIN_LOCK = 'portcullis.audit.chain';
const VERIFY_BATCH = 1000;

export type RetentionResult = { deleted: 0 } | { deleted: number; throughSeq: number; anchorHash: string };

/** Retention found the part it would delete already broken: it keeps the evidence and stops. */
export class BrokenChainError extends AuditError {
  constructor(readonly firstBrokenSeq: number) {
    super('internal', `the chain is broken at seq ${firstBrokenSeq}; retention refuses to delete tampered evidence`);
  }
}

/**
 * Chain-aware retention: removes the oldest events, as one prefix of the
 * chain (every row up to the first one stored at or after `before`), after
 * checking that prefix is intact, and records the hash the remaining chain
 * starts from. The removal itself is then an audited event in the chain.
 *
 * Runs as the table owner (the trigger lets a DELETE through only in a
 * transaction that sets `portcullis.audit_retention`; the service's own
 * role has no DELETE privilege at all).
 */
export class RetentionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async purgeBefore(before: Date, operator: string): Promise<RetentionResult> {
    const result = await this.dataSource.transaction(async (manager): Promise<RetentionResult> => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CHAIN_LOCK]);
      // A prefix: rows spooled late can carry an old ts behind newer rows; they wait for a later run.
      const [{ through }]: { through: string | null }[] = await manager.query(
        `SELECT coalesce((SELECT min("seq") - 1 FROM "audit"."events" WHERE "ts" >= $1), (SELECT max("seq") FROM "audit"."events")) AS "through"`,
        [before.toISOString()],
      );
      const checkpoint: { deleted_through_seq: string; anchor_hash: string }[] = await manager.query(
        `SELECT "deleted_through_seq", "anchor_hash" FROM "audit"."retention_checkpoints" ORDER BY "id" DESC LIMIT 1`,
      );
      const fromSeq = checkpoint[0] ? Number(checkpoint[0].deleted_through_seq) : 0;
      const throughSeq = through === null ? 0 : Number(through);
      if (throughSeq <= fromSeq) return { deleted: 0 };

      const chain = new AuditChain(checkpoint[0]?.anchor_hash);
      let afterSeq = fromSeq;
      let anchorHash = checkpoint[0]?.anchor_hash ?? AuditChain.genesisHash;
      while (afterSeq < throughSeq) {
        const rows = await manager
          .getRepository(AuditEventEntity)
          .createQueryBuilder('e')
          .where('e.seq > :afterSeq AND e.seq <= :throughSeq', { afterSeq, throughSeq })
          .orderBy('e.seq', 'ASC')
          .limit(VERIFY_BATCH)
          .getMany();
        if (rows.length === 0) break;
        for (const row of rows) {
          if (!chain.check({ seq: row.seq, event: auditEventOf(row), prevHash: row.prevHash, hash: row.hash })) {
            const verdict = chain.verdict();
            throw new BrokenChainError(verdict.ok ? row.seq : verdict.firstBrokenSeq);
          }
          anchorHash = row.hash;
        }
        afterSeq = rows[rows.length - 1].seq;
      }

      await manager.query(`SET LOCAL portcullis.audit_retention = 'on'`);
      const [{ count }]: { count: number }[] = await manager.query(
        `WITH "removed" AS (DELETE FROM "audit"."events" WHERE "seq" <= $1 RETURNING 1) SELECT count(*)::int AS "count" FROM "removed"`,
        [throughSeq],
      );
      await manager.query(
        `INSERT INTO "audit"."retention_checkpoints" ("ran_at", "before_ts", "deleted_through_seq", "deleted_count", "anchor_hash") VALUES ($1, $2, $3, $4, $5)`,
        [this.now().toISOString(), before.toISOString(), throughSeq, count, anchorHash],
      );
      return { deleted: count, throughSeq, anchorHash };
    });
    if (result.deleted > 0) {
      await this.events.record({
        id: randomUUID(),
        ts: this.now().toISOString(),
        traceId: null,
        principal: null,
        actor: null,
        action: 'admin.change',
        method: 'audit.retention',
        server: null,
        tool: null,
        credentialKind: null,
        credentialId: null,
        outcome: 'success',
        reason: `retention by ${operator}: removed ${result.deleted} events through seq ${'throughSeq' in result ? result.throughSeq : 0} (stored before ${before.toISOString()})`,
        latencyMs: null,
      });
    }
    return result;
  }
}
