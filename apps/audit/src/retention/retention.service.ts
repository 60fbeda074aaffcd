import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { AuditChain } from '../events/audit-chain';
import { auditEventOf, AuditEventEntity } from '../events/audit-event.entity';
import { EventsService } from '../events/events.service';
import { AuditError } from '../errors';
import { DEFAULT_PARTITION, EventPartitions, MonthlyPartition, PartitionOutcome, quoteIdentifier } from '../partitions/event-partitions';

// The same lock every append takes: retention and appends never interleave.
const CHAIN_LOCK = 'portcullis.audit.chain';
const VERIFY_BATCH = 1000;

export interface RetentionResult {
  /** The monthly partitions detached and dropped, oldest first. */
  droppedPartitions: string[];
  /** Events removed with them. */
  deleted: number;
  /** The last removed seq and its hash (the remaining chain starts from it); null when no event was removed. */
  throughSeq: number | null;
  anchorHash: string | null;
  /** Retention drops whole months: every event recorded from this instant on is kept (null when nothing was dropped). */
  keptFrom: string | null;
  /** Months entirely before the cutoff kept anyway, because an older event sits in a partition that stays (the default one). */
  heldBack: string[];
  /** What the partition maintenance step did first. */
  partitions: PartitionOutcome[];
}

/** Retention found the part it would delete already broken: it keeps the evidence and stops. */
export class BrokenChainError extends AuditError {
  constructor(readonly firstBrokenSeq: number) {
    super('internal', `the chain is broken at seq ${firstBrokenSeq}; retention refuses to delete tampered evidence`);
  }
}

/**
 * Chain-aware retention by whole partitions: drops every monthly partition
 * of `audit.events` that ends at or before the cutoff — whole months only,
 * never the default partition — after checking that the rows they hold are
 * an intact prefix of the chain, and records the hash the remaining chain
 * starts from. The removal itself is then an audited event in the chain.
 *
 * Runs as the table owner (only the owner can detach and drop partitions;
 * no role can DELETE a row). First it creates the coming months' partitions.
 */
export class RetentionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly partitions: EventPartitions,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async purgeBefore(before: Date, operator: string): Promise<RetentionResult> {
    const maintained = await this.partitions.ensure(this.now());
    const result = await this.dataSource.transaction(async (manager): Promise<RetentionResult> => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CHAIN_LOCK]);
      const monthly = await this.partitions.monthly(manager);
      const expired = monthly.filter((partition) => partition.to.getTime() <= before.getTime());
      const { dropping, throughSeq } = await this.prefixOf(expired, monthly, manager);
      const nothing: RetentionResult = { droppedPartitions: [], deleted: 0, throughSeq: null, anchorHash: null, keptFrom: null, heldBack: names(expired), partitions: maintained };
      if (dropping.length === 0) return nothing;

      const checkpoint: { deleted_through_seq: string; anchor_hash: string }[] = await manager.query(
        `SELECT "deleted_through_seq", "anchor_hash" FROM "audit"."retention_checkpoints" ORDER BY "id" DESC LIMIT 1`,
      );
      const fromSeq = checkpoint[0] ? Number(checkpoint[0].deleted_through_seq) : 0;
      const verified = throughSeq === null ? null : await verifyPrefix(manager, fromSeq, throughSeq, checkpoint[0]?.anchor_hash);

      for (const partition of dropping) {
        await manager.query(`ALTER TABLE "audit"."events" DETACH PARTITION "audit".${quoteIdentifier(partition.name)}`);
        await manager.query(`DROP TABLE "audit".${quoteIdentifier(partition.name)}`);
      }
      const keptFrom = dropping[dropping.length - 1].to.toISOString();
      if (verified !== null && verified.count > 0) {
        await manager.query(`DELETE FROM "audit"."event_ids" WHERE "seq" <= $1`, [throughSeq]);
        await manager.query(
          `INSERT INTO "audit"."retention_checkpoints" ("ran_at", "before_ts", "deleted_through_seq", "deleted_count", "anchor_hash") VALUES ($1, $2, $3, $4, $5)`,
          [this.now().toISOString(), keptFrom, throughSeq, verified.count, verified.anchorHash],
        );
      }
      return {
        droppedPartitions: names(dropping),
        deleted: verified?.count ?? 0,
        throughSeq: verified && verified.count > 0 ? throughSeq : null,
        anchorHash: verified && verified.count > 0 ? verified.anchorHash : null,
        keptFrom,
        heldBack: names(expired.slice(dropping.length)),
        partitions: maintained,
      };
    });
    if (result.droppedPartitions.length > 0) {
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
        reason:
          `retention by ${operator}: dropped partitions ${result.droppedPartitions.join(', ')}, removing ${result.deleted} events` +
          `${result.throughSeq === null ? '' : ` through seq ${result.throughSeq}`} (whole months recorded before ${result.keptFrom}; asked for before ${before.toISOString()})`,
        latencyMs: null,
      });
    }
    return result;
  }

  /**
   * The longest run of the expired partitions (oldest first) whose rows are a
   * prefix of the chain: no row left behind, in any partition (the default
   * one included), may have a lower seq than the last row dropped.
   */
  private async prefixOf(expired: MonthlyPartition[], monthly: MonthlyPartition[], manager: EntityManager): Promise<{ dropping: MonthlyPartition[]; throughSeq: number | null }> {
    if (expired.length === 0) return { dropping: [], throughSeq: null };
    const ranges = new Map<string, { min: number; max: number } | null>();
    for (const name of [...names(monthly), DEFAULT_PARTITION]) ranges.set(name, await this.partitions.seqRange(name, manager));
    for (let count = expired.length; count > 0; count -= 1) {
      const dropping = expired.slice(0, count);
      const dropped = new Set(names(dropping));
      const maxes = dropping.map((p) => ranges.get(p.name)?.max).filter((max): max is number => max !== undefined);
      const throughSeq = maxes.length > 0 ? Math.max(...maxes) : null;
      const kept = [...ranges].filter(([name, range]) => !dropped.has(name) && range !== null).map(([, range]) => range!.min);
      if (throughSeq === null || kept.every((min) => min > throughSeq)) return { dropping, throughSeq };
    }
    return { dropping: [], throughSeq: null };
  }
}

/** Recomputes the links `fromSeq < seq <= throughSeq` from the last checkpoint; the hash of the last one anchors what remains. */
async function verifyPrefix(manager: EntityManager, fromSeq: number, throughSeq: number, checkpointHash: string | undefined): Promise<{ count: number; anchorHash: string }> {
  const chain = new AuditChain(checkpointHash);
  let afterSeq = fromSeq;
  let anchorHash = checkpointHash ?? AuditChain.genesisHash;
  let count = 0;
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
      count += 1;
    }
    afterSeq = rows[rows.length - 1].seq;
  }
  return { count, anchorHash };
}

function names(partitions: MonthlyPartition[]): string[] {
  return partitions.map((partition) => partition.name);
}
