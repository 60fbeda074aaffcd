import { AuditStream } from '@portcullis/contracts';
import {
  AckPolicy,
  connect,
  deadline,
  DeliverPolicy,
  ErrorCode,
  headers as natsHeaders,
  JetStreamClient,
  JetStreamManager,
  Msg,
  MsgHdrs,
  nanos,
  NatsConnection,
  NatsError,
  StorageType,
  StringCodec,
  TlsOptions,
} from 'nats';
import { backoffDelayMs } from './backoff';
import { Bus, BusOptions, BusSubscription, Headers } from './bus';
import { BusError } from './bus.errors';

export interface NatsBusOptions extends BusOptions {
  /** Server URLs, comma-separated (`nats://a:4222,nats://b:4222`). */
  servers: string;
  /** Connection name the server shows in its monitoring: the service's name. */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  tls?: TlsOptions;
  /**
   * Where this connection receives replies (default `_INBOX`). Each service
   * gets its own (`_INBOX_<service>`), so NATS permissions can keep every
   * service from reading another's answers (deploy/nats/nats-server.conf).
   */
  inboxPrefix?: string;
}

const codec = StringCodec();
const PING_TIMEOUT_MS = 2000;
const AUDIT_ACK_WAIT_MS = 30_000;
const AUDIT_RETRY_FIRST_MS = 500;
const AUDIT_RETRY_MAX_MS = 30_000;
const AUDIT_PULL_EXPIRES_MS = 5_000;
// Audit messages handed to the writer before the first is acknowledged: a few of its batches' worth.
const AUDIT_MAX_IN_FLIGHT = 1024;

/**
 * The bus over NATS: core request/reply in queue groups, core pub/sub for
 * cache-invalidation events, and a JetStream stream for audit events.
 */
export class NatsBus extends Bus {
  readonly transportName = 'nats';
  /** Name of the JetStream stream holding this bus's audit events. */
  readonly auditStream: string;
  private readonly js: JetStreamClient;
  private readonly subscriptions = new Set<BusSubscription>();
  private closing?: Promise<void>;

  private constructor(
    private readonly nc: NatsConnection,
    options: BusOptions,
  ) {
    super(options);
    this.js = nc.jetstream();
    // Stream names may not contain '.', '*', '>' or separators, which prefixes may.
    this.auditStream = this.prefix ? `${AuditStream.name}_${this.prefix.replace(/[^A-Za-z0-9_-]/g, '_')}` : AuditStream.name;
  }

