import { Writable } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { AuditEvent, RequestSubjects } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, followAuthorization, generateVaultKeys, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix } from '@portcullis/testing';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';
import { IdentityModule } from '../identity.module';
import { LOGIN_FLOW_TTL_MS, OIDC_LOGIN, OidcLoginService, safeReturnTo } from './oidc-login.service';

class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Real time plus an offset the test moves. */
class ShiftedClock extends Clock {
  offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const PUBLIC_URL = 'https://gateway.login.example';
const REDIRECT_URI = `${PUBLIC_URL}/login/callback`;

/** Browser login against a REAL OpenID provider (panva/oidc-provider, public client, PKCE required) and real PostgreSQL. */
describe(OidcLoginService.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let app: INestApplication;
  let idp: TestOidcProvider;
  let dataSource: DataSource;
  const clock = new ShiftedClock();
  const logs = new LogSink();
  /** Every audit event identity published, off the (in-process) audit stream. */
  const audit: AuditEvent[] = [];
  /** Every state, code and session token the tests saw: none may reach an audit event. */
  const secrets: string[] = [];

  /** How many audit events were delivered, once the stream has delivered all published so far. */
  async function settledAudit(): Promise<number> {
    for (let i = 0; i < 100 && bus.pendingAuditCount() > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setImmediate(resolve));
    return audit.length;
  }
  /** The audit events published since `mark`, none holding a secret the tests saw. */
  async function auditSince(mark: number): Promise<AuditEvent[]> {
    await settledAudit();
    const events = audit.slice(mark);
    const text = JSON.stringify(events);
    for (const secret of secrets) expect(text).not.toContain(secret);
    return events;
  }

  const start = (returnTo?: string) => bus.request(RequestSubjects.identityLoginStart, returnTo === undefined ? {} : { returnTo });
  const complete = async (request: { state: string; code: string; iss?: string }) => {
    const done = await bus.request(RequestSubjects.identityLoginComplete, request);
    secrets.push(done.sessionToken);
    return done;
  };
  /** Starts a login and lets the IdP sign `sub` in: the callback's parameters. */
  async function signIn(returnTo?: string, sub = 'carol'): Promise<{ state: string; code: string; iss?: string }> {
    await idp.setNextLogin({ sub, claims: { email: `${sub}@acme.example`, name: 'Carol C', groups: ['dev', 'ops'] } });
    const started = await start(returnTo);
    if (!started.available) throw new Error('browser login not available');
    const callback = await followAuthorization(started.authorizationUrl, REDIRECT_URI);
    const iss = callback.searchParams.get('iss');
    secrets.push(callback.searchParams.get('state')!, callback.searchParams.get('code')!);
    return { state: callback.searchParams.get('state')!, code: callback.searchParams.get('code')!, ...(iss ? { iss } : {}) };
  }
  /** Refused with one indistinguishable answer; the reason is in the log and in a `login` failure audit event. */
  async function expectRefused(attempt: () => Promise<unknown>, reason: string): Promise<void> {
    const mark = await settledAudit();
    const before = logs.text.length;
    await expect(attempt()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
    expect(logs.text.slice(before)).toContain(reason);
    const events = await auditSince(mark);
    expect(events).toEqual([expect.objectContaining({ action: 'login', method: OIDC_LOGIN, outcome: 'failure', reason: expect.stringContaining(reason) })]);
  }

  beforeAll(async () => {
    [database, idp] = await Promise.all([createTestDatabase('identity-oidc-login'), startOidcProvider({ audience: 'https://gateway.login.example/mcp', browserRedirectUri: REDIRECT_URI })]);
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    await bus.consumeAudit(async (event) => void audit.push(event));
    app = await NestFactory.create(
      IdentityModule.register({
        bus,
        closeBusOnShutdown: true,
        logger: createLogger({ service: 'identity', level: 'info', destination: logs }),
        databaseUrl: database.url,
        clock,
        publicUrl: PUBLIC_URL,
        keyring: Keyring.parse(generateVaultKeys()),
      }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    dataSource = app.get(DataSource);
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await idp?.stop();
    await database?.drop();
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });

  const providerRequest = (name: string, browserLogin: { clientId: string } | null) => ({
    name,
    issuer: idp.issuer,
    discoveryUrl: idp.discoveryUrl,
    jwksUri: null,
    audiences: ['https://gateway.login.example/mcp'],
    allowedAlgorithms: ['ES256' as const],
    clockSkewSeconds: 30,
    claimRules: [],
    subjectClaim: 'sub',
    emailClaim: 'email',
    groupsClaim: 'groups',
    accessTokenType: 'at+jwt',
    mapsTo: 'user' as const,
    virtualAccount: null,
    enabled: true,
    browserLogin,
  });

  describe('start', () => {
    it('answers unavailable while no provider has browser login', async () => {
      await expect(start('/x')).resolves.toEqual({ available: false });
    });

    it('allows browser login on one identity provider only', async () => {
      await bus.request(RequestSubjects.identityAdminIdentityProviderCreate, providerRequest('acme', { clientId: idp.browserClientId }));
      await expect(bus.request(RequestSubjects.identityAdminIdentityProviderCreate, providerRequest('second', { clientId: 'other' }))).rejects.toMatchObject({ code: 'CONFLICT' });
      await bus.request(RequestSubjects.identityAdminIdentityProviderCreate, providerRequest('second', null));
      await expect(bus.request(RequestSubjects.identityAdminIdentityProviderUpdate, { name: 'second', changes: { browserLogin: { clientId: 'other' } } })).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      await bus.request(RequestSubjects.identityAdminIdentityProviderDelete, { name: 'second' });
    });

    it('redirects to the authorization endpoint with code + PKCE S256, a 256-bit state and the callback URI, keeping only the hash of the state', async () => {
      const started = await start('/consent');
      if (!started.available) throw new Error('unavailable');
      const url = new URL(started.authorizationUrl);
      expect(`${url.origin}${url.pathname}`).toBe(`${idp.issuer}/auth`);
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        response_type: 'code',
        client_id: idp.browserClientId,
        redirect_uri: REDIRECT_URI,
        scope: 'openid email profile',
        code_challenge_method: 'S256',
      });
      const state = url.searchParams.get('state')!;
      expect(Buffer.from(state, 'base64url')).toHaveLength(32);
      const rows = (await dataSource.query(`SELECT state_hash, code_verifier, return_to, expires_at - created_at AS ttl FROM "identity"."login_flows"`)) as {
        state_hash: string;
        code_verifier: string;
        return_to: string;
      }[];
      expect(JSON.stringify(rows)).not.toContain(state);
      expect(rows.every((row) => row.code_verifier.startsWith('sealed:'))).toBe(true);
      expect(rows.map((row) => row.return_to)).toContain('/consent');
    });
  });

  describe('complete', () => {
    it('signs the user in with the real IdP: a session for the provisioned user with teams from the groups claim', async () => {
      const callback = await signIn('/connections?x=1');
      expect(callback.iss).toBe(idp.issuer);
      const mark = await settledAudit();
      const done = await complete(callback);
      expect(done.returnTo).toBe('/connections?x=1');
      expect(done.sessionToken).toMatch(/^pcs_/);
      const { principal } = await bus.request(RequestSubjects.identityAuthenticate, { token: done.sessionToken });
      expect(principal).toMatchObject({ kind: 'user', email: 'carol@acme.example', teams: ['dev', 'ops'], isAdmin: false });
      // The login is audited for the provisioned user, by provider id; the state, code and session token are not in it (auditSince checks).
      const [flow] = await dataSource.query(`SELECT provider_id FROM "identity"."login_flows" ORDER BY created_at DESC LIMIT 1`);
      expect(await auditSince(mark)).toEqual([
        expect.objectContaining({
          action: 'login',
          method: OIDC_LOGIN,
          outcome: 'success',
          principal: { id: principal.id, kind: 'user', email: 'carol@acme.example' },
          actor: null,
          credentialKind: 'identity-provider',
          credentialId: flow.provider_id,
          reason: null,
        }),
      ]);
    });

    it('audits a deactivated user\'s sign-in as a failure naming the user', async () => {
      await complete(await signIn(undefined, 'erin'));
      const [user] = await dataSource.query(`SELECT id FROM "identity"."users" WHERE email = 'erin@acme.example'`);
      await bus.request(RequestSubjects.identityAdminUserSetActive, { id: user.id, active: false });
      const mark = await settledAudit();
      await expect(complete(await signIn(undefined, 'erin'))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(await auditSince(mark)).toEqual([
        expect.objectContaining({ action: 'login', outcome: 'failure', principal: { id: `user:${user.id}`, kind: 'user', email: 'erin@acme.example' }, reason: 'user is deactivated' }),
      ]);
    });

    it('refuses a replayed state (each flow is single use)', async () => {
      const callback = await signIn();
      await complete(callback);
      await expectRefused(() => complete(callback), 'unknown or already used state');
    });

    it('refuses a forged state', async () => {
      const callback = await signIn();
      await expectRefused(() => complete({ ...callback, state: Buffer.alloc(32, 7).toString('base64url') }), 'unknown or already used state');
    });

    it('refuses a flow older than ten minutes', async () => {
      const callback = await signIn();
      clock.offsetMs = LOGIN_FLOW_TTL_MS + 1000;
      await expectRefused(() => complete(callback), 'login flow expired');
    });

    it('refuses an authorization response naming another issuer (RFC 9207 mix-up)', async () => {
      const callback = await signIn();
      await expectRefused(() => complete({ ...callback, iss: 'https://evil.example' }), 'iss parameter names another issuer');
    });

    it('refuses an ID token whose nonce is not the flow\'s (token injection)', async () => {
      const callback = await signIn();
      await dataSource.query(`UPDATE "identity"."login_flows" SET nonce = 'tampered' WHERE consumed_at IS NULL`);
      await expectRefused(() => complete(callback), 'ID token nonce does not match the flow');
    });

    it('refuses a code stolen from one flow and presented with another flow\'s state (PKCE)', async () => {
      const first = await signIn();
      const second = await signIn();
      await expectRefused(() => complete({ ...second, code: first.code }), 'token endpoint answered 400');
    });

    it('refuses a user whose e-mail belongs to an admin (no takeover by e-mail)', async () => {
      await dataSource.query(`INSERT INTO "identity"."users" (email, display_name, is_admin, active, created_at) VALUES ('root@acme.example', 'Root', true, true, now())`);
      const callback = await signIn(undefined, 'root');
      const mark = await settledAudit();
      await expect(complete(callback)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
      expect(await dataSource.query(`SELECT 1 FROM "identity"."user_identities" WHERE subject = 'root'`)).toHaveLength(0);
      expect(await auditSince(mark)).toEqual([expect.objectContaining({ action: 'login', outcome: 'failure', principal: null, reason: 'identity email_conflict' })]);
    });
  });

  describe(safeReturnTo.name, () => {
    it('ignores off-site return_to values (open redirect)', () => {
      for (const value of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '', undefined, '/a\nb']) expect(safeReturnTo(value)).toBe('/');
      expect(safeReturnTo('/connections?x=1')).toBe('/connections?x=1');
    });

    it('completes an off-site return_to as /', async () => {
      const done = await complete(await signIn('https://evil.example/phish'));
      expect(done.returnTo).toBe('/');
    });
  });
});
