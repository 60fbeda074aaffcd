import { randomInt } from 'node:crypto';
import { backoffDelayMs } from './backoff';
import { Bus, BusOptions, BusSubscription, Headers } from './bus';
import { BusError } from './bus.errors';

type RequestListener = { queue: string; onRequest: (data: string, headers: Headers) => Promise<string> };
type EventListener = (data: string, headers: Headers) => Promise<void>;

// Audit events handed to the consumer before the first is acknowledged (the same bound as NatsBus).
const AUDIT_MAX_IN_FLIGHT = 1024;

const AUDIT_RETRY_FIRST_MS = 500;
const AUDIT_RETRY_MAX_MS = 30_000;

/**
 * The bus inside one process (all-in-one). Messages still cross as JSON text,
 * so handlers never share objects with callers, exactly as over NATS.
 * Audit events are kept in an in-memory log until a consumer acknowledges them.
 */
export class InProcessBus extends Bus {
  readonly transportName = 'in-process';
  private readonly requestListeners = new Map<string, RequestListener[]>();
  private readonly eventListeners = new Map<string, Set<EventListener>>();
  private readonly auditLog: { subject: string; data: string; messageId: string; headers: Headers }[] = [];
  private readonly auditIds = new Set<string>();
  private auditConsumer: ((data: string, headers: Headers) => Promise<void>) | null = null;
  private draining = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** The consumer refused the last delivery (its store is down): closing does not wait for it then. */
  private auditFailing = false;
  /** Requests a handler of this bus is answering right now: closing waits for them. */
  private readonly handling = new Set<Promise<string>>();

  constructor(options: BusOptions = {}) {
    super(options);
  }

  protected async sendRequest(subject: string, data: string, headers: Headers, timeoutMs: number): Promise<string> {
    this.assertOpen();
    const listeners = this.requestListeners.get(subject);
    if (!listeners?.length) throw new BusError('UNAVAILABLE', `no service answers ${subject}`);
    // One member per queue group gets the request, like NATS queue subscriptions.
    const groups = new Map<string, RequestListener[]>();
    for (const l of listeners) groups.set(l.queue, [...(groups.get(l.queue) ?? []), l]);
    const answers = [...groups.values()].map((members) => {
      const answer = members[randomInt(members.length)].onRequest(data, { ...headers });
      this.handling.add(answer);
      void answer.then(
        () => this.handling.delete(answer),
        () => this.handling.delete(answer),
      );
      return answer;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BusError('TIMEOUT', `no answer on ${subject} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([Promise.any(answers), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  protected listen(subject: string, queue: string, onRequest: RequestListener['onRequest']): BusSubscription {
    const listener = { queue, onRequest };
    this.requestListeners.set(subject, [...(this.requestListeners.get(subject) ?? []), listener]);
    return {
      unsubscribe: async () => {
        this.requestListeners.set(subject, (this.requestListeners.get(subject) ?? []).filter((l) => l !== listener));
      },
    };
  }

  protected async broadcast(subject: string, data: string, headers: Headers): Promise<void> {
    this.assertOpen();
    for (const listener of this.eventListeners.get(subject) ?? []) {
      // Delivered asynchronously, as a network would, so a slow listener never blocks the emitter.
      setImmediate(() => void listener(data, { ...headers }));
    }
  }

  protected subscribe(subject: string, onEvent: EventListener): BusSubscription {
    const set = this.eventListeners.get(subject) ?? new Set();
    set.add(onEvent);
    this.eventListeners.set(subject, set);
    return { unsubscribe: async () => void set.delete(onEvent) };
  }

  protected async appendAudit(subject: string, data: string, messageId: string, headers: Headers): Promise<void> {
    this.assertOpen();
    if (this.auditIds.has(messageId)) return; // same de-duplication as JetStream's message id
    this.auditIds.add(messageId);
    this.auditLog.push({ subject, data, messageId, headers: { ...headers } });
    this.drainAudit();
  }

  protected async consumeAuditStream(onEvent: (data: string, headers: Headers) => Promise<void>): Promise<BusSubscription> {
    if (this.auditConsumer) throw new BusError('CONFLICT', 'the audit stream already has a consumer in this process');
    this.auditConsumer = onEvent;
    this.drainAudit();
    return { unsubscribe: async () => void (this.auditConsumer = null) };
  }

  /** Delivers stored events in order; a failed delivery is retried after a pause. */
  private drainAudit(): void {
    if (this.draining || !this.auditConsumer) return;
    this.draining = true;
    setImmediate(async () => {
      let failures = 0;
      try {
        while (this.auditLog.length && this.auditConsumer && !this.closed) {
          if ((await this.deliverAuditWindow(this.auditConsumer)) === 0) {
            failures = 0;
            this.auditFailing = false;
            continue;
          }
          this.auditFailing = true;
          // The same backoff as JetStream redeliveries get (NatsBus): a store that is down is not hammered.
          await new Promise((r) => setTimeout(r, backoffDelayMs(++failures, { firstMs: AUDIT_RETRY_FIRST_MS, maxMs: AUDIT_RETRY_MAX_MS })));
        }
      } finally {
        this.draining = false;
      }
    });
  }

  /**
   * Hands the oldest stored events (up to AUDIT_MAX_IN_FLIGHT) to the consumer at once, as NatsBus does, so
   * the audit writer can store them in one transaction; drops the acknowledged ones from the log and keeps
   * the failed ones first in line. Returns how many failed.
   */
  private async deliverAuditWindow(consumer: (data: string, headers: Headers) => Promise<void>): Promise<number> {
    const window = this.auditLog.slice(0, AUDIT_MAX_IN_FLIGHT);
    const outcomes = await Promise.allSettled(window.map((next) => consumer(next.data, { ...next.headers })));
    const failed = window.filter((_, index) => outcomes[index].status === 'rejected');
    for (const outcome of outcomes) if (outcome.status === 'rejected') this.options.onHandlerError?.('audit', outcome.reason);
    this.auditLog.splice(0, window.length, ...failed);
    return failed.length;
  }

  /** Events appended but not yet acknowledged by the consumer. */
  pendingAuditCount(): number {
    return this.auditLog.length;
  }

  async auditBacklog(): Promise<number | null> {
    return this.auditLog.length;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  /**
   * Lets the requests being answered finish (they may still ask other services), waits for the audit
   * publishes in flight and, while the consumer is storing them, for the events still in memory (they
   * live nowhere else), then stops everything.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
      await this.runBeforeCloseHooks();
      await this.settleAuditPublishes();
      while (this.auditLog.length > 0 && this.auditConsumer && !this.auditFailing) await new Promise((r) => setTimeout(r, 10));
      this.closed = true;
      this.requestListeners.clear();
      this.eventListeners.clear();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('UNAVAILABLE', 'the bus is closed');
  }
}
