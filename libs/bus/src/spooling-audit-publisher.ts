import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_BATCH_MAX_EVENTS, type AuditEvent } from '@portcullis/contracts';
import { AuditJournal } from './audit-journal';
import { auditEventJson, type Bus, checkAuditEvent, checkAuditRecord, type CheckedAuditRecord } from './bus';
import { BusError } from './bus.errors';

/**
 * Where the publisher hands its events on: a bus ({@link busAuditSink}), or
 * something in front of one (the edge's batcher). It validates each event, at
 * once or together with others before they are sent, and settles one that
 * breaks the schema with BusError `INVALID_REQUEST`.
 */
export interface AuditEventSink {
  /**
   * Hands `event` on and calls `settled` once: with no error when the audit
   * stream stored it, with the error when it did not. `json` is the event's
   * {@link auditEventJson}, already written for the journal: what goes to the
   * stream once the event is checked, not serialized again. A callback rather than a
   * promise: this runs on every proxied request, and a promise chain per event
   * (each promise seen by async-local-storage's hook) is work the answer never
   * waits for.
   */
  sendAudit(event: AuditEvent, json: string, settled: (error?: unknown) => void): void;
}

/** A bus as the publisher's sink, one stream message per event, each checked as it comes; the edge puts its batcher there instead. */
export function busAuditSink(bus: Pick<Bus, 'publishCheckedAudit'>): AuditEventSink {
  return {
    sendAudit: (event, json, settled) => {
      let record: CheckedAuditRecord;
      try {
        record = checkAuditRecord(event, json);
      } catch (error) {
        return settled(error);
      }
      void bus.publishCheckedAudit(record).then(() => settled(), settled);
    },
  };
}

/** Resolves once `sink` settled `event` as stored; rejects with the error it settled it with otherwise. */
export function sentTo(sink: AuditEventSink, event: AuditEvent): Promise<void> {
  return new Promise((stored, failed) => sink.sendAudit(event, auditEventJson(event), (error) => (error === undefined ? stored() : failed(error))));
}

/** How one event ended: on the stream, or on disk to be replayed; else (null) the error, and the event is not kept. */
interface Outcome {
  stored: 'published' | 'spooled' | null;
  error?: unknown;
}
type Published = (stored: Outcome['stored'], error?: unknown) => void;

export interface SpoolingAuditPublisherOptions {
  /** Folder of the spool files; created (mode 0700) when missing. One publisher per folder. */
  directory: string;
  /** How often a non-empty spool is offered to the bus again. */
  replayIntervalMs?: number;
  /** fsync every spooled and journaled event (survives power loss, not only a crash); off by default. */
  fsync?: boolean;
  /** Told about every publish that failed and was spooled, and every failed replay. */
  onError?: (what: 'spooled' | 'replay_failed' | 'dropped_invalid', error: unknown) => void;
}

const ACTIVE_FILE = 'active.ndjson';
const SEALED = /^sealed-(\d{16})\.ndjson$/;
const DEFAULT_REPLAY_INTERVAL_MS = 2000;

/**
 * Publishes audit events to the bus, and never loses one when the bus is
 * down (DESIGN §11): a failed publish is appended to a local append-only
 * NDJSON file and replayed, in spool order, once the bus takes events again.
 *
 * While anything is spooled, new events are spooled behind it rather than
 * overtaking it. Replay seals the active file (a rename), publishes its
 * lines in order, up to {@link AUDIT_BATCH_MAX_EVENTS} of them in flight
 * together, and deletes it only when every line was acknowledged; a
 * replay cut short starts the sealed file again from its first line. Events
 * published twice that way are dropped by JetStream (message id = event id)
 * and by the audit writer's idempotent insert, so each is stored once.
 *
 * An event on its way to the bus (the batcher holds events for a few ms, the
 * bus's acknowledgement takes a round trip) is also in an {@link AuditJournal}
 * until it settles, so a process killed meanwhile loses none: the next one on
 * the folder spools what the journal still holds.
 */
export class SpoolingAuditPublisher {
  private readonly directory: string;
  private readonly replayIntervalMs: number;
  private activeFd: number | null = null;
  private spooledEvents = 0;
  private replaying: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextSealNumber = 0;
  private stopped = false;
  private readonly journal: AuditJournal;

  constructor(
    private readonly sink: AuditEventSink,
    private readonly options: SpoolingAuditPublisherOptions,
  ) {
    this.directory = options.directory;
    this.replayIntervalMs = options.replayIntervalMs ?? DEFAULT_REPLAY_INTERVAL_MS;
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    const sealed = this.sealedFiles();
    this.nextSealNumber = sealed.length ? Number(SEALED.exec(sealed[sealed.length - 1])![1]) + 1 : 0;
    // Events a killed process held (still journaled) are spooled; some may have reached the stream, and are then stored once.
    this.journal = new AuditJournal(this.directory, options.fsync);
    for (const file of this.journal.leftovers()) renameSync(join(this.directory, file), join(this.directory, this.nextSealedName()));
    // What a previous process left behind is replayed first.
    for (const file of this.spoolFiles()) this.spooledEvents += countLines(join(this.directory, file));
  }

