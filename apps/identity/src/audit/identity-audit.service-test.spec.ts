import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { AuditEvent, AuditEventSchema, RequestSubjects } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { API_KEY_LOGIN } from '../browser-sessions/browser-session.service';
import { Clock } from '../clock';
import { IdentityModule } from '../identity.module';

class FrozenClock extends Clock {
  constructor(private readonly at: Date) {
    super();
  }
  override now(): Date {
    return new Date(this.at);
  }
}

const NOW = new Date('2030-03-01T10:00:00.000Z');

/** identity's own audit events, read off a real (in-process) audit stream: what is published, and that no secret is in it. */
describe('identity audit events', () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let app: INestApplication;
  const published: AuditEvent[] = [];

  const createKey = (ownerEmail: string) => bus.request(RequestSubjects.identityAdminApiKeyCreate, { name: 'browser', ownerEmail, isAdmin: false, expiresAt: null });
  const login = (apiKey: string) => bus.request(RequestSubjects.identityLoginApiKey, { apiKey });

  /** How many events the stream has delivered, once it has delivered everything published so far. */
  async function settledCount(): Promise<number> {
    for (let i = 0; i < 100 && bus.pendingAuditCount() > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setImmediate(resolve));
    return published.length;
  }
  /** Every event published since `mark`. */
  async function publishedSince(mark: number): Promise<AuditEvent[]> {
    await settledCount();
    return published.slice(mark);
  }

  beforeAll(async () => {
    database = await createTestDatabase('identity-audit');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    await bus.consumeAudit(async (event) => void published.push(AuditEventSchema.parse(event)));
    app = await NestFactory.create(
      IdentityModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'identity', level: 'silent' }), databaseUrl: database.url, clock: new FrozenClock(NOW) }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  describe('API-key browser login', () => {
    it('publishes a successful login naming the user and the key id, never the key or the session token', async () => {
      const { apiKey, token } = await createKey('ada@example.com');
      const mark = await settledCount();
      const session = await login(token);
      const events = await publishedSince(mark);
      expect(events).toEqual([
        {
          id: expect.any(String),
          ts: NOW.toISOString(),
          traceId: null,
          principal: { id: `user:${apiKey.ownerUserId}`, kind: 'user', email: 'ada@example.com' },
          actor: null,
          action: 'login',
          method: API_KEY_LOGIN,
          server: null,
          tool: null,
          credentialKind: 'api-key',
          credentialId: apiKey.id,
          outcome: 'success',
          reason: null,
          latencyMs: null,
        },
      ]);
      const text = JSON.stringify(events);
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.slice(apiKey.prefix.length + 1));
      expect(text).not.toContain(session.sessionToken);
    });

    it('publishes a failed login with its reason and without the guessed key (credential stuffing leaves a trail)', async () => {
      const guess = `pcl_AAAAAAAA_${'x'.repeat(43)}`;
      const mark = await settledCount();
      await expect(login(guess)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      const events = await publishedSince(mark);
      expect(events).toEqual([expect.objectContaining({ action: 'login', outcome: 'failure', principal: null, credentialId: null, reason: 'api key unknown' })]);
      expect(JSON.stringify(events)).not.toContain(guess);
    });

    it('names the owner of a revoked key that is tried again, without the key', async () => {
      const { apiKey, token } = await createKey('bob@example.com');
      await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: apiKey.id });
      const mark = await settledCount();
      await expect(login(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      const events = await publishedSince(mark);
      expect(events).toEqual([
        expect.objectContaining({
          action: 'login',
          outcome: 'failure',
          principal: { id: `user:${apiKey.ownerUserId}`, kind: 'user', email: 'bob@example.com' },
          credentialKind: 'api-key',
          credentialId: apiKey.id,
          reason: 'api key revoked',
        }),
      ]);
      expect(JSON.stringify(events)).not.toContain(token);
    });
  });

  describe('revocations', () => {
    it('publishes credential.revoked when a user signs out (the session is revoked), without the session token', async () => {
      const { apiKey, token } = await createKey('carol@example.com');
      const { sessionToken } = await login(token);
      const mark = await settledCount();
      expect(await bus.request(RequestSubjects.identityLoginLogout, { sessionToken })).toEqual({ revoked: true });
      const events = await publishedSince(mark);
      expect(events).toEqual([
        expect.objectContaining({
          action: 'credential.revoked',
          outcome: 'success',
          principal: { id: `user:${apiKey.ownerUserId}`, kind: 'user' },
          method: 'browser-logout',
          credentialKind: 'browser-session',
          credentialId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          reason: 'signed out',
        }),
      ]);
      expect(JSON.stringify(events)).not.toContain(sessionToken);
      // Signing out again revokes nothing and says nothing.
      const again = await settledCount();
      expect(await bus.request(RequestSubjects.identityLoginLogout, { sessionToken })).toEqual({ revoked: false });
      expect(await publishedSince(again)).toEqual([]);
    });

    it('leaves admin revocations (API key revoke, user deactivation) to the registry, which audits them with the admin as principal: no double count', async () => {
      const { apiKey } = await createKey('dave@example.com');
      const mark = await settledCount();
      await bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id: apiKey.id });
      await bus.request(RequestSubjects.identityAdminUserSetActive, { id: apiKey.ownerUserId, active: false });
      expect(await publishedSince(mark)).toEqual([]);
    });
  });
});
