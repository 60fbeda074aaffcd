import { closeSync, fsyncSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const JOURNAL = /^journal-(\d{16})\.ndjson$/;
/** Events per journal file; a file is deleted once every event in it has settled and no more go in. */
const SEGMENT_EVENTS = 1000;

interface Segment {
  number: number;
  fd: number | null;
  written: number;
  /** Events written here that have not settled yet (acknowledged by the bus, or spooled). */
  pending: number;
}

/**
 * The audit events a publisher holds in memory (waiting for a batch, or for
 * the bus's acknowledgement), also written to local disk as they arrive: one
 * `write` per event, without fsync unless asked (so it survives the process
 * being killed, not the machine losing power). A process that dies leaves the unsettled events
 * here; the next one on the same folder replays them (`leftovers`). What is
 * replayed twice is stored once: the audit writer keeps each event by its id.
 */
export class AuditJournal {
  private current: Segment | null = null;
  private readonly closed = new Map<number, Segment>();
  private nextNumber: number;

  constructor(
    private readonly directory: string,
    private readonly fsync = false,
  ) {
    const numbers = this.files().map((name) => Number(JOURNAL.exec(name)![1]));
    this.nextNumber = numbers.length > 0 ? Math.max(...numbers) + 1 : 0;
  }

  /** Journal files a previous process left on the folder, oldest first: events it had not seen settle. */
  leftovers(): string[] {
    return this.files().sort();
  }

  /** Writes one event's line; returns the segment to settle it in. */
  write(line: string): number {
    const segment = (this.current ??= this.open());
    writeSync(segment.fd!, line);
    if (this.fsync) fsyncSync(segment.fd!);
    segment.written += 1;
    segment.pending += 1;
    if (segment.written >= SEGMENT_EVENTS) this.rotate();
    return segment.number;
  }

  /** The event written to `segment` is acknowledged by the bus or spooled: the journal need not keep it. */
  settle(segment: number): void {
    if (this.current?.number === segment) {
      this.current.pending -= 1;
      return;
    }
    const closed = this.closed.get(segment);
    if (closed === undefined) return;
    closed.pending -= 1;
    if (closed.pending <= 0) this.remove(closed);
  }

  /** Closes the file; removes it when nothing in it is unsettled (else it stays for the next process). */
  close(): void {
    this.rotate();
  }

  private open(): Segment {
    const number = this.nextNumber++;
    return { number, fd: openSync(this.pathOf(number), 'a', 0o600), written: 0, pending: 0 };
  }

  private rotate(): void {
    const segment = this.current;
    if (segment === null) return;
    this.current = null;
    closeSync(segment.fd!);
    segment.fd = null;
    if (segment.pending <= 0) this.remove(segment);
    else this.closed.set(segment.number, segment);
  }

  private remove(segment: Segment): void {
    this.closed.delete(segment.number);
    try {
      unlinkSync(this.pathOf(segment.number));
    } catch {
      // Never thrown at the event that settled last: a file left behind is replayed by the next process, and the
      // audit writer stores each of its events once.
    }
  }

  private pathOf(number: number): string {
    return join(this.directory, `journal-${String(number).padStart(16, '0')}.ndjson`);
  }

  private files(): string[] {
    return readdirSync(this.directory).filter((name) => JOURNAL.test(name));
  }
}
