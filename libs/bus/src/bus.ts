import { Attributes, context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  AUDIT_BATCH_MAX_EVENTS,
  AuditBatchSubjects,
  AuditEvent,
  AuditEventBatch,
  AuditEventBatchSchema,
  auditEventFields,
  AuditEventSchema,
  auditSubjectOf,
  BusReplySchema,
  EventContracts,
  EventOf,
  EventSubject,
  RequestContracts,
  RequestOf,
  RequestSubject,
  ResponseOf,
} from '@portcullis/contracts';
import type { z } from 'zod';
import { BusError } from './bus.errors';

export interface RequestOptions {
  /** How long the caller waits for an answer before failing closed. */
  timeoutMs?: number;
}

export interface HandlerContext {
  subject: string;
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: number;
}

export type RequestHandler<S extends RequestSubject> = (payload: RequestOf<S>, ctx: HandlerContext) => Promise<ResponseOf<S>>;
export type EventHandler<E extends EventSubject> = (payload: EventOf<E>) => void | Promise<void>;
/** Resolving acknowledges the event; throwing leaves it to be delivered again. */
export type AuditHandler = (event: AuditEvent) => Promise<void>;

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

export type Headers = Record<string, string>;

/** One request a handler answered: for latency metrics. `outcome` is `ok` or the bus error code answered. */
export interface HandledRequest {
  subject: string;
  queue: string;
  seconds: number;
  outcome: string;
}
export type HandlerObserver = (handled: HandledRequest) => void;

export interface BusOptions {
  /** Prepended to every subject (and to the audit stream name), so test runs do not meet. */
  subjectPrefix?: string;
  defaultTimeoutMs?: number;
  /** Called for handler failures that are not typed bus errors. */
  onHandlerError?: (subject: string, error: unknown) => void;
}

declare const auditEventChecked: unique symbol;
/**
 * An audit event that passed {@link AuditEventSchema} ({@link checkAuditEvent}):
 * the bus appends it without parsing it again. Only that function makes one.
 */
export type CheckedAuditEvent = AuditEvent & { readonly [auditEventChecked]: true };

/**
 * An audit event's text as it goes to the stream: its schema's fields only
 * (`auditEventFields`), so a field the schema does not know is never written.
 * A producer that journals its events serializes each one once, here, and the
 * journal line and the stream message carry the same text (serializing it a
 * second time for the batch was a few per cent of the edge's work per call,
 * docs/performance.md).
 */
export function auditEventJson(event: AuditEvent): string {
  return JSON.stringify(auditEventFields(event));
}

/** A checked event with its {@link auditEventJson} text, which the bus appends as it is. Only {@link checkAuditRecord} makes one. */
export interface CheckedAuditRecord {
  readonly event: CheckedAuditEvent;
  readonly json: string;
}

/**
 * {@link checkAuditEvent}, keeping the text `auditEventJson(event)` gave. The
 * schema only checks (no defaults, no transforms), so a valid event's checked
 * form has the same fields and values as that text (audit-event-json.spec.ts).
 * @throws BusError `INVALID_REQUEST` when the event is not valid
 */
export function checkAuditRecord(event: AuditEvent, json: string): CheckedAuditRecord {
  return { event: checkAuditEvent(event), json };
}

/**
 * Validates an audit event once, for a producer that hands it on (spool,
 * batcher, bus) without each step parsing it again.
 * @throws BusError `INVALID_REQUEST` (the zod error as cause) when it is not a valid event
 */
export function checkAuditEvent(event: unknown): CheckedAuditEvent {
  return parseOrThrow(AuditEventSchema, event, 'INVALID_REQUEST', 'audit event') as CheckedAuditEvent;
}

const DEADLINE_HEADER = 'portcullis-deadline';
const tracer = trace.getTracer('@portcullis/bus');

/**
 * The message bus every service talks over. Subclasses move bytes (NATS or
 * in-process); this class owns the semantics both must share: contract
 * validation on both sides, typed error replies, deadlines and trace context.
 */
