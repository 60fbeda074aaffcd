import { Injectable } from '@nestjs/common';
import type { AuditEvent } from '@portcullis/contracts';
import { Clock } from '../clock';
import { AuditChain } from './audit-chain';
import { AuditTail } from './audit-tail';
import { auditEventOf, AuditEventEntity } from './audit-event.entity';
import type { AuditEventView, ListEventsResponse } from './dto/audit-event-view.dto';
import { encodeCursor } from './dto/events-cursor';
import type { ListEventsQuery } from './dto/list-events.dto';
import { EventsRepository } from './events.repository';

export type RecordResult = { stored: true; seq: number } | { stored: false };

@Injectable()
export class EventsService {
  constructor(
    private readonly repository: EventsRepository,
    private readonly tail: AuditTail,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends one event to the chain. Idempotent by event id: a redelivered
   * event is not stored (nor chained) twice.
   *
   * The row is partitioned by when it is recorded (now), never by the
   * producer's `ts`; and never earlier than the newest row, so that every
   * monthly partition holds a contiguous run of the chain even if the clock
   * steps back (retention drops old partitions as a prefix of the chain).
   */
  async record(event: AuditEvent): Promise<RecordResult> {
    const stored = normalized(event);
    const result: RecordResult = await this.repository.appendLocked(async (chain) => {
      const tail = await chain.tail();
      const prevHash = tail?.hash ?? AuditChain.genesisHash;
      const now = this.clock.now();
      const recordedAt = tail && tail.recordedAt > now ? tail.recordedAt : now;
      const inserted = await chain.insert(stored, prevHash, AuditChain.hash(prevHash, stored), recordedAt);
      return inserted ? { stored: true, seq: inserted.seq } : { stored: false };
    });
    // After the commit: a live tail that reads now sees the row.
    if (result.stored) this.tail.notify(result.seq);
    return result;
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
