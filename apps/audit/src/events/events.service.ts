import { Injectable } from '@nestjs/common';
import type { AuditEvent } from '@portcullis/contracts';
import { Clock } from '../clock';
import { AuditChain } from './audit-chain';
import { AuditTail } from './audit-tail';
import { auditEventOf, AuditEventEntity } from './audit-event.entity';
import type { AuditEventView, ListEventsResponse } from './dto/audit-event-view.dto';
import { encodeCursor } from './dto/events-cursor';
import type { ListEventsQuery } from './dto/list-events.dto';
import { ChainRow, EventsRepository } from './events.repository';

export type RecordResult = { stored: true; seq: number } | { stored: false };

@Injectable()
export class EventsService {
  constructor(
    private readonly repository: EventsRepository,
    private readonly tail: AuditTail,
    private readonly clock: Clock,
  ) {}

  /** Appends one event to the chain; see {@link recordBatch}. */
  async record(event: AuditEvent): Promise<RecordResult> {
    return (await this.recordBatch([event]))[0];
  }

  /**
   * Appends events to the chain in one transaction, in the order given, and
   * returns one result per event. Idempotent by event id: an event already
   * stored (a redelivery), or given twice, is not stored (nor chained) again.
   * All or nothing: when it throws, none of them was stored.
   *
   * The rows are partitioned by when they are recorded (now), never by the
   * producer's `ts`; and never earlier than the newest row, so that every
   * monthly partition holds a contiguous run of the chain even if the clock
   * steps back (retention drops old partitions as a prefix of the chain).
   */
  async recordBatch(events: readonly AuditEvent[]): Promise<RecordResult[]> {
    if (events.length === 0) return [];
    const stored = events.map(normalized);
    const results = await this.repository.appendLocked(async (chain) => {
      const tail = await chain.tail();
      const now = this.clock.now();
      const recordedAt = tail && tail.recordedAt > now ? tail.recordedAt : now;
      const seqs = await chain.claim([...new Set(stored.map((event) => event.id))]);
      const batch: RecordResult[] = [];
      const rows: ChainRow[] = [];
      for (const event of stored) {
        const seq = seqs.get(event.id);
        seqs.delete(event.id); // a second copy in the same batch is a duplicate
        if (seq === undefined) {
          batch.push({ stored: false });
          continue;
        }
        batch.push({ stored: true, seq });
        rows.push({ seq, event, prevHash: '', hash: '', recordedAt });
      }
      // The chain runs in seq order, each link on the one before.
      rows.sort((a, b) => a.seq - b.seq);
      let prevHash = tail?.hash ?? AuditChain.genesisHash;
      for (const row of rows) {
        row.prevHash = prevHash;
        row.hash = AuditChain.hash(prevHash, row.event);
        prevHash = row.hash;
      }
      await chain.insert(rows);
      return batch;
    });
    // After the commit: a live tail that reads now sees the rows.
    const newest = Math.max(0, ...results.map((result) => (result.stored ? result.seq : 0)));
    if (newest > 0) this.tail.notify(newest);
    return results;
  }

  /** One page, newest first. */
  async list(query: ListEventsQuery): Promise<ListEventsResponse> {
    const { limit, cursor, ...filter } = query;
    const rows = await this.repository.findPage(filter, limit + 1, cursor);
    const page = rows.slice(0, limit);
    return {
      items: page.map(viewOf),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].seq) : null,
    };
  }
}

/**
 * The event as it is stored and hashed. `ts` becomes UTC with millisecond
 * precision, the form a `timestamptz` column gives back exactly, so the
 * chain can be recomputed from the columns alone.
 */
function normalized(event: AuditEvent): AuditEvent {
  return { ...event, ts: new Date(event.ts).toISOString() };
}

function viewOf(row: AuditEventEntity): AuditEventView {
  return { seq: row.seq, ...auditEventOf(row), prevHash: row.prevHash, hash: row.hash };
}
