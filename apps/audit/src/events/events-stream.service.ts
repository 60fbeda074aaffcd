import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { auditEventOf } from './audit-event.entity';
import { AuditTail } from './audit-tail';
import { EventFilter, EventsRepository } from './events.repository';

const TAIL_BATCH_SIZE = 200;
/** A tail with nothing new re-reads the table this often (other replicas' writes raise no signal here). */
export const TAIL_POLL_MS = 1000;
/** An SSE comment this often keeps proxies from closing an idle stream. */
export const TAIL_HEARTBEAT_MS = 15_000;

/**
 * The live tail behind `GET /api/v1/audit/stream`, as server-sent event
 * frames. Always read from the table in seq order, so a client that resumes
 * with `Last-Event-ID` gets exactly the events after the last one it saw.
 */
@Injectable()
export class EventsStreamService implements BeforeApplicationShutdown {
  /** Ends every open tail at shutdown, so an SSE client cannot hold the HTTP server open. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly repository: EventsRepository,
    private readonly tail: AuditTail,
  ) {}

  /** Where a tail starts: after the client's last event, or after the newest row now. */
  async startSeq(lastEventId: number | undefined): Promise<number> {
    return lastEventId ?? (await this.repository.lastSeq());
  }

  private readonly open = new Set<Promise<void>>();

  /** Ends the tails and waits (briefly) until their responses are finished, before the HTTP server closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await Promise.race([Promise.allSettled([...this.open]), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  /** Runs one tail's response; shutdown waits for it. */
  track(response: Promise<void>): Promise<void> {
    this.open.add(response);
    return response.finally(() => this.open.delete(response));
  }

  async *frames(filter: EventFilter, afterSeq: number, clientGone: AbortSignal): AsyncGenerator<string> {
    const signal = AbortSignal.any([clientGone, this.shutdown.signal]);
    // Tells EventSource clients how long to wait before reconnecting.
    yield `retry: 2000\n\n`;
    let lastHeartbeat = Date.now();
    while (!signal.aborted) {
      // Appends are serialized under the chain lock, so every seq up to the newest committed one is final.
      const newest = await this.repository.lastSeq();
      const rows = await this.repository.findAfter(filter, afterSeq, TAIL_BATCH_SIZE);
      for (const row of rows) {
        yield `id: ${row.seq}\nevent: audit\ndata: ${JSON.stringify({ seq: row.seq, ...auditEventOf(row), prevHash: row.prevHash, hash: row.hash })}\n\n`;
      }
      if (rows.length === TAIL_BATCH_SIZE) {
        afterSeq = rows[rows.length - 1].seq;
        continue;
      }
      // Nothing more matches up to `newest`: the next read starts there, not from the last match.
      afterSeq = Math.max(afterSeq, newest, rows.length > 0 ? rows[rows.length - 1].seq : 0);
      if (Date.now() - lastHeartbeat >= TAIL_HEARTBEAT_MS) {
        lastHeartbeat = Date.now();
        yield `: heartbeat\n\n`;
      }
      await this.tail.waitForAppend(TAIL_POLL_MS, signal);
    }
  }
}