export abstract class Bus {
  protected readonly prefix: string;
  protected readonly defaultTimeoutMs: number;
  private readonly handlerObservers = new Set<HandlerObserver>();
  /** Audit publishes not yet acknowledged: a closing bus waits for them rather than dropping them. */
  private readonly auditPublishes = new Set<Promise<void>>();
  private readonly closeHooks = new Set<() => Promise<void>>();

  constructor(protected readonly options: BusOptions = {}) {
    this.prefix = options.subjectPrefix ?? '';
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5000;
  }

  /** Short name of the transport, for logs and health output. */
  abstract readonly transportName: string;

  protected abstract sendRequest(subject: string, data: string, headers: Headers, timeoutMs: number): Promise<string>;
  protected abstract listen(subject: string, queue: string, onRequest: (data: string, headers: Headers) => Promise<string>): BusSubscription;
  protected abstract broadcast(subject: string, data: string, headers: Headers): Promise<void>;
  protected abstract subscribe(subject: string, onEvent: (data: string, headers: Headers) => Promise<void>): BusSubscription;
  protected abstract appendAudit(subject: string, data: string, messageId: string, headers: Headers): Promise<void>;
  protected abstract consumeAuditStream(onEvent: (data: string, headers: Headers) => Promise<void>): Promise<BusSubscription>;
  /** Resolves when the transport can carry messages; rejects with the reason otherwise. */
  abstract ping(): Promise<void>;
  /**
   * Audit events stored on the bus but not yet acknowledged by the audit
   * writer (the audit lag), or null when the transport cannot tell (no consumer yet).
   */
  abstract auditBacklog(): Promise<number | null>;
  abstract close(): Promise<void>;

  protected subjectOf(subject: string): string {
    return this.prefix ? `${this.prefix}.${subject}` : subject;
  }

