import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { AuditEvent, Principal, RequestSubjects, ServiceQueues } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { AuditModule } from '../audit.module';
import { AuditChain } from './audit-chain';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

jest.setTimeout(60_000);

const ADMIN_TOKEN = 'pcl_export_admin_token';
const USER_TOKEN = 'pcl_export_user_token';
const SEEDED = 20_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function principal(id: string, isAdmin: boolean): Principal {
  return { id, kind: 'user', sub: id, email: `${id}@example.com`, teams: [], isAdmin };
}

function auditEvent(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomUUID(),
    ts: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    traceId: null,
    principal: { id: `user-${n % 7}`, kind: 'user' },
    actor: null,
    action: 'tool.call',
    method: 'tools/call',
    server: n % 2 === 0 ? 'github' : 'jira',
    tool: n % 5 === 0 ? '=cmd|calc' : 'search',
    credentialKind: 'header',
    credentialId: 'cred-1',
    outcome: 'success',
    reason: n % 3 === 0 ? 'upstream said "no", twice' : null,
    latencyMs: n % 100,
    ...overrides,
  };
}

/** Writes a valid chain of `count` rows straight into the table, in batches (recording 20,000 one by one would take minutes). */
async function seedChain(url: string, count: number): Promise<void> {
  const sql = new Client({ connectionString: url });
  await sql.connect();
  try {
    let prevHash = AuditChain.genesisHash;
    for (let start = 0; start < count; start += 2000) {
      const cols: unknown[][] = Array.from({ length: 12 }, () => []);
      for (let n = start; n < Math.min(count, start + 2000); n++) {
        const event = auditEvent(n);
        const hash = AuditChain.hash(prevHash, event);
        [event.id, event.ts, event.principal!.id, 'user', event.server, event.tool, event.reason, event.latencyMs, prevHash, hash, 'header', 'cred-1'].forEach(
          (value, i) => cols[i].push(value),
        );
        prevHash = hash;
      }
      await sql.query(
        `INSERT INTO audit.events (id, ts, principal_id, principal_kind, server, tool, reason, latency_ms, prev_hash, hash, credential_kind, credential_id, action, method, outcome)
         SELECT u.*, 'tool.call', 'tools/call', 'success'
         FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::text[], $10::text[], $11::text[], $12::text[]) AS u`,
        cols,
      );
    }
  } finally {
    await sql.end();
  }
}

/** Reads a streamed body line by line without keeping it, calling `onLine` for each. */
async function readLines(response: Response, onLine: (line: string, index: number) => void): Promise<number> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  let index = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += value;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''), index++);
      pending = pending.slice(newline + 1);
    }
  }
  if (pending.length > 0) onLine(pending, index++);
  return index;
}

