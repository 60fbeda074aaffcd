import { Injectable } from '@nestjs/common';
import { AuditChain, ChainVerdict } from './audit-chain';
import { auditEventOf } from './audit-event.entity';
import { EventsRepository } from './events.repository';

const BATCH_SIZE = 1000;

@Injectable()
export class ChainVerificationService {
  constructor(private readonly repository: EventsRepository) {}

  /**
   * Recomputes the chain from its first row up to the newest row stored when
   * the check began, in batches so the table never has to fit in memory.
   */
  async verify(batchSize = BATCH_SIZE): Promise<ChainVerdict> {
    return this.verifyRange({}, batchSize);
  }

  /**
   * Recomputes the links with `from <= seq <= to` (both optional). A range
   * starting mid-chain starts from the stored hash of the row just before it:
   * that row's own integrity is what a check of the range before proves.
   */
  async verifyRange(range: { from?: number; to?: number }, batchSize = BATCH_SIZE): Promise<ChainVerdict> {
    const newest = await this.repository.lastSeq();
    const upToSeq = range.to === undefined ? newest : Math.min(range.to, newest);
    // After retention the chain starts at the hash of the last removed row, recorded when it was removed.
    const checkpoint = await this.repository.latestRetentionCheckpoint();
    let afterSeq = checkpoint?.deletedThroughSeq ?? 0;
    let anchorHash = checkpoint?.anchorHash;
    if (range.from !== undefined && range.from - 1 > afterSeq) {
      const before = await this.repository.findLinkBefore(range.from);
      if (before && before.seq > afterSeq) {
        afterSeq = before.seq;
        anchorHash = before.hash;
      }
    }
    const chain = new AuditChain(anchorHash);
    for (;;) {
      const rows = await this.repository.findChainSlice(afterSeq, upToSeq, batchSize);
      for (const row of rows) {
        if (!chain.check({ seq: row.seq, event: auditEventOf(row), prevHash: row.prevHash, hash: row.hash })) return chain.verdict();
      }
      if (rows.length < batchSize) return chain.verdict();
      afterSeq = rows[rows.length - 1].seq;
    }
  }
}
