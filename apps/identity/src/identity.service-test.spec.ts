import { Writable } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Bus, BusError, InProcessBus } from '@portcullis/bus';
import { EventOf, EventSubjects, RequestSubjects } from '@portcullis/contracts';
import { hashToken } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, eventually, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { DataSource } from 'typeorm';
import { ApiKeyService } from './api-keys/api-key.service';
import { AuthenticationService, LAST_USED_RESOLUTION_MS } from './authentication/authentication.service';
import { BOOTSTRAP_ADMIN_EMAIL, BootstrapAdminService } from './bootstrap/bootstrap-admin.service';
import { Clock } from './clock';
import { IdentityExceptionFilter } from './identity-exception.filter';
import { IdentityModule } from './identity.module';

class FrozenClock extends Clock {
  constructor(private current: Date) {
    super();
  }
  override now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Every log line every app wrote, to prove no secret is ever logged. */
class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const BOOTSTRAP_TOKEN = `bootstrap-${'x'.repeat(8)}-${Math.random().toString(36).slice(2)}-${Date.now()}-0123456789abcdef`;
const START = new Date('2030-01-01T00:00:00.000Z');

describe('identity service (real PostgreSQL, in-process bus)', () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let clock: FrozenClock;
  let logs: LogSink;
  const apps: INestApplication[] = [];

  /** Boots one identity replica; the first one booted is kept until the end. */
  async function boot(options: { bus?: Bus; databaseUrl?: string } = {}): Promise<INestApplication> {
    const app = await NestFactory.create(
      IdentityModule.register({
        bus: options.bus ?? bus,
        closeBusOnShutdown: false,
        logger: createLogger({ service: 'identity', level: 'trace', destination: logs }),
        databaseUrl: options.databaseUrl ?? database.url,
        bootstrapAdminToken: BOOTSTRAP_TOKEN,
        clock,
      }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    if (!options.databaseUrl) apps.push(app);
    return app;
  }

  const authenticate = (token: string) => bus.request(RequestSubjects.identityAuthenticate, { token });
  const createKey = (overrides: Partial<{ name: string; ownerEmail: string; isAdmin: boolean; expiresAt: string | null }> = {}) =>
    bus.request(RequestSubjects.identityAdminApiKeyCreate, { name: 'agent', ownerEmail: 'alice@example.com', isAdmin: false, expiresAt: null, ...overrides });
  const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) => apps[0].get(DataSource).query(query, params) as Promise<T[]>;

  beforeAll(async () => {
    database = await createTestDatabase('identity');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    clock = new FrozenClock(START);
    logs = new LogSink();
    await boot();
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await bus?.close();
    await database?.drop();
  });

  describe(AuthenticationService.name, () => {
    describe('authenticate', () => {
      it('answers the principal of a valid key, with the key id and no expiry', async () => {
        const { apiKey, token } = await createKey({ ownerEmail: 'Alice@Example.com' });
        const answer = await authenticate(token);
        expect(answer).toEqual({
          principal: {
            id: `user:${answer.principal.sub}`,
            kind: 'user',
            sub: expect.stringMatching(/^[0-9a-f-]{36}$/),
            email: 'alice@example.com',
            teams: [],
            isAdmin: false,
            credentialId: apiKey.id,
          },
          expiresAt: null,
        });
      });

      it('answers the key expiry as the principal expiry', async () => {
        const expiresAt = new Date(START.getTime() + 3_600_000).toISOString();
        const { token } = await createKey({ expiresAt });
        expect((await authenticate(token)).expiresAt).toBe(expiresAt);
      });

      it('rejects a guessed token that matches no key', async () => {
        await expect(authenticate('pcl_AAAAAAAA_guessed-secret-guessed-secret-guessed')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
      });

      it('rejects the stored hash presented as a token (an attacker who read the table)', async () => {
        const { token } = await createKey();
        await expect(authenticate(hashToken(token))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      });

      it('rejects a stolen key once it is revoked', async () => {
        const { apiKey, token } = await createKey();
        await authenticate(token);
        await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: apiKey.id });
        await expect(authenticate(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
      });

      it('rejects a key replayed after its expiry', async () => {
        const { token } = await createKey({ expiresAt: new Date(START.getTime() + 60_000).toISOString() });
        await authenticate(token);
        clock.advance(60_000);
        try {
          await expect(authenticate(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
        } finally {
          clock.advance(-60_000);
        }
      });

      it('rejects the key of a user who was deactivated', async () => {
        const { token } = await createKey({ ownerEmail: 'leaver@example.com' });
        await authenticate(token);
        await sql(`UPDATE identity.users SET active = false WHERE email = $1`, ['leaver@example.com']);
        await expect(authenticate(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
      });

      it('gives one indistinguishable answer for every refusal, so probing learns nothing', async () => {
        const revoked = await createKey();
        await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: revoked.apiKey.id });
        const expired = await createKey({ expiresAt: new Date(START.getTime() + 1000).toISOString() });
        clock.advance(1000);
        try {
          const bodies = await Promise.all(
            ['pcl_AAAAAAAA_unknown', revoked.token, expired.token].map((token) =>
              authenticate(token).then(
                () => 'accepted',
                (error: BusError) => JSON.stringify(error.toBody()),
              ),
            ),
          );
          expect(new Set(bodies)).toEqual(new Set([JSON.stringify({ code: 'UNAUTHENTICATED', message: 'invalid token' })]));
        } finally {
          clock.advance(-1000);
        }
      });

      it('does not make a non-admin key of an admin user an admin credential', async () => {
        await createKey({ ownerEmail: 'root@example.com', isAdmin: true });
        const { token, apiKey } = await createKey({ ownerEmail: 'root@example.com', isAdmin: false });
        expect(apiKey.isAdmin).toBe(false);
        expect((await authenticate(token)).principal.isAdmin).toBe(false);
      });

      it('records the last use at most once a minute per key', async () => {
        const { apiKey, token } = await createKey();
        const lastUsed = async () => (await sql<{ last_used_at: Date | null }>(`SELECT last_used_at FROM identity.api_keys WHERE id = $1`, [apiKey.id]))[0].last_used_at;
        expect(await lastUsed()).toBeNull();
        await authenticate(token);
        expect(await lastUsed()).toEqual(START);
        clock.advance(LAST_USED_RESOLUTION_MS - 1000);
        await authenticate(token);
        expect(await lastUsed()).toEqual(START);
        clock.advance(1000);
        await authenticate(token);
        expect(await lastUsed()).toEqual(new Date(START.getTime() + LAST_USED_RESOLUTION_MS));
        clock.advance(-LAST_USED_RESOLUTION_MS);
      });
    });
  });

  describe(ApiKeyService.name, () => {
    describe('create', () => {
      it('stores only the SHA-256 of the token, never the token itself', async () => {
        const { apiKey, token } = await createKey({ name: 'hash-only' });
        expect(token).toMatch(/^pcl_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
        expect(token.startsWith(`${apiKey.prefix}_`)).toBe(true);
        const secretPart = token.slice(apiKey.prefix.length + 1);
        const rows = await sql(`SELECT * FROM identity.api_keys`);
        const dump = JSON.stringify(rows) + JSON.stringify(await sql(`SELECT * FROM identity.users`));
        expect(dump).not.toContain(token);
        expect(dump).not.toContain(secretPart);
        expect(rows.find((r) => r['id'] === apiKey.id)?.['token_hash']).toBe(hashToken(token));
        expect(logs.text).not.toContain(secretPart);
      });

      it('creates the owner by e-mail once and reuses them', async () => {
        await createKey({ ownerEmail: 'Bob@Example.com' });
        await createKey({ ownerEmail: 'bob@example.com' });
        expect(await sql(`SELECT email FROM identity.users WHERE email = 'bob@example.com'`)).toHaveLength(1);
      });

      it('rejects an expiry that has already passed', async () => {
        await expect(createKey({ expiresAt: new Date(START.getTime() - 1).toISOString() })).rejects.toMatchObject({
          code: 'INVALID_REQUEST',
          issues: [{ path: 'expiresAt', message: 'must be in the future' }],
        });
      });
    });

    describe('list', () => {
      it('lists keys with their owner and never a hash or a token', async () => {
        const { apiKey, token } = await createKey({ name: 'listed', ownerEmail: 'carol@example.com' });
        const { items } = await bus.request(RequestSubjects.identityAdminApiKeyList, {});
        expect(items.find((k) => k.id === apiKey.id)).toEqual({ ...apiKey, ownerEmail: 'carol@example.com' });
        expect(JSON.stringify(items)).not.toContain(hashToken(token));
      });
    });

    describe('revoke', () => {
      it('tells every edge at once with events.identity.revoked', async () => {
        const heard: EventOf<typeof EventSubjects.identityRevoked>[] = [];
        const subscription = bus.on(EventSubjects.identityRevoked, (event) => void heard.push(event));
        try {
          const { apiKey } = await createKey();
          const { apiKey: revoked } = await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: apiKey.id });
          expect(revoked.revokedAt).toBe(START.toISOString());
          await eventually(() => heard.length > 0);
          expect(heard).toEqual([{ credentialIds: [apiKey.id], principalIds: [] }]);
        } finally {
          await subscription.unsubscribe();
        }
      });

      it('keeps the first revocation time when revoked twice', async () => {
        const { apiKey } = await createKey();
        await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: apiKey.id });
        clock.advance(5000);
        const again = await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: apiKey.id });
        clock.advance(-5000);
        expect(again.apiKey.revokedAt).toBe(START.toISOString());
      });

      it('answers NOT_FOUND for an unknown key', async () => {
        await expect(bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      });
    });
  });

  describe(IdentityExceptionFilter.name, () => {
    it('serves health over HTTP and answers anything else with a JSON 404', async () => {
      const http = (apps[0] as NestFastifyApplication).getHttpAdapter().getInstance();
      await http.ready();
      expect((await http.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok', service: 'identity' });
      const missing = await http.inject({ method: 'POST', url: '/api/v1/api-keys' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    });
  });

  describe(BootstrapAdminService.name, () => {
    describe('onModuleInit', () => {
      it('makes the bootstrap token an admin key of admin@portcullis.local', async () => {
        const { principal, expiresAt } = await authenticate(BOOTSTRAP_TOKEN);
        expect(principal).toMatchObject({ email: BOOTSTRAP_ADMIN_EMAIL, isAdmin: true, kind: 'user' });
        expect(expiresAt).toBeNull();
        expect(logs.text).not.toContain(BOOTSTRAP_TOKEN);
      });

      it('is idempotent when replicas boot at once on an empty database, and again on a restart', async () => {
        const fresh = await createTestDatabase('identityboot');
        const replicas: INestApplication[] = [];
        try {
          const buses = [new InProcessBus(), new InProcessBus(), new InProcessBus()];
          // Two replicas race each other from an empty schema (migrations and bootstrap), then a third restarts later.
          replicas.push(...(await Promise.all(buses.slice(0, 2).map((other) => boot({ bus: other, databaseUrl: fresh.url })))));
          replicas.push(await boot({ bus: buses[2], databaseUrl: fresh.url }));
          const query = (text: string, params: unknown[]) => replicas[0].get(DataSource).query(text, params) as Promise<unknown[]>;
          expect(await query(`SELECT id FROM identity.api_keys WHERE token_hash = $1`, [hashToken(BOOTSTRAP_TOKEN)])).toHaveLength(1);
          expect(await query(`SELECT id FROM identity.users WHERE email = $1`, [BOOTSTRAP_ADMIN_EMAIL])).toHaveLength(1);
          for (const other of buses) {
            expect((await other.request(RequestSubjects.identityAuthenticate, { token: BOOTSTRAP_TOKEN })).principal.isAdmin).toBe(true);
          }
        } finally {
          for (const replica of replicas) await replica.close();
          await fresh.drop();
        }
      });

      it('keeps a revoked bootstrap key revoked when a replica restarts with the same token', async () => {
        const [{ id }] = await sql<{ id: string }>(`SELECT id FROM identity.api_keys WHERE token_hash = $1`, [hashToken(BOOTSTRAP_TOKEN)]);
        await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id });
        await boot({ bus: new InProcessBus() });
        await expect(authenticate(BOOTSTRAP_TOKEN)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      });
    });
  });
});