  /** Starts the periodic replay (and replays once now if anything is spooled). */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.replay(), this.replayIntervalMs);
    this.timer.unref();
    if (this.spooledEvents > 0) void this.replay();
  }

  /** Stops replaying; whatever is still spooled stays on disk for the next process. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.replaying;
    if (this.activeFd !== null) closeSync(this.activeFd);
    this.activeFd = null;
    // Events still unsettled keep their journal file for the next process.
    this.journal.close();
  }

  /**
   * Resolves once the event is acknowledged by the bus or safely spooled.
   * Rejects for an event that can never be valid (it is not spooled), or one
   * that could be neither published nor written to disk.
   */
  publish(event: AuditEvent): Promise<'published' | 'spooled'> {
    return new Promise((resolve, reject) => this.handle(event, (stored, error) => (stored === null ? reject(error) : resolve(stored))));
  }

  /** {@link publish} for a caller that does not wait: only an event that was lost is told to `lost`. */
  record(event: AuditEvent, lost: (error: unknown) => void): void {
    this.handle(event, (stored, error) => {
      if (stored === null) lost(error);
    });
  }

  private handle(event: AuditEvent, done: Published): void {
    if (this.spooledEvents > 0) {
      const spooled = this.spoolChecked(event);
      return done(spooled.stored, spooled.error);
    }
    let segment: number;
    let json: string;
    try {
      // Validated by the sink: the edge's batcher checks a whole batch in one go, where checking each event on its
      // own, on the request's path, was a tenth of the edge's CPU per call (docs/performance.md).
      json = auditEventJson(event);
      segment = this.journal.write(`${json}\n`);
    } catch (error) {
      return done(null, error);
    }
    this.sink.sendAudit(event, json, (error) => {
      const outcome = this.afterPublish(event, error);
      // Only once it is stored or spooled: a crash before this leaves it in the journal.
      this.journal.settle(segment);
      done(outcome.stored, outcome.error);
    });
  }

  /** What becomes of an event the sink answered for: stored, else spooled, else (invalid, or no disk) not kept. */
  private afterPublish(event: AuditEvent, error: unknown): Outcome {
    if (error === undefined) return { stored: 'published' };
    if (error instanceof BusError && error.code === 'INVALID_REQUEST') {
      this.options.onError?.('dropped_invalid', error);
      return { stored: null, error };
    }
    this.options.onError?.('spooled', error);
    return this.spoolChecked(event);
  }

  /** Appends the event to the spool, unless it breaks the schema (reported, and refused) or the disk fails. */
  private spoolChecked(event: AuditEvent): Outcome {
    try {
      this.append(this.check(event));
      return { stored: 'spooled' };
    } catch (error) {
      return { stored: null, error };
    }
  }

  /** Events on disk not yet acknowledged by the bus. */
  spooled(): number {
    return this.spooledEvents;
  }

  /** Replays the spool now; resolves when this attempt ends (the spool may still hold events if the bus is down). */
  replay(): Promise<void> {
    this.replaying ??= this.replayOnce().finally(() => (this.replaying = null));
    return this.replaying;
  }

  private async replayOnce(): Promise<void> {
    // Events spooled while a file is replayed land in a fresh active file: go round until none is left.
    while (this.spooledEvents > 0 && !this.stopped) {
      this.seal();
      for (const file of this.sealedFiles()) {
        if (this.stopped || !(await this.replayFile(join(this.directory, file)))) return;
      }
    }
  }

  /**
   * Publishes one sealed file in order, a batch's worth of events at a time;
   * true when every line was acknowledged and the file deleted.
   */
  private async replayFile(path: string): Promise<boolean> {
    const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
    const events: AuditEvent[] = [];
    for (const line of lines) {
      try {
        events.push(checkAuditEvent(JSON.parse(line)));
      } catch (error) {
        // Only a line torn by a crash mid-write can be invalid: it was never reported as spooled.
        this.options.onError?.('dropped_invalid', error);
      }
    }
    // Handed over together, in order: a batching bus (the edge's) sends them as one message at once. One at a time,
    // each would wait out the batch linger alone, and a spool filling faster than that would never drain under load.
    for (let first = 0; first < events.length; first += AUDIT_BATCH_MAX_EVENTS) {
      const outcomes = await Promise.allSettled(events.slice(first, first + AUDIT_BATCH_MAX_EVENTS).map((event) => sentTo(this.sink, event)));
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) {
        // The whole file is offered again later; what reached the stream meanwhile is stored once.
        this.options.onError?.('replay_failed', failed.reason);
        return false;
      }
    }
    unlinkSync(path);
    this.spooledEvents = Math.max(0, this.spooledEvents - lines.length);
    return true;
  }

  /** The event as the schema has it; reported and thrown when it breaks the schema (it is never spooled). */
  private check(event: AuditEvent): AuditEvent {
    try {
      return checkAuditEvent(event);
    } catch (error) {
      this.options.onError?.('dropped_invalid', error);
      throw error;
    }
  }

  private append(event: AuditEvent): void {
    this.activeFd ??= openSync(join(this.directory, ACTIVE_FILE), 'a', 0o600);
    // One write call per line, so a line is never interleaved with another.
    writeSync(this.activeFd, `${JSON.stringify(event)}\n`);
    if (this.options.fsync) fsyncSync(this.activeFd);
    this.spooledEvents += 1;
  }

  /** Moves the active file behind the sealed ones, so new events go to a fresh file while it is replayed. */
  private seal(): void {
    const active = join(this.directory, ACTIVE_FILE);
    if (this.activeFd !== null) closeSync(this.activeFd);
    this.activeFd = null;
    if (!exists(active)) return;
    renameSync(active, join(this.directory, this.nextSealedName()));
  }

  private nextSealedName(): string {
    return `sealed-${String(this.nextSealNumber++).padStart(16, '0')}.ndjson`;
  }

  private sealedFiles(): string[] {
    return readdirSync(this.directory)
      .filter((name) => SEALED.test(name))
      .sort();
  }

  private spoolFiles(): string[] {
    return readdirSync(this.directory).filter((name) => name === ACTIVE_FILE || SEALED.test(name));
  }
}

function countLines(path: string): number {
  const text = readFileSync(path, 'utf8');
  let count = 0;
  for (const line of text.split('\n')) if (line.length > 0) count++;
  return count;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