describe(`${EventsController.name} export and live tail`, () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let baseUrl: string;

  const get = (path: string, token: string | null = ADMIN_TOKEN, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${baseUrl}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, signal });

  beforeAll(async () => {
    database = await createTestDatabase('audit_export');
    const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
      if (token === ADMIN_TOKEN) return { principal: principal('admin-1', true), expiresAt: null };
      if (token === USER_TOKEN) return { principal: principal('user-1', false), expiresAt: null };
      throw new BusError('UNAUTHENTICATED', 'invalid token');
    });
    app = await NestFactory.create<NestFastifyApplication>(
      AuditModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'silent' }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    await seedChain(database.url, SEEDED);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  describe('GET /api/v1/audit/export', () => {
    it('streams all 20,000 rows as NDJSON in chain order with a flat heap', async () => {
      // Heap and the buffers outside it: a response held whole would sit in one or the other.
      const used = () => {
        const memory = process.memoryUsage();
        return memory.heapUsed + memory.external;
      };
      gc();
      const baseline = used();
      const samples: number[] = [];
      const response = await get('/api/v1/audit/export?format=ndjson');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/x-ndjson');
      let lastSeq = 0;
      let inOrder = true;
      const lines = await readLines(response, (line, index) => {
        const seq = (JSON.parse(line) as { seq: number }).seq;
        if (seq !== lastSeq + 1) inOrder = false;
        lastSeq = seq;
        if (index % 2000 === 1999) {
          gc();
          samples.push(used() - baseline);
        }
      });
      expect(lines).toBe(SEEDED);
      expect(inOrder).toBe(true);
      expect(lastSeq).toBe(SEEDED);
      // The export is ~12 MB of text: holding it anywhere in the process would show here.
      const mb = (bytes: number) => bytes / 1024 / 1024;
      // Streamed, the growth stays near 1-2 MB (up to ~6.5 MB seen on a loaded machine, where the in-process
      // reader lags and socket buffers fill to their high-water marks); held whole (one 20,000-row batch), ~11 MB.
      expect(mb(Math.max(...samples))).toBeLessThan(8.5);
      expect(mb(samples[samples.length - 1] - samples[0])).toBeLessThan(3);
    });

    it('exports CSV with a header row, quoting, filters, and formula cells defused', async () => {
      const response = await get('/api/v1/audit/export?format=csv&server=github&principal=user-0');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/csv');
      const text = await response.text();
      const rows = text.split('\r\n').filter((line) => line.length > 0);
      expect(rows[0]).toBe(
        'seq,id,ts,traceId,principalId,principalKind,principalEmail,actorId,actorKind,actorEmail,action,method,server,tool,credentialKind,credentialId,outcome,reason,latencyMs,prevHash,hash',
      );
      // n even and n % 7 === 0: every 14th of 20,000.
      expect(rows.length - 1).toBe(Math.ceil(SEEDED / 14));
      expect(text).toContain(`'=cmd|calc`);
      expect(text).not.toMatch(/,=cmd/);
      expect(text).toContain('"upstream said ""no"", twice"');
    });

    it('refuses a principal without the audit role', async () => {
      expect((await get('/api/v1/audit/export', USER_TOKEN)).status).toBe(403);
      expect((await get('/api/v1/audit/export', null)).status).toBe(401);
    });

    it('refuses an unknown format or filter rather than widening the export', async () => {
      expect((await get('/api/v1/audit/export?format=xlsx')).status).toBe(400);
      expect((await get('/api/v1/audit/export?sever=github')).status).toBe(400);
    });
  });

  describe('GET /metrics', () => {
    it('reports the audit lag (events on the bus not yet stored)', async () => {
      const text = await (await fetch(`${baseUrl}/metrics`)).text();
      expect(text).toMatch(/^portcullis_audit_backlog_events\{service="audit"\} 0$/m);
    });
  });

  describe('GET /api/v1/audit/stream', () => {
    /** Opens the tail and collects `{ id, data }` frames until `count` arrived. */
    async function openTail(path: string, headers: Record<string, string> = {}) {
      const aborter = new AbortController();
      const response = await get(path, ADMIN_TOKEN, headers, aborter.signal);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const frames: { id: number; data: AuditEvent & { seq: number } }[] = [];
      let current: { id?: number; data?: string } = {};
      const reading = readLines(response, (line) => {
        if (line.startsWith('id: ')) current.id = Number(line.slice(4));
        else if (line.startsWith('data: ')) current.data = line.slice(6);
        else if (line === '' && current.data !== undefined) {
          frames.push({ id: current.id!, data: JSON.parse(current.data) });
          current = {};
        }
      }).catch(() => undefined);
      const until = async (count: number) => {
        const deadline = Date.now() + 10_000;
        while (frames.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        return frames;
      };
      return { frames, until, close: async () => (aborter.abort(), await reading) };
    }

    it('tails events as they are stored, then resumes after Last-Event-ID without gaps or repeats', async () => {
      const events = app.get(EventsService);
      const tail = await openTail('/api/v1/audit/stream?server=live');
      const first = [auditEvent(1, { server: 'live' }), auditEvent(2, { server: 'elsewhere' }), auditEvent(3, { server: 'live' })];
      for (const event of first) await events.record(event);
      const seen = await tail.until(2);
      expect(seen.map((f) => f.data.id)).toEqual([first[0].id, first[2].id]);
      expect(seen.map((f) => f.id)).toEqual(seen.map((f) => f.data.seq));
      await tail.close();

      // While the client is away, two more arrive; it comes back with the last id it saw.
      const missed = [auditEvent(4, { server: 'live' }), auditEvent(5, { server: 'live' })];
      for (const event of missed) await events.record(event);
      const resumed = await openTail('/api/v1/audit/stream?server=live', { 'last-event-id': String(seen[1].id) });
      const later = auditEvent(6, { server: 'live' });
      await events.record(later);
      const again = await resumed.until(3);
      expect(again.map((f) => f.data.id)).toEqual([...missed, later].map((e) => e.id));
      await resumed.close();
    });

    it('starts at the newest event when the client gives no position', async () => {
      const tail = await openTail('/api/v1/audit/stream');
      const fresh = auditEvent(7, { server: 'fresh' });
      await app.get(EventsService).record(fresh);
      expect((await tail.until(1)).map((f) => f.data.id)).toEqual([fresh.id]);
      await tail.close();
    });

    it('ends open tails at shutdown instead of holding the server open', async () => {
      const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
      bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async () => ({ principal: principal('admin-2', true), expiresAt: null }));
      const second = await NestFactory.create<NestFastifyApplication>(
        AuditModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'audit', level: 'silent' }), databaseUrl: database.url }),
        new FastifyAdapter(),
        { logger: false },
      );
      await second.listen(0, '127.0.0.1');
      const response = await fetch(`http://127.0.0.1:${(second.getHttpServer().address() as AddressInfo).port}/api/v1/audit/stream`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(200);
      const ended = response.text();
      const started = Date.now();
      await second.close();
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(ended).resolves.toContain('retry: 2000');
    });

    it('refuses a Last-Event-ID that is not a seq', async () => {
      expect((await get('/api/v1/audit/stream', ADMIN_TOKEN, { 'last-event-id': '1; DROP TABLE' })).status).toBe(400);
      expect((await get('/api/v1/audit/stream', USER_TOKEN)).status).toBe(403);
    });
  });
  describe('GET /api/v1/audit/verify?from&to', () => {
    const verify = async (query: string) => {
      const response = await get(`/api/v1/audit/verify${query}`);
      expect(response.status).toBe(200);
      return response.json();
    };

    it('checks only the links in the range, starting from the stored link before it', async () => {
      expect(await verify('?from=10000&to=10010')).toEqual({ ok: true, checked: 11 });
      expect(await verify('?to=5')).toEqual({ ok: true, checked: 5 });
    });

    it('names the first broken link of a range after a row was altered', async () => {
      const sql = new Client({ connectionString: database.url });
      await sql.connect();
      try {
        await sql.query('ALTER TABLE audit.events DISABLE TRIGGER USER');
        await sql.query(`UPDATE audit.events SET outcome = 'denied' WHERE seq = 15000`);
        await sql.query('ALTER TABLE audit.events ENABLE TRIGGER USER');
      } finally {
        await sql.end();
      }
      expect(await verify('?from=14990&to=15010')).toEqual({ ok: false, checked: 11, firstBrokenSeq: 15000 });
      expect(await verify('?from=14990&to=14999')).toEqual({ ok: true, checked: 10 });
      expect(await verify('')).toMatchObject({ ok: false, firstBrokenSeq: 15000 });
    });

    it('refuses a range that ends before it starts', async () => {
      expect((await get('/api/v1/audit/verify?from=10&to=5')).status).toBe(400);
      expect((await get('/api/v1/audit/verify?from=abc')).status).toBe(400);
    });
  });
});
