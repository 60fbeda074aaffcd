import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { AUDIT_BATCH_MAX_EVENTS, AuditEvent, AuthenticateResponse, BusErrorCode, BusReply, BusReplySchema, EventSubjects, RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { auditEvent as baseAuditEvent } from '@portcullis/testing';
import { connect } from 'nats';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditEventJson, Bus, BusOptions, BusSubscription, checkAuditEvent, checkAuditRecord } from './bus';
import { BusError } from './bus.errors';
import { InProcessBus } from './in-process.bus';
import { NatsBus } from './nats.bus';

/*
 * One contract, two transports: every case runs against the in-process bus
 * (all-in-one) and against a real NATS server, so the two cannot drift apart.
 */

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const authenticate = RequestSubjects.identityAuthenticate;
const queue = ServiceQueues.identity;

/** The two ends of a conversation: two connections over NATS, one bus in process. */
interface Ends {
  caller: Bus;
  server: Bus;
}

interface Transport {
  name: string;
  open(options: BusOptions): Promise<Ends>;
  /** Removes what the run left on the server; called after both ends are closed. */
  dispose(ends: Ends): Promise<void>;
}

const transports: Transport[] = [
  {
    name: InProcessBus.name,
    open: async (options) => {
      const bus = new InProcessBus(options);
      return { caller: bus, server: bus };
    },
    dispose: async () => undefined,
  },
  {
    name: NatsBus.name,
    open: async (options) => {
      const connectAs = (name: string) => NatsBus.connect({ ...options, servers: NATS_URL, name });
      // One after the other: the second connect exercises the "stream already exists" path.
      const server = await connectAs('bus-spec-server');
      return { server, caller: await connectAs('bus-spec-caller') };
    },
    dispose: async ({ server }) => {
      const nc = await connect({ servers: NATS_URL });
      try {
        await (await nc.jetstreamManager()).streams.delete((server as NatsBus).auditStream);
      } finally {
        await nc.close();
      }
    },
  },
];

const authenticated: AuthenticateResponse = {
  principal: { id: 'u-1', kind: 'user', sub: 'alice', email: 'alice@example.com', teams: ['eng'], isAdmin: false },
  expiresAt: null,
};

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider());
});