  async request<S extends RequestSubject>(subject: S, payload: RequestOf<S>, options: RequestOptions = {}): Promise<ResponseOf<S>> {
    const contract = RequestContracts[subject];
    const request = parseOrThrow(contract.request, payload, 'INVALID_REQUEST', `request on ${subject}`);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return tracer.startActiveSpan(`${subject} request`, { kind: SpanKind.CLIENT, attributes: { 'messaging.destination.name': subject } }, async (span) => {
      try {
        const headers: Headers = { [DEADLINE_HEADER]: String(Date.now() + timeoutMs) };
        propagation.inject(context.active(), headers);
        const raw = await this.sendRequest(this.subjectOf(subject), JSON.stringify(request), headers, timeoutMs);
        const reply = BusReplySchema.safeParse(safeJson(raw));
        if (!reply.success) throw new BusError('INVALID_RESPONSE', `malformed reply on ${subject}`);
        if (!reply.data.ok) throw BusError.fromBody(reply.data.error);
        return parseOrThrow(contract.response, reply.data.data, 'INVALID_RESPONSE', `reply on ${subject}`) as ResponseOf<S>;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof BusError ? error.code : 'error' });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /**
   * Runs `hook` when the bus starts closing, once its handlers in flight have
   * answered and while it still carries messages: the last chance to publish
   * (the edge sends its pending audit batch and replays its spool). Returns the
   * function that removes the hook.
   */
  beforeClose(hook: () => Promise<void>): () => void {
    this.closeHooks.add(hook);
    return () => void this.closeHooks.delete(hook);
  }

  protected async runBeforeCloseHooks(): Promise<void> {
    const hooks = [...this.closeHooks];
    this.closeHooks.clear();
    for (const outcome of await Promise.allSettled(hooks.map((hook) => hook()))) {
      if (outcome.status === 'rejected') this.options.onHandlerError?.('close', outcome.reason);
    }
  }

  /** Calls `observer` after every request a handler of this bus answered; returns the function that stops it. */
  observeHandlers(observer: HandlerObserver): () => void {
    this.handlerObservers.add(observer);
    return () => void this.handlerObservers.delete(observer);
  }

  reply<S extends RequestSubject>(subject: S, queue: string, handler: RequestHandler<S>): BusSubscription {
    const contract = RequestContracts[subject];
    return this.listen(this.subjectOf(subject), queue, async (data, headers) => {
      const deadline = Number(headers[DEADLINE_HEADER]) || Date.now() + this.defaultTimeoutMs;
      return context.with(propagation.extract(ROOT_CONTEXT, headers), () =>
        tracer.startActiveSpan(`${subject} handle`, { kind: SpanKind.SERVER, attributes: { 'messaging.destination.name': subject } }, async (span) => {
          const started = performance.now();
          let outcome = 'ok';
          try {
            const request = parseOrThrow(contract.request, safeJson(data), 'INVALID_REQUEST', `request on ${subject}`);
            const response = await handler(request as RequestOf<S>, { subject, deadline });
            const checked = parseOrThrow(contract.response, response, 'INTERNAL', `handler reply on ${subject}`);
            return JSON.stringify({ ok: true, data: checked });
          } catch (error) {
            const busError = error instanceof BusError ? error : new BusError('INTERNAL', `${subject} failed`, undefined, { cause: error });
            if (!(error instanceof BusError)) this.options.onHandlerError?.(subject, error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: busError.code });
            outcome = busError.code;
            return JSON.stringify({ ok: false, error: busError.toBody() });
          } finally {
            span.end();
            const handled = { subject, queue, seconds: (performance.now() - started) / 1000, outcome };
            for (const observer of this.handlerObservers) observer(handled);
          }
        }),
      );
    });
  }

  async emit<E extends EventSubject>(subject: E, payload: EventOf<E>): Promise<void> {
    const event = parseOrThrow(EventContracts[subject], payload, 'INVALID_REQUEST', `event on ${subject}`);
    const headers: Headers = {};
    propagation.inject(context.active(), headers);
    await this.broadcast(this.subjectOf(subject), JSON.stringify(event), headers);
  }

  on<E extends EventSubject>(subject: E, handler: EventHandler<E>): BusSubscription {
    const schema = EventContracts[subject];
    return this.subscribe(this.subjectOf(subject), async (data) => {
      const parsed = schema.safeParse(safeJson(data));
      if (!parsed.success) {
        this.options.onHandlerError?.(subject, new BusError('INVALID_REQUEST', `invalid event on ${subject}`));
        return;
      }
      try {
        await handler(parsed.data as EventOf<E>);
      } catch (error) {
        this.options.onHandlerError?.(subject, error);
      }
    });
  }

  /** Appends an audit event durably; resolves once the stream has acknowledged it. */
  async publishAudit(event: AuditEvent): Promise<void> {
    return this.publishCheckedAudit(checkAuditRecord(event, auditEventJson(event)));
  }

  /** {@link publishAudit} of an event already validated by {@link checkAuditRecord}, appended as its text. */
  async publishCheckedAudit({ event, json }: CheckedAuditRecord): Promise<void> {
    const subject = auditSubjectOf(event.action);
    return this.appendAuditTraced(subject, { 'messaging.destination.name': subject }, json, event.id);
  }

  /** Appends one stream message inside a producer span, with the trace context in its headers. */
  private appendAuditTraced(subject: string, attributes: Attributes, data: string, messageId: string): Promise<void> {
    return tracer.startActiveSpan(`${subject} publish`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
      try {
        const headers: Headers = {};
        propagation.inject(context.active(), headers);
        await this.appendAuditTracked(this.subjectOf(subject), data, messageId, headers);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof BusError ? error.code : 'error' });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /**
   * Resolves once every audit publish started so far (and any started meanwhile) has been acknowledged or
   * has failed, and none is left after a whole turn of the event loop: one settling may start the next
   * (the edge sends the events gathered meanwhile as soon as its message in flight is acknowledged).
   */
  protected async settleAuditPublishes(): Promise<void> {
    do {
      while (this.auditPublishes.size > 0) await Promise.allSettled([...this.auditPublishes]);
      await new Promise((resolve) => setImmediate(resolve));
    } while (this.auditPublishes.size > 0);
  }

  /** `appendAudit`, with the publish tracked until it settles, so a closing bus waits for it. */
  private async appendAuditTracked(subject: string, data: string, messageId: string, headers: Headers): Promise<void> {
    const appended = this.appendAudit(subject, data, messageId, headers);
    const tracked = appended.catch(() => undefined).finally(() => this.auditPublishes.delete(tracked));
    this.auditPublishes.add(tracked);
    await appended;
  }

  /**
   * Appends several audit events as one stream message (message id = batch
   * id); resolves once the stream has acknowledged it. One acknowledgement
   * for the whole batch instead of one per event; each event is still
   * stored once by its own id.
   */
  async publishAuditBatch(batch: AuditEventBatch, subject: (typeof AuditBatchSubjects)[keyof typeof AuditBatchSubjects] = AuditBatchSubjects.edge): Promise<void> {
    const checked = parseOrThrow(AuditEventBatchSchema, batch, 'INVALID_REQUEST', 'audit event batch');
    return this.appendAuditBatch(checked.id, checked.events.map(auditEventJson), subject);
  }

  /**
   * {@link publishAuditBatch} of events already validated by {@link checkAuditRecord}: one to
   * {@link AUDIT_BATCH_MAX_EVENTS} of them, under a fresh batch id, each appended as its text.
   */
  async publishCheckedAuditBatch(id: string, records: readonly CheckedAuditRecord[], subject: (typeof AuditBatchSubjects)[keyof typeof AuditBatchSubjects] = AuditBatchSubjects.edge): Promise<void> {
    if (records.length < 1 || records.length > AUDIT_BATCH_MAX_EVENTS) throw new BusError('INVALID_REQUEST', `an audit event batch holds 1 to ${AUDIT_BATCH_MAX_EVENTS} events, not ${records.length}`);
    return this.appendAuditBatch(id, records.map((record) => record.json), subject);
  }

  /** One message of the events' texts as they are, not parsed and serialized again: an {@link AuditEventBatch} as JSON. */
  private appendAuditBatch(id: string, eventsJson: readonly string[], subject: string): Promise<void> {
    const attributes = { 'messaging.destination.name': subject, 'messaging.batch.message_count': eventsJson.length };
    return this.appendAuditTraced(subject, attributes, `{"id":${JSON.stringify(id)},"events":[${eventsJson.join(',')}]}`, id);
  }

  /**
   * Delivers each stored audit event to `handler` until it resolves (at
   * least once). The events of a batch message are handed over together and
   * the message is acknowledged once every one of them resolved.
   */
  async consumeAudit(handler: AuditHandler): Promise<BusSubscription> {
    return this.consumeAuditStream(async (data, headers) => {
      const message = safeJson(data);
      const isBatch = typeof message === 'object' && message !== null && 'events' in message;
      const parsed = isBatch ? AuditEventBatchSchema.safeParse(message) : AuditEventSchema.safeParse(message);
      // A message that can never be valid is dropped rather than redelivered forever.
      if (!parsed.success) {
        this.options.onHandlerError?.('audit', new BusError('INVALID_REQUEST', isBatch ? 'invalid audit event batch dropped' : 'invalid audit event dropped'));
        return;
      }
      const events = 'events' in parsed.data ? parsed.data.events : [parsed.data];
      // The writer's work joins the trace of the request that produced the event.
      const subject = 'events' in parsed.data ? 'audit.batch' : auditSubjectOf(parsed.data.action);
      await context.with(propagation.extract(ROOT_CONTEXT, headers), () =>
        tracer.startActiveSpan(`${subject} consume`, { kind: SpanKind.CONSUMER, attributes: { 'messaging.destination.name': subject } }, async (span) => {
          try {
            // A failed event has the whole message delivered again; the events already stored are then skipped by id.
            const failed = (await Promise.allSettled(events.map((event) => handler(event)))).find((outcome) => outcome.status === 'rejected');
            if (failed) throw failed.reason;
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: 'error' });
            throw error;
          } finally {
            span.end();
          }
        }),
      );
    });
  }
}

function safeJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, code: 'INVALID_REQUEST' | 'INVALID_RESPONSE' | 'INTERNAL', what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message }));
  throw new BusError(code, `invalid ${what}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
}