  /** Connects and ensures the audit stream exists, so the first audit event has somewhere to go. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const { servers, name, user, pass, token, tls, inboxPrefix, ...busOptions } = options;
    let nc: NatsConnection;
    try {
      // Reconnect forever: a service outliving a NATS restart reports unready rather than dying.
      nc = await connect({
        servers: servers.split(',').map((s) => s.trim()),
        name,
        user,
        pass,
        token,
        tls,
        inboxPrefix,
        maxReconnectAttempts: -1,
        // Without it the client builds an Error (a stack capture) for every request and publish ack: a fifth of the
        // edge's CPU per call went there (docs/performance.md). Errors still carry their code and message.
        noAsyncTraces: true,
      });
    } catch (error) {
      // A `user:password@` in the URL is never repeated (NATS_USER and NATS_PASSWORD are the way to give them).
      throw unavailable(`cannot connect to NATS at ${servers.replace(/\/\/[^@/\s]*@/g, '//')}`, error);
    }
    const bus = new NatsBus(nc, busOptions);
    try {
      await bus.ensureAuditStream(await nc.jetstreamManager());
    } catch (error) {
      await nc.close();
      throw unavailable(`cannot ensure JetStream stream ${bus.auditStream}`, error);
    }
    return bus;
  }

  protected async sendRequest(subject: string, data: string, headers: Headers, timeoutMs: number): Promise<string> {
    try {
      const reply = await this.nc.request(subject, codec.encode(data), { timeout: timeoutMs, headers: toNatsHeaders(headers) });
      return codec.decode(reply.data);
    } catch (error) {
      const code = error instanceof NatsError ? error.code : undefined;
      if (code === ErrorCode.Timeout) throw new BusError('TIMEOUT', `no answer on ${subject} within ${timeoutMs} ms`, undefined, { cause: error });
      if (code === ErrorCode.NoResponders) throw new BusError('UNAVAILABLE', `no service answers ${subject}`, undefined, { cause: error });
      throw unavailable(`cannot send ${subject}`, error);
    }
  }

  protected listen(subject: string, queue: string, onRequest: (data: string, headers: Headers) => Promise<string>): BusSubscription {
    const inFlight = new Set<Promise<void>>();
    const sub = this.nc.subscribe(subject, {
      queue,
      callback: (error, msg) => {
        if (error) return this.options.onHandlerError?.(subject, error);
        const answer: Promise<void> = onRequest(...decode(msg))
          .then((reply) => void msg.respond(codec.encode(reply)))
          .catch((err: unknown) => this.options.onHandlerError?.(subject, err))
          .finally(() => inFlight.delete(answer));
        inFlight.add(answer);
      },
    });
    // Draining first means no new request arrives while the ones in flight still get their answer.
    return this.track(async () => {
      await sub.drain();
      await Promise.allSettled(inFlight);
    });
  }

  protected async broadcast(subject: string, data: string, headers: Headers): Promise<void> {
    try {
      this.nc.publish(subject, codec.encode(data), { headers: toNatsHeaders(headers) });
    } catch (error) {
      throw unavailable(`cannot publish ${subject}`, error);
    }
  }

  protected subscribe(subject: string, onEvent: (data: string, headers: Headers) => Promise<void>): BusSubscription {
    const sub = this.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return this.options.onHandlerError?.(subject, error);
        onEvent(...decode(msg)).catch((err: unknown) => this.options.onHandlerError?.(subject, err));
      },
    });
    return this.track(() => sub.drain());
  }

  protected async appendAudit(subject: string, data: string, messageId: string, headers: Headers): Promise<void> {
    try {
      // The event id as message id lets JetStream drop a retried publish inside its duplicate window.
      await this.js.publish(subject, codec.encode(data), { msgID: messageId, headers: toNatsHeaders(headers) });
    } catch (error) {
      throw unavailable(`the audit stream did not store ${subject}`, error);
    }
  }

  protected async consumeAuditStream(onEvent: (data: string, headers: Headers) => Promise<void>): Promise<BusSubscription> {
    await this.ensureAuditConsumer(await this.nc.jetstreamManager());
    const consumer = await this.js.consumers.get(this.auditStream, AuditStream.durableConsumer);
    // Short pulls: after a NATS restart the pending pull is gone, and the client only notices when it expires
    // (or two heartbeats, at half that, are missed). 5 s instead of the default 30 s bounds the audit lag an outage adds.
    const messages = await consumer.consume({ expires: AUDIT_PULL_EXPIRES_MS, max_messages: AUDIT_MAX_IN_FLIGHT });
    // Messages are handed over without waiting for the previous one, so the writer can store many in one
    // transaction; each is acknowledged only when its own handler resolved (after the commit).
    const inFlight = new Set<Promise<void>>();
    const loop = (async () => {
      for await (const msg of messages) {
        const handled: Promise<void> = onEvent(...decode(msg))
          .then(
            () => msg.ack(),
            (error: unknown) => {
              this.options.onHandlerError?.('audit', error);
              // Back off so a store that is down is not hammered.
              msg.nak(backoffDelayMs(msg.info.redeliveryCount, { firstMs: AUDIT_RETRY_FIRST_MS, maxMs: AUDIT_RETRY_MAX_MS }));
            },
          )
          .finally(() => inFlight.delete(handled));
        inFlight.add(handled);
      }
    })().catch((error: unknown) => this.options.onHandlerError?.('audit', error));
    return this.track(async () => {
      await messages.close();
      await loop;
      await Promise.allSettled([...inFlight]);
    });
  }

  /** Pending plus delivered-but-unacknowledged messages of the durable `audit-writer` consumer. */
  async auditBacklog(): Promise<number | null> {
    try {
      const info = await (await this.nc.jetstreamManager()).consumers.info(this.auditStream, AuditStream.durableConsumer);
      return info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (error instanceof NatsError && error.code === '404') return null;
      throw unavailable(`cannot read the backlog of ${this.auditStream}`, error);
    }
  }

