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
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { EdgeProxyModule } from '../src/edge-proxy.module';
import { BrowserLoginController } from '../src/browser-login/browser-login.controller';

const PUBLIC_URL = 'https://gateway.test';
const ADMIN_TOKEN = `bootstrap-admin-${'k'.repeat(24)}-${Date.now()}`;

class FrozenClock extends Clock {
  private current = new Date();
  override now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL };

describe(BrowserLoginController.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let spoolDir: string;
  const apps: INestApplication[] = [];
  let edge: NestFastifyApplication;
  let aliceKey: string;
  let aliceId: string;
  const clock = new FrozenClock();

  async function bootEdge(publicUrl: string, browserLoginApiKeyForm: boolean): Promise<NestFastifyApplication> {
    const app = await NestFactory.create<NestFastifyApplication>(
      EdgeProxyModule.register({
        bus,
        closeBusOnShutdown: false,
        logger: createLogger({ service: 'edge-proxy', level: 'silent' }),
        publicUrl,
        maxRequestBytes: 1 << 20,
        auditSpoolDir: spoolDir,
        browserLoginApiKeyForm,
      }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    apps.push(app);
    return app;
  }

  const inject = (app: NestFastifyApplication, options: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: string }) =>
    app.getHttpAdapter().getInstance().inject(options);

  async function signIn(key = aliceKey, app = edge): Promise<string> {
    const response = await inject(app, { method: 'POST', url: '/login', headers: FORM, payload: new URLSearchParams({ api_key: key }).toString() });
    expect(response.statusCode).toBe(303);
    const cookie = String(response.headers['set-cookie']);
    return cookie.slice(0, cookie.indexOf(';'));
  }

  beforeAll(async () => {
    database = await createTestDatabase('browser_login');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    spoolDir = mkdtempSync(join(tmpdir(), 'browser-login-spool-'));
    const identity = await NestFactory.create(
      IdentityModule.register({ bus, closeBusOnShutdown: false, logger: createLogger({ service: 'identity', level: 'silent' }), databaseUrl: database.url, bootstrapAdminToken: ADMIN_TOKEN, clock }),
      new FastifyAdapter(),
      { logger: false },
    );
    await identity.init();
    apps.push(identity);
    edge = await bootEdge(PUBLIC_URL, true);
    aliceKey = (await bus.request(RequestSubjects.identityAdminApiKeyCreate, { name: 'browser', ownerEmail: 'alice@example.com', isAdmin: false, expiresAt: null })).token;
    aliceId = (await bus.request(RequestSubjects.identityAuthenticate, { token: aliceKey })).principal.sub;
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await bus?.close();
    await database?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  describe('login form', () => {
    it('shows the API-key form with a same-origin return_to only', async () => {
      const response = await inject(edge, { method: 'GET', url: '/login?return_to=%2Fme%2Fconnections' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.body).toContain('name="api_key"');
      expect(response.body).toContain('value="/me/connections"');
    });

    it('signs in with a user API key, sets the session cookie, and GET /me shows the user', async () => {
      const response = await inject(edge, { method: 'POST', url: '/login', headers: FORM, payload: new URLSearchParams({ api_key: aliceKey, return_to: '/me' }).toString() });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/me');
      const setCookie = String(response.headers['set-cookie']);
      expect(setCookie).toMatch(/^__Host-portcullis_session=pcs_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}; /);
      expect(setCookie).toContain('; Path=/;');
      expect(setCookie).toContain('; HttpOnly');
      expect(setCookie).toContain('; SameSite=Lax');
      expect(setCookie).toContain('; Secure');
      expect(setCookie).not.toMatch(/Domain=/i);
      const me = await inject(edge, { method: 'GET', url: '/me', headers: { cookie: setCookie.slice(0, setCookie.indexOf(';')) } });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ id: `user:${aliceId}`, email: 'alice@example.com' });
    });

    it('ignores a return_to pointing off-site (open redirect)', async () => {
      const response = await inject(edge, { method: 'POST', url: '/login', headers: FORM, payload: new URLSearchParams({ api_key: aliceKey, return_to: '//evil.example/phish' }).toString() });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/me');
    });

    it('refuses a bad API key without setting a cookie', async () => {
      const response = await inject(edge, { method: 'POST', url: '/login', headers: FORM, payload: new URLSearchParams({ api_key: 'pcl_nothing_00000000000000000000000000000000000' }).toString() });
      expect(response.statusCode).toBe(401);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.body).toContain('not accepted');
    });

    it('refuses a cross-site login post (login CSRF): foreign Origin, or no Origin nor Referer', async () => {
      const payload = new URLSearchParams({ api_key: aliceKey }).toString();
      const foreign = await inject(edge, { method: 'POST', url: '/login', headers: { ...FORM, origin: 'https://evil.example' }, payload });
      const bare = await inject(edge, { method: 'POST', url: '/login', headers: { 'content-type': FORM['content-type'] }, payload });
      for (const response of [foreign, bare]) {
        expect(response.statusCode).toBe(403);
        expect(response.headers['set-cookie']).toBeUndefined();
      }
    });

    it('answers 404 when the form is not enabled (no browser login configured)', async () => {
      const other = await bootEdge(PUBLIC_URL, false);
      expect((await inject(other, { method: 'GET', url: '/login' })).statusCode).toBe(404);
      expect((await inject(other, { method: 'POST', url: '/login', headers: FORM, payload: `api_key=${aliceKey}` })).statusCode).toBe(404);
    });

    it('names the cookie portcullis_session without Secure on plain-HTTP loopback (development)', async () => {
      const dev = await bootEdge('http://localhost:8080', true);
      const response = await inject(dev, { method: 'POST', url: '/login', headers: { ...FORM, origin: 'http://localhost:8080' }, payload: `api_key=${encodeURIComponent(aliceKey)}` });
      const setCookie = String(response.headers['set-cookie']);
      expect(setCookie).toMatch(/^portcullis_session=pcs_/);
      expect(setCookie).not.toContain('Secure');
      expect((await inject(dev, { method: 'GET', url: '/me', headers: { cookie: setCookie.slice(0, setCookie.indexOf(';')) } })).statusCode).toBe(200);
    });
  });

  describe('sessions', () => {
    it('refuses /me without a cookie, and with a forged session token', async () => {
      expect((await inject(edge, { method: 'GET', url: '/me' })).statusCode).toBe(401);
      const forged = await inject(edge, { method: 'GET', url: '/me', headers: { cookie: '__Host-portcullis_session=pcs_AAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
      expect(forged.statusCode).toBe(401);
    });

    it('never grants admin rights to a session, even one started with an admin key (session used as an admin token)', async () => {
      expect((await bus.request(RequestSubjects.identityAuthenticate, { token: ADMIN_TOKEN })).principal.isAdmin).toBe(true);
      const cookie = await signIn(ADMIN_TOKEN);
      const principal = (await bus.request(RequestSubjects.identityAuthenticate, { token: cookie.slice(cookie.indexOf('=') + 1) })).principal;
      expect(principal.isAdmin).toBe(false);
    });

    it('refuses an expired session (stolen cookie replayed after 8 hours)', async () => {
      const cookie = await signIn();
      const token = cookie.slice(cookie.indexOf('=') + 1);
      await expect(bus.request(RequestSubjects.identityAuthenticate, { token })).resolves.toBeDefined();
      clock.advance(8 * 60 * 60_000);
      try {
        await expect(bus.request(RequestSubjects.identityAuthenticate, { token })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      } finally {
        clock.advance(-8 * 60 * 60_000);
      }
    });

    it('logout revokes the session (a replayed cookie is refused afterwards)', async () => {
      const cookie = await signIn();
      expect((await inject(edge, { method: 'GET', url: '/me', headers: { cookie } })).statusCode).toBe(200);
      const logout = await inject(edge, { method: 'POST', url: '/logout', headers: { origin: PUBLIC_URL, cookie } });
      expect(logout.statusCode).toBe(200);
      expect(String(logout.headers['set-cookie'])).toContain('Max-Age=0');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await inject(edge, { method: 'GET', url: '/me', headers: { cookie } })).statusCode).toBe(401);
      await expect(bus.request(RequestSubjects.identityAuthenticate, { token: cookie.slice(cookie.indexOf('=') + 1) })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    it('refuses a cross-site logout post (logout CSRF) and keeps the session', async () => {
      const cookie = await signIn();
      expect((await inject(edge, { method: 'POST', url: '/logout', headers: { origin: 'https://evil.example', cookie } })).statusCode).toBe(403);
      expect((await inject(edge, { method: 'GET', url: '/me', headers: { cookie } })).statusCode).toBe(200);
    });

    it('refuses the session of a deactivated user, and it stays revoked after reactivation', async () => {
      const bobKey = (await bus.request(RequestSubjects.identityAdminApiKeyCreate, { name: 'browser', ownerEmail: 'bob@example.com', isAdmin: false, expiresAt: null })).token;
      const bobId = (await bus.request(RequestSubjects.identityAuthenticate, { token: bobKey })).principal.sub;
      const cookie = await signIn(bobKey);
      expect((await inject(edge, { method: 'GET', url: '/me', headers: { cookie } })).statusCode).toBe(200);
      await bus.request(RequestSubjects.identityAdminUserSetActive, { id: bobId, active: false });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await inject(edge, { method: 'GET', url: '/me', headers: { cookie } })).statusCode).toBe(401);
      await bus.request(RequestSubjects.identityAdminUserSetActive, { id: bobId, active: true });
      await expect(bus.request(RequestSubjects.identityAuthenticate, { token: cookie.slice(cookie.indexOf('=') + 1) })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  });
});
