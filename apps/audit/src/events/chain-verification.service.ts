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
    const upToSeq = await this.repository.lastSeq();
    // After retention the chain starts at the hash of the last removed row, recorded when it was removed.
    const checkpoint = await this.repository.latestRetentionCheckpoint();
    const chain = new AuditChain(checkpoint?.anchorHash);
    let afterSeq = checkpoint?.deletedThroughSeq ?? 0;
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