  async ping(): Promise<void> {
    if (this.nc.isClosed()) throw new BusError('UNAVAILABLE', 'the NATS connection is closed');
    try {
      await deadline(this.nc.flush(), PING_TIMEOUT_MS);
    } catch (error) {
      throw unavailable(`NATS at ${this.nc.getServer()} did not answer a ping within ${PING_TIMEOUT_MS} ms`, error);
    }
  }

  /**
   * Stops taking work, lets handlers in flight answer, runs the
   * `beforeClose` hooks, waits for the audit publishes in flight to be
   * acknowledged (a handler's own included), then drains the connection
   * (flushing what is still buffered).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.nc.isClosed()) return;
      await Promise.allSettled([...this.subscriptions].map((s) => s.unsubscribe()));
      await this.runBeforeCloseHooks();
      await this.settleAuditPublishes();
      await this.nc.drain();
    })();
    return this.closing;
  }

  /** Created or updated at every connect, so replicas may start in any order. */
  private async ensureAuditStream(jsm: JetStreamManager): Promise<void> {
    const subjects = [this.subjectOf(`${AuditStream.subjectPrefix}.>`)];
    if (await exists(() => jsm.streams.info(this.auditStream))) await jsm.streams.update(this.auditStream, { subjects });
    else await jsm.streams.add({ name: this.auditStream, subjects, storage: StorageType.File });
  }

  /**
   * Up to AUDIT_MAX_IN_FLIGHT messages unacknowledged at a time (across all writer replicas), so the writer
   * can store them in batches. Events arrive in stream order; one delivered again after a failure may be
   * stored after later ones (the chain follows the order of storing, not of publishing).
   */
  private async ensureAuditConsumer(jsm: JetStreamManager): Promise<void> {
    const durable = AuditStream.durableConsumer;
    const settings = { ack_wait: nanos(AUDIT_ACK_WAIT_MS), max_ack_pending: AUDIT_MAX_IN_FLIGHT };
    if (await exists(() => jsm.consumers.info(this.auditStream, durable))) await jsm.consumers.update(this.auditStream, durable, settings);
    else await jsm.consumers.add(this.auditStream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...settings });
  }

  /** Makes unsubscribing idempotent and lets `close()` stop everything still open. */
  private track(stop: () => Promise<unknown>): BusSubscription {
    const subscription: BusSubscription = {
      unsubscribe: async () => {
        if (!this.subscriptions.delete(subscription) || this.nc.isClosed()) return;
        await stop();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }
}

function toNatsHeaders(headers: Headers): MsgHdrs {
  const result = natsHeaders();
  for (const [key, value] of Object.entries(headers)) result.set(key, value);
  return result;
}

function decode(msg: Pick<Msg, 'data' | 'headers'>): [data: string, headers: Headers] {
  const headers: Headers = {};
  const source = msg.headers;
  for (const key of source?.keys() ?? []) headers[key] = source?.get(key) ?? '';
  return [codec.decode(msg.data), headers];
}

async function exists(lookup: () => Promise<unknown>): Promise<boolean> {
  try {
    await lookup();
    return true;
  } catch (error) {
    if (error instanceof NatsError && error.code === '404') return false;
    throw error;
  }
}

function unavailable(what: string, cause: unknown): BusError {
  return new BusError('UNAVAILABLE', `${what}: ${messageOf(cause)}`, undefined, { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
