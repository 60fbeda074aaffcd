import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { RequestSubjects } from '@portcullis/contracts';
import { Clock, IdentityModule } from '@portcullis/identity';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, followAuthorization, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix } from '@portcullis/testing';
import { DataSource } from 'typeorm';
import { EdgeProxyModule } from '../src/edge-proxy.module';
import { BrowserLoginController } from '../src/browser-login/browser-login.controller';

const PUBLIC_URL = 'https://gateway.oidc.test';
const REDIRECT_URI = `${PUBLIC_URL}/login/callback`;

/** Real time plus an offset the test moves (the IdP's tokens carry real times). */
class ShiftedClock extends Clock {
  offsetMs = 0;
  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/**
 * OIDC browser login end to end: edge `/login` → a REAL OpenID provider
 * (oidc-provider, public client, PKCE required) → edge `/login/callback` →
 * session cookie → `/me`; identity on real PostgreSQL.
 */
describe(`${BrowserLoginController.name} (OIDC)`, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let spoolDir: string;
  let idp: TestOidcProvider;
  let edge: NestFastifyApplication;
  let identity: INestApplication;
  const apps: INestApplication[] = [];
  const clock = new ShiftedClock();

  const inject = (options: { url: string; headers?: Record<string, string> }) => edge.getHttpAdapter().getInstance().inject({ method: 'GET', ...options });

  /** What a browser does from `/login` up to the IdP's redirect back: the callback path + query. */
  async function throughIdp(returnTo = '/me', sub = 'dana'): Promise<string> {
    await idp.setNextLogin({ sub, claims: { email: `${sub}@acme.example`, name: 'Dana D', groups: ['platform', 'sre'] } });
    const login = await inject({ url: `/login?return_to=${encodeURIComponent(returnTo)}` });
    expect(login.statusCode).toBe(302);
    const callback = await followAuthorization(String(login.headers.location), REDIRECT_URI);
    return `${callback.pathname}${callback.search}`;
  }

  function expectSignInFailed(response: { statusCode: number; body: string; headers: Record<string, unknown> }): void {
    expect(response.statusCode).toBe(400);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.body).toContain('Sign-in failed');
    expect(response.body).not.toMatch(/state|nonce|issuer|expired|token/i);
  }

  beforeAll(async () => {
    [database, idp] = await Promise.all([createTestDatabase('edge-oidc-login'), startOidcProvider({ audience: `${PUBLIC_URL}/mcp`, browserRedirectUri: REDIRECT_URI })]);
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    spoolDir = mkdtempSync(join(tmpdir(), 'oidc-login-spool-'));
    identity = await NestFactory.create(
      IdentityModule.register({ bus, closeBusOnShutdown: false, logger: createLogger({ service: 'identity', level: 'silent' }), databaseUrl: database.url, clock, publicUrl: PUBLIC_URL }),
      new FastifyAdapter(),
      { logger: false },
    );
    await identity.init();
    apps.push(identity);
    edge = await NestFactory.create<NestFastifyApplication>(
      EdgeProxyModule.register({
        bus,
        closeBusOnShutdown: false,
        logger: createLogger({ service: 'edge-proxy', level: 'silent' }),
        publicUrl: PUBLIC_URL,
        maxRequestBytes: 1 << 20,
        auditSpoolDir: spoolDir,
        browserLoginApiKeyForm: true,
      }),
      new FastifyAdapter(),
      { logger: false },
    );
    await edge.init();
    await edge.getHttpAdapter().getInstance().ready();
    apps.push(edge);
  }, 30_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await bus?.close();
    await idp?.stop();
    await database?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });

  it('keeps the API-key form while no identity provider has browser login', async () => {
    const response = await inject({ url: '/login' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('name="api_key"');
    await bus.request(RequestSubjects.identityAdminIdentityProviderCreate, {
      name: 'acme',
      issuer: idp.issuer,
      discoveryUrl: idp.discoveryUrl,
      jwksUri: null,
      audiences: [`${PUBLIC_URL}/mcp`],
      allowedAlgorithms: ['ES256'],
      clockSkewSeconds: 30,
      claimRules: [],
      subjectClaim: 'sub',
      emailClaim: 'email',
      groupsClaim: 'groups',
      accessTokenType: 'at+jwt',
      mapsTo: 'user',
      virtualAccount: null,
      enabled: true,
      browserLogin: { clientId: idp.browserClientId },
    });
  });

  it('signs in through the IdP: session cookie, then GET /me shows the user and the teams of the groups claim', async () => {
    const callback = await throughIdp('/me?tab=teams');
    const response = await inject({ url: callback });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/me?tab=teams');
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-portcullis_session=pcs_/);
    expect(setCookie).toContain('; HttpOnly');
    expect(setCookie).toContain('; Secure');
    const me = await inject({ url: '/me', headers: { cookie: setCookie.slice(0, setCookie.indexOf(';')) } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ email: 'dana@acme.example', teams: ['platform', 'sre'] });
  });

  it('refuses a replayed callback (state is single use)', async () => {
    const callback = await throughIdp();
    expect((await inject({ url: callback })).statusCode).toBe(302);
    expectSignInFailed(await inject({ url: callback }));
  });

  it('refuses a forged state', async () => {
    const callback = new URL(await throughIdp(), PUBLIC_URL);
    callback.searchParams.set('state', Buffer.alloc(32, 1).toString('base64url'));
    expectSignInFailed(await inject({ url: `${callback.pathname}${callback.search}` }));
  });

  it('refuses a login flow older than ten minutes', async () => {
    const callback = await throughIdp();
    clock.offsetMs = 10 * 60_000 + 1000;
    expectSignInFailed(await inject({ url: callback }));
  });

  it('refuses a callback whose iss names another issuer (RFC 9207 mix-up)', async () => {
    const callback = new URL(await throughIdp(), PUBLIC_URL);
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    callback.searchParams.set('iss', 'https://evil.example');
    expectSignInFailed(await inject({ url: `${callback.pathname}${callback.search}` }));
  });

  it('refuses an ID token carrying another nonce than the flow (token injection)', async () => {
    const callback = await throughIdp();
    await identity.get(DataSource).query(`UPDATE "identity"."login_flows" SET nonce = 'tampered' WHERE consumed_at IS NULL`);
    expectSignInFailed(await inject({ url: callback }));
  });

  it('refuses a callback without a code or with an IdP error', async () => {
    expectSignInFailed(await inject({ url: '/login/callback?state=x' }));
    expectSignInFailed(await inject({ url: '/login/callback?error=access_denied&state=x' }));
  });

  it('ignores an off-site return_to (open redirect)', async () => {
    const response = await inject({ url: await throughIdp('//evil.example/phish') });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/me');
  });
});