afterAll(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

describe.each(transports)('$name', (transport) => {
  let ends: Ends;
  let caller: Bus;
  let server: Bus;
  const handlerErrors: unknown[] = [];
  const subscriptions: BusSubscription[] = [];
  const options = (): BusOptions => ({ subjectPrefix: randomPrefix(), onHandlerError: (_subject, error) => handlerErrors.push(error) });

  beforeAll(async () => {
    ends = await transport.open(options());
    ({ caller, server } = ends);
  });

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.unsubscribe()));
    handlerErrors.length = 0;
  });

  afterAll(async () => {
    await caller.close();
    await server.close();
    await transport.dispose(ends);
  });

  /** Keeps a subscription until the test ends, once the transport routes messages to it. */
  async function serve(subscription: BusSubscription | Promise<BusSubscription>): Promise<void> {
    subscriptions.push(await subscription);
    // A subscription is registered asynchronously; a ping on each end guarantees the server has it.
    await Promise.all([server.ping(), caller.ping()]);
  }

  /** Puts bytes on the wire beneath the caller's checks, as a buggy or hostile peer would. */
  async function sendRaw(subject: string, data: string): Promise<BusReply> {
    const raw = await caller['sendRequest'](caller['subjectOf'](subject), data, {}, 2000);
    return BusReplySchema.parse(JSON.parse(raw));
  }

  describe('request / reply', () => {
    it('answers a request with the response of the handler serving its subject', async () => {
      const seen: unknown[] = [];
      await serve(
        server.reply(authenticate, queue, async (request) => {
          seen.push(request);
          return authenticated;
        }),
      );

      await expect(caller.request(authenticate, { token: 'pc_live_abc' })).resolves.toEqual(authenticated);
      expect(seen).toEqual([{ token: 'pc_live_abc' }]);
    });

    it('answers each request exactly once when replicas share a queue group', async () => {
      const served = [0, 0];
      for (const replica of [0, 1]) {
        await serve(
          server.reply(authenticate, queue, async () => {
            served[replica]++;
            return authenticated;
          }),
        );
      }

      await Promise.all(Array.from({ length: 20 }, () => caller.request(authenticate, { token: 't' })));
      expect(served[0] + served[1]).toBe(20);
      expect(served.every((count) => count > 0)).toBe(true);
    });

    it('refuses an invalid request on the sender side with INVALID_REQUEST, never sending it', async () => {
      const handler = jest.fn(async () => authenticated);
      await serve(server.reply(authenticate, queue, handler));

      const error = await rejection(caller.request(authenticate, { token: '' }));
      expect(error).toMatchObject({ code: 'INVALID_REQUEST', issues: [expect.objectContaining({ path: 'token' })] });
      expect(handler).not.toHaveBeenCalled();
    });

    it('answers a payload that breaks the contract with a typed INVALID_REQUEST, never reaching the handler', async () => {
      const handler = jest.fn(async () => authenticated);
      await serve(server.reply(authenticate, queue, handler));

      for (const payload of [JSON.stringify({ token: 42 }), 'not json', JSON.stringify({ token: 'x'.repeat(9000) })]) {
        const reply = await sendRaw(authenticate, payload);
        expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
      }
      expect(handler).not.toHaveBeenCalled();
    });

    it('passes a typed error thrown by the handler to the caller with its code', async () => {
      await serve(
        server.reply(authenticate, queue, async () => {
          throw new BusError('NOT_FOUND', 'no such api key');
        }),
      );

      await expect(caller.request(authenticate, { token: 't' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such api key' });
    });

    it('answers an unexpected handler failure with INTERNAL, without leaking what was thrown', async () => {
      const thrown = new Error('connection to postgres://admin:hunter2@db failed');
      await serve(
        server.reply(authenticate, queue, async () => {
          throw thrown;
        }),
      );

      const error = await rejection(caller.request(authenticate, { token: 't' }));
      expect(error.code).toBe('INTERNAL');
      expect(error.message).not.toContain('hunter2');
      expect(handlerErrors).toContain(thrown);
    });

    it('answers a handler response that breaks the contract with INTERNAL', async () => {
      const broken = { principal: { id: '' }, expiresAt: 'tomorrow' } as unknown as AuthenticateResponse;
      await serve(server.reply(authenticate, queue, async () => broken));

      await expectCode(caller.request(authenticate, { token: 't' }), 'INTERNAL');
    });

    it('answers a request nobody serves with UNAVAILABLE, without waiting for the deadline', async () => {
      const started = Date.now();
      await expectCode(caller.request(authenticate, { token: 't' }, { timeoutMs: 5000 }), 'UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('fails closed with TIMEOUT once the deadline passes while the handler is still working', async () => {
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      await serve(
        server.reply(authenticate, queue, async () => {
          await released;
          return authenticated;
        }),
      );

      const started = Date.now();
      await expectCode(caller.request(authenticate, { token: 't' }, { timeoutMs: 300 }), 'TIMEOUT');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      release();
    });

    it('tells the handler when the caller stops waiting', async () => {
      let deadline = 0;
      await serve(
        server.reply(authenticate, queue, async (_request, ctx) => {
          deadline = ctx.deadline;
          return authenticated;
        }),
      );

      const before = Date.now();
      await caller.request(authenticate, { token: 't' }, { timeoutMs: 3000 });
      expect(deadline).toBeGreaterThanOrEqual(before + 3000);
      expect(deadline).toBeLessThanOrEqual(Date.now() + 3000);
    });

    it("runs the handler inside the caller's trace", async () => {
      let handlerTraceId: string | undefined;
      await serve(
        server.reply(authenticate, queue, async () => {
          handlerTraceId = trace.getActiveSpan()?.spanContext().traceId;
          return authenticated;
        }),
      );

      const callerSpan = await trace.getTracer('bus-spec').startActiveSpan('agent tool call', async (span) => {
        await caller.request(authenticate, { token: 't' });
        span.end();
        return span.spanContext();
      });
      expect(trace.isSpanContextValid(callerSpan)).toBe(true);
      expect(handlerTraceId).toBe(callerSpan.traceId);
    });
  });

  describe('events', () => {
    it('delivers an event to every subscriber, not to one per group', async () => {
      const heard: string[] = [];
      // One subscriber on each end: over NATS they are two connections, like two edge replicas.
      await serve(server.on(EventSubjects.registryChanged, (event) => void heard.push(`server:${event.slug}`)));
      await serve(caller.on(EventSubjects.registryChanged, (event) => void heard.push(`caller:${event.slug}`)));

      await caller.emit(EventSubjects.registryChanged, { serverId: randomUUID(), slug: 'github', change: 'updated' });
      await eventually(() => expect(heard.sort()).toEqual(['caller:github', 'server:github']));
    });

    it('refuses to emit an event that breaks its contract', async () => {
      const invalid = { serverId: 'not-a-uuid', slug: 'github', change: 'renamed' } as never;
      await expectCode(caller.emit(EventSubjects.registryChanged, invalid), 'INVALID_REQUEST');
    });
  });

  describe('audit', () => {
    // Each case gets its own stream and durable consumer: a consumer closed by an earlier
    // case can leave a pull request on the server that would hold the next case's first event.
    let own: Ends;
    const consumers: BusSubscription[] = [];

    beforeEach(async () => {
      own = await transport.open(options());
    });

    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((s) => s.unsubscribe()));
      await own.caller.close();
      await own.server.close();
      await transport.dispose(own);
    });

    /** Collects the events a consumer acknowledged, keeping only those this test appended. */
    async function consume(mine: AuditEvent[], handler: (event: AuditEvent) => Promise<void> = async () => undefined) {
      const ids = new Set(mine.map((e) => e.id));
      const received: string[] = [];
      consumers.push(
        await own.server.consumeAudit(async (event) => {
          await handler(event);
          if (ids.has(event.id)) received.push(event.id);
        }),
      );
      await Promise.all([own.server.ping(), own.caller.ping()]);
      return received;
    }

    it('delivers every appended event, in the order it was appended', async () => {
      const events = Array.from({ length: 50 }, () => auditEvent());
      const received = await consume(events);

      for (const event of events) await own.caller.publishAudit(event);
      await eventually(() => expect(received).toEqual(events.map((e) => e.id)));
    });

    it('keeps events appended while no consumer runs, until one starts', async () => {
      const events = [auditEvent(), auditEvent({ action: 'access.denied', outcome: 'denied' })];
      for (const event of events) await own.caller.publishAudit(event);

      const received = await consume(events);
      await eventually(() => expect(received).toEqual(events.map((e) => e.id)));
    });

    it('stores an event published twice under the same id only once', async () => {
      const [event, sentinel] = [auditEvent(), auditEvent()];
      const received = await consume([event, sentinel]);

      await own.caller.publishAudit(event);
      await own.caller.publishAudit(event);
      await own.caller.publishAudit(sentinel);
      // Delivery is in order, so once the sentinel arrives any duplicate would have too.
      await eventually(() => expect(received).toEqual([event.id, sentinel.id]));
    });

    // Not necessarily before the events after it: the writer stores many events at once (and replicas share
    // the stream), so one delivered again may be stored after later ones; the chain follows the storing order.
    it('delivers an event again when the consumer fails on it, and acknowledges every event once', async () => {
      const events = [auditEvent(), auditEvent(), auditEvent()];
      let attempts = 0;
      const received = await consume(events, async (event) => {
        if (event.id === events[0].id && ++attempts === 1) throw new Error('audit store unavailable');
      });

      for (const event of events) await own.caller.publishAudit(event);
      await eventually(() => expect([...received].sort()).toEqual(events.map((e) => e.id).sort()));
      expect(attempts).toBe(2);
    });

    it('refuses an audit event that breaks its contract, so no unlisted field is stored', async () => {
      const withSecret = { ...auditEvent(), accessToken: 'ya29.secret' } as AuditEvent;
      await expectCode(own.caller.publishAudit(withSecret), 'INVALID_REQUEST');
    });

    it('delivers every event of a batch message, and the whole message again when one of its events failed', async () => {
      const events = Array.from({ length: 5 }, () => auditEvent());
      let attempts = 0;
      const received = await consume(events, async (event) => {
        if (event.id === events[3].id && ++attempts === 1) throw new Error('audit store unavailable');
      });

      await own.caller.publishAuditBatch({ id: randomUUID(), events });
      // The whole message came again for the one failed event: the others arrive twice, as a redelivery would.
      await eventually(() => expect(new Set(received)).toEqual(new Set(events.map((e) => e.id))));
      await eventually(() => expect(received.length).toBe(events.length * 2 - 1));
      expect(attempts).toBe(2);
    });

    it('stores a batch published twice under the same batch id only once', async () => {
      const batch = { id: randomUUID(), events: [auditEvent(), auditEvent()] };
      const sentinel = auditEvent();
      const received = await consume([...batch.events, sentinel]);

      await own.caller.publishAuditBatch(batch);
      await own.caller.publishAuditBatch(batch);
      await own.caller.publishAudit(sentinel);
      await eventually(() => expect(received).toContain(sentinel.id));
      expect([...received].sort()).toEqual([...batch.events.map((e) => e.id), sentinel.id].sort());
    });

    it('refuses a batch carrying an event that breaks its contract', async () => {
      const withSecret = { ...auditEvent(), accessToken: 'ya29.secret' } as AuditEvent;
      await expectCode(own.caller.publishAuditBatch({ id: randomUUID(), events: [auditEvent(), withSecret] }), 'INVALID_REQUEST');
      await expectCode(own.caller.publishAuditBatch({ id: randomUUID(), events: [] }), 'INVALID_REQUEST');
    });

    it('delivers events checked once by checkAuditRecord as their text, without serializing them again, and refuses a batch of the wrong size', async () => {
      const events = [auditEvent(), auditEvent({ actor: { id: 'va-1', kind: 'virtual_account' }, principal: { id: 'user-2', kind: 'user', email: 'u2@example.com' } }), auditEvent({ reason: 'upstream answered HTTP 502', outcome: 'error' })];
      const mine = new Set(events.map((event) => event.id));
      const received: AuditEvent[] = [];
      consumers.push(await own.server.consumeAudit(async (event) => void (mine.has(event.id) && received.push(event))));
      const record = (event: AuditEvent) => checkAuditRecord(event, auditEventJson(event));
      await own.caller.publishCheckedAuditBatch(randomUUID(), events.slice(0, 2).map(record));
      await own.caller.publishCheckedAudit(record(events[2]));
      // What the consumer gets is each event as published, field for field.
      await eventually(() => expect(received.length).toBe(3));
      expect([...received].sort((a, b) => a.id.localeCompare(b.id))).toStrictEqual([...events].sort((a, b) => a.id.localeCompare(b.id)));

      expect(() => checkAuditRecord({ ...auditEvent(), accessToken: 'ya29.secret' } as AuditEvent, '{}')).toThrow(BusError);
      await expectCode(own.caller.publishCheckedAuditBatch(randomUUID(), []), 'INVALID_REQUEST');
      const tooMany = Array.from({ length: AUDIT_BATCH_MAX_EVENTS + 1 }, () => record(auditEvent()));
      await expectCode(own.caller.publishCheckedAuditBatch(randomUUID(), tooMany), 'INVALID_REQUEST');
    });
  });

  describe('ping / close', () => {
    it('answers ping while open, then rejects pings and requests with UNAVAILABLE once closed', async () => {
      const other = await transport.open(options());
      try {
        await expect(other.caller.ping()).resolves.toBeUndefined();
        await other.caller.close();
        await other.server.close();

        await expectCode(other.caller.ping(), 'UNAVAILABLE');
        await expectCode(other.caller.request(authenticate, { token: 't' }), 'UNAVAILABLE');
      } finally {
        await transport.dispose(other);
      }
    });

    it('lets a handler in flight answer while the bus closes (a SIGTERM drain), then takes no new request', async () => {
      const other = await transport.open(options());
      try {
        let entered = (): void => undefined;
        const inHandler = new Promise<void>((resolve) => (entered = resolve));
        other.server.reply(authenticate, queue, async () => {
          entered();
          await sleep(500);
          return authenticated;
        });
        await Promise.all([other.server.ping(), other.caller.ping()]);

        const answer = other.caller.request(authenticate, { token: 't' }, { timeoutMs: 5000 });
        await inHandler;
        const closed = other.server.close();
        await expect(answer).resolves.toEqual(authenticated);
        await closed;
        const started = Date.now();
        await expectCode(other.caller.request(authenticate, { token: 't' }, { timeoutMs: 3000 }), 'UNAVAILABLE');
        expect(Date.now() - started).toBeLessThan(1000);
      } finally {
        await other.caller.close();
        await other.server.close();
        await transport.dispose(other);
      }
    });

    it('runs the beforeClose hooks while it can still carry their audit publishes', async () => {
      const other = await transport.open(options());
      try {
        let published: Promise<void> | undefined;
        other.caller.beforeClose(async () => {
          published = other.caller.publishAudit(auditEvent({ id: randomUUID() }));
          await published;
        });
        const removed = other.caller.beforeClose(async () => {
          throw new Error('a removed hook never runs');
        });
        removed();
        await other.caller.close();
        await expect(published).resolves.toBeUndefined();
        expect(handlerErrors).toEqual([]);
      } finally {
        await other.server.close();
        await transport.dispose(other);
      }
    });

    it('resolves close only once the audit publishes in flight are acknowledged', async () => {
      const other = await transport.open(options());
      try {
        const publishes = Array.from({ length: 20 }, () => other.caller.publishAudit(auditEvent({ id: randomUUID() })));
        await other.caller.close();
        const outcomes = await Promise.allSettled(publishes);
        expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(20).fill('fulfilled'));
      } finally {
        await other.server.close();
        await transport.dispose(other);
      }
    });
  });
});

function randomPrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return baseAuditEvent({ principal: { id: 'u-1', kind: 'user', email: 'alice@example.com' }, credentialKind: null, credentialId: null, latencyMs: 12, ...overrides });
}

async function rejection(promise: Promise<unknown>): Promise<BusError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof BusError)) throw new Error(`expected a BusError, got ${String(error)}`);
  return error;
}

async function expectCode(promise: Promise<unknown>, code: BusErrorCode): Promise<void> {
  expect((await rejection(promise)).code).toBe(code);
}

async function eventually(assertion: () => void, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return assertion();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(20);
    }
  }
}
