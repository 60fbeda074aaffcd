import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { AuditEvent, Principal, RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { REQUIRED_PERMISSION } from '../access/require-permission.decorator';
import { AuditModule } from '../audit.module';
import type { AuditEventView, ListEventsResponse } from './dto/audit-event-view.dto';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

jest.setTimeout(60_000);

const ADMIN_TOKEN = 'pcl_test_admin_token';
const USER_TOKEN = 'pcl_test_user_token';
const BROKEN_IDENTITY_TOKEN = 'pcl_test_identity_fails';

function principal(id: string, isAdmin: boolean): Principal {
  return { id, kind: 'user', sub: id, email: `${id}@example.com`, teams: [], isAdmin };
}

function auditEvent(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    id: randomUUID(),
    ts: '2026-01-01T12:00:00.000Z',
    traceId: null,
    principal: null,
    actor: null,
    action: 'tool.call',
    method: 'tools/call',
    server: null,
    tool: 'search',
    credentialKind: 'none',
    credentialId: null,
    outcome: 'success',
    reason: null,
    latencyMs: 3,
    ...overrides,
  };
}

describe(EventsController.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let app: NestFastifyApplication;
  let recorded: AuditEvent[];

  const get = (url: string, token?: string) =>
    app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const listAsAdmin = async (query: string): Promise<ListEventsResponse> => {
    const response = await get(`/api/v1/audit/events${query}`, ADMIN_TOKEN);
    expect(response.statusCode).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    database = await createTestDatabase('audit_api');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    // identity is another service: a small real handler on the same bus stands in for it.
    bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
      if (token === ADMIN_TOKEN) return { principal: principal('admin-1', true), expiresAt: null };
      if (token === USER_TOKEN) return { principal: principal('user-1', false), expiresAt: null };
      if (token === BROKEN_IDENTITY_TOKEN) throw new BusError('INTERNAL', 'identity failed');
      throw new BusError('UNAUTHENTICATED', 'invalid token');
    });
    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'silent' }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();

    const events = app.get(EventsService);
    recorded = [];
    const plan: Array<[string, string]> = [
      ['alice', 'github'],
      ['bob', 'github'],
      ['alice', 'jira'],
      ['alice', 'github'],
      ['bob', 'jira'],
      ['alice', 'github'],
      ['alice', 'github'],
    ];
    for (const [who, server] of plan) {
      const e = auditEvent({ principal: { id: who, kind: 'user' }, server });
      await events.record(e);
      recorded.push(e);
    }
    for (let i = 0; i < 55; i += 1) {
      const e = auditEvent({ principal: { id: 'carol', kind: 'user' }, server: 'bulk', tool: `bulk_${i}` });
      await events.record(e);
      recorded.push(e);
    }
    const bot = { id: 'va-1', kind: 'virtual_account' as const };
    const dave = { id: 'dave', kind: 'user' as const };
    for (const e of [
      auditEvent({ principal: dave, actor: bot, server: 'search', tool: 'find', traceId: 'trace-a', ts: '2026-02-01T00:00:00.000Z' }),
      auditEvent({ principal: dave, server: 'search', tool: 'find', action: 'access.denied', outcome: 'denied', traceId: 'trace-b', ts: '2026-02-02T00:00:00.000Z' }),
      auditEvent({ principal: dave, actor: bot, server: 'search', tool: 'other', outcome: 'error', traceId: 'trace-a', ts: '2026-02-03T00:00:00.000Z' }),
    ]) {
      await events.record(e);
      recorded.push(e);
    }
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  describe('access', () => {
    it.each(['/api/v1/audit/events', '/api/v1/audit/verify'])('rejects an anonymous request to %s with a Bearer challenge', async (url) => {
      const response = await get(url);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    });

    it('rejects credentials that are not a bearer token', async () => {
      const response = await app.inject({ method: 'GET', url: '/api/v1/audit/events', headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    });

    it('rejects a token identity does not accept, saying it is invalid', async () => {
      const response = await get('/api/v1/audit/events', 'pcl_forged_token');
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(response.json().error.code).toBe('invalid_token');
      expect(response.body).not.toContain('pcl_forged_token');
    });

    it.each(['/api/v1/audit/events', '/api/v1/audit/verify'])('refuses %s to a known principal who is not an admin', async (url) => {
      const response = await get(url, USER_TOKEN);
      expect(response.statusCode).toBe(403);
      expect(response.json().error.code).toBe('forbidden');
    });

    it('fails closed when identity cannot answer', async () => {
      const response = await get('/api/v1/audit/events', BROKEN_IDENTITY_TOKEN);
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('unavailable');
    });

    it('declares a permission on every route of the controller', () => {
      const prototype = EventsController.prototype as unknown as Record<string, unknown>;
      const routes = Object.getOwnPropertyNames(prototype).filter(
        (name) => typeof prototype[name] === 'function' && Reflect.getMetadata(METHOD_METADATA, prototype[name] as object) !== undefined,
      );
      expect(routes.length).toBeGreaterThan(0);
      for (const name of routes) {
        const handler = prototype[name] as object;
        expect([name, Reflect.getMetadata(PATH_METADATA, handler), Reflect.getMetadata(REQUIRED_PERMISSION, handler)]).toEqual([
          name,
          expect.any(String),
          expect.stringMatching(/^audit:/),
        ]);
      }
    });
  });

  describe('GET /api/v1/audit/events', () => {
    it('lists newest first with each event’s place in the chain', async () => {
      const page = await listAsAdmin('?limit=5');
      expect(page.items.map((e) => e.id)).toEqual(recorded.slice(-5).reverse().map((e) => e.id));
      const seqs = page.items.map((e) => e.seq);
      expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
      expect(page.items[0]).toEqual({ ...recorded[recorded.length - 1], seq: expect.any(Number), prevHash: page.items[1].hash, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    });

    it('returns 50 events by default', async () => {
      const page = await listAsAdmin('');
      expect(page.items).toHaveLength(50);
      expect(page.nextCursor).toEqual(expect.any(String));
    });

    it('filters by principal and by server', async () => {
      const byPrincipal = await listAsAdmin('?principal=bob');
      expect(byPrincipal.items.map((e) => [e.principal?.id, e.server])).toEqual([
        ['bob', 'jira'],
        ['bob', 'github'],
      ]);
      const both = await listAsAdmin('?principal=alice&server=github');
      expect(both.items).toHaveLength(4);
      expect(both.items.every((e) => e.principal?.id === 'alice' && e.server === 'github')).toBe(true);
      expect(both.nextCursor).toBeNull();
    });

    it.each([
      ['actor', '?actor=va-1', ['other', 'find']],
      ['tool', '?tool=find', ['find', 'find']],
      ['outcome', '?outcome=denied', ['find']],
      ['action', '?action=access.denied', ['find']],
      ['trace id', '?traceId=trace-a', ['other', 'find']],
      ['time range (from inclusive, to exclusive)', '?from=2026-02-02T00:00:00Z&to=2026-02-03T00:00:00Z', ['find']],
    ])('filters by %s', async (_what, query, tools) => {
      const page = await listAsAdmin(query);
      expect(page.items.map((e) => e.tool)).toEqual(tools);
      expect(page.items.every((e) => e.principal?.id === 'dave')).toBe(true);
    });

    it('pages through a filtered listing with the cursor, without gaps or repeats', async () => {
      const seen: AuditEventView[] = [];
      let cursor: string | null = null;
      const sizes: number[] = [];
      do {
        const page: ListEventsResponse = await listAsAdmin(`?server=github&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        sizes.push(page.items.length);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      expect(sizes).toEqual([2, 2, 1]);
      const expected = recorded.filter((e) => e.server === 'github').reverse();
      expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    });

    it.each([
      ['a limit above 500', '?limit=501', 'limit'],
      ['a limit of zero', '?limit=0', 'limit'],
      ['a limit that is not a number', '?limit=ten', 'limit'],
      ['a cursor it did not issue', '?cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['an unknown action', '?action=drop.table', 'action'],
    ])('rejects %s with the offending field named', async (_what, query, field) => {
      const response = await get(`/api/v1/audit/events${query}`, ADMIN_TOKEN);
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
    });

    it('rejects a misspelt filter instead of silently widening the answer', async () => {
      const response = await get('/api/v1/audit/events?princpal=bob', ADMIN_TOKEN);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('invalid_request');
    });
  });

  describe('health and metrics', () => {
    it('serves liveness, readiness (database and bus) and metrics without a token', async () => {
      expect((await get('/healthz')).json()).toEqual({ status: 'ok', service: 'audit' });
      const ready = await get('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks).toEqual({ database: 'ok', 'bus:in-process': 'ok' });
      expect((await get('/metrics')).body).toContain('portcullis_audit_events_consumed_total');
    });
  });

  describe('GET /api/v1/audit/verify', () => {
    it('recomputes the chain and reports every row intact', async () => {
      const response = await get('/api/v1/audit/verify', ADMIN_TOKEN);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ ok: true, checked: recorded.length });
    });
  });
});
