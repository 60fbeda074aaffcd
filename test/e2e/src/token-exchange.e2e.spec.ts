import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { AuditModule } from '@portcullis/audit';
import { Bus, InProcessBus } from '@portcullis/bus';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyModule } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { RegistryModule } from '@portcullis/registry';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, EchoMcpServer, generateVaultKeys, startEchoMcpServer, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix } from '@portcullis/testing';
import { TokenVaultModule } from '@portcullis/token-vault';
import { adminRequest, initializeRequest, listeningUrl, MCP_HEADERS, moduleStarter } from './e2e-helpers';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';

const ADMIN_TOKEN = `bootstrap-admin-${randomBytes(24).toString('base64url')}`;
const PUBLIC_URL = 'https://gateway.token-exchange.example';
const AUDIENCE = 'https://gateway.token-exchange.example/mcp';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const INITIALIZE = initializeRequest('token-exchange-e2e');

/** identity's clock, moved forward by tests that need an expired gateway JWT. */
class ShiftableClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/**
 * RFC 8693 token exchange end to end: identity (with its keyring), token-vault,
 * audit, registry and edge-proxy as real modules on one in-process bus, real
 * PostgreSQL, a real oidc-provider and a real upstream MCP server.
 */
describe('token exchange (RFC 8693) through a real edge', () => {
  let database: TestDatabase;
  let idp: TestOidcProvider;
  let upstream: EchoMcpServer;
  let bus: Bus;
  const identityClock = new ShiftableClock();
  const apps: INestApplication[] = [];
  let edgeUrl: string;
  let registryUrl: string;
  let auditUrl: string;
  let actorToken: string;
  let noExchangeToken: string;

  const url = listeningUrl;
  const admin = (method: string, path: string, body?: unknown) => adminRequest(registryUrl, ADMIN_TOKEN, method, path, body);
  const exchange = async (fields: Record<string, string>, contentType = 'application/x-www-form-urlencoded') => {
    const response = await fetch(`${edgeUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': contentType }, body: new URLSearchParams(fields).toString() });
    return { status: response.status, cacheControl: response.headers.get('cache-control'), body: (await response.json()) as Record<string, unknown> };
  };
  const form = (subjectToken: string, extra: Record<string, string> = {}) => ({
    grant_type: GRANT,
    subject_token: subjectToken,
    subject_token_type: JWT,
    actor_token: actorToken,
    actor_token_type: ACCESS_TOKEN,
    ...extra,
  });
  const initialize = async (token: string) =>
    (await fetch(`${edgeUrl}/mcp/echo`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: INITIALIZE })).status;
  const aliceToken = (ttlSeconds?: number) => idp.mintAccessToken({ sub: 'alice-sub', claims: { email: 'alice@acme.example', groups: ['dev'] }, ttlSeconds });
  const exchangedFor = async (subjectToken: string) => {
    const answer = await exchange(form(subjectToken));
    expect(answer.status).toBe(200);
    return answer.body['access_token'] as string;
  };
  const auditEvents = async (predicate: (row: AuditRow) => boolean): Promise<AuditRow[]> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const response = await fetch(`${auditUrl}/api/v1/audit/events?limit=500`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const rows = ((await response.json()) as { items: AuditRow[] }).items.filter(predicate);
      if (rows.length > 0 || Date.now() > deadline) return rows;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    [database, idp, upstream] = await Promise.all([createTestDatabase('token-exchange-e2e'), startOidcProvider({ audience: AUDIENCE }), startEchoMcpServer()]);
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const runtime = { bus, closeBusOnShutdown: false, logger: createLogger({ service: 'token-exchange-e2e', level: 'silent' }), databaseUrl: database.url };
    const create = moduleStarter(apps);
    await create(
      IdentityModule.register({ ...runtime, bootstrapAdminToken: ADMIN_TOKEN, keyring: Keyring.parse(generateVaultKeys()), publicUrl: PUBLIC_URL, clock: identityClock }),
      false,
    );
    await create(TokenVaultModule.register({ ...runtime, keyring: Keyring.parse(generateVaultKeys()) }), false);
    auditUrl = url(await create(AuditModule.register(runtime), true));
    registryUrl = url(await create(RegistryModule.register({ ...runtime, outboundAllowPrivate: true }), true));
    edgeUrl = url(
      await create(
        EdgeProxyModule.register({ ...runtime, publicUrl: PUBLIC_URL, maxRequestBytes: 64 * 1024, auditSpoolDir: mkdtempSync(join(tmpdir(), 'token-exchange-e2e-spool-')), outboundAllowPrivate: true }),
        true,
      ),
    );
    expect((await admin('POST', '/api/v1/identity-providers', { name: 'acme', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, audiences: [AUDIENCE], groupsClaim: 'groups' })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers', { slug: 'echo', name: 'Echo', url: upstream.url, authType: 'none' })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers/echo/collaborators', { subject: 'team:dev', role: 'user' })).status).toBe(201);
    expect((await admin('POST', '/api/v1/virtual-accounts', { name: 'assistant', canExchange: true })).status).toBe(201);
    actorToken = (await admin('POST', '/api/v1/virtual-accounts/assistant/tokens', {})).body.token;
    expect((await admin('POST', '/api/v1/virtual-accounts', { name: 'plain-bot' })).status).toBe(201);
    noExchangeToken = (await admin('POST', '/api/v1/virtual-accounts/plain-bot/tokens', {})).body.token;
  }, 60_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await bus?.close();
    await Promise.allSettled([upstream?.close(), idp?.stop()]);
    await database?.drop();
  });

  describe('POST /oauth/token', () => {
    it("exchanges an IdP user's JWT for a gateway JWT naming the user as sub and the virtual account as act", async () => {
      const subjectToken = await aliceToken();
      // The subject token grants `mcp`: the issued token carries it, narrowed to the scopes asked for (never widened).
      const answer = await exchange(form(subjectToken, { scope: 'mcp tools:read', resource: `${PUBLIC_URL}/mcp/echo` }));
      expect(answer.status).toBe(200);
      expect(answer.cacheControl).toBe('no-store');
      expect(answer.body).toMatchObject({ issued_token_type: JWT, token_type: 'Bearer', scope: 'mcp' });
      const expiresIn = answer.body['expires_in'] as number;
      expect(expiresIn).toBeGreaterThan(0);
      expect(expiresIn).toBeLessThanOrEqual(15 * 60);
      const token = answer.body['access_token'] as string;
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({ iss: PUBLIC_URL, aud: PUBLIC_URL, sub: 'alice-sub', act: { sub: 'virtualaccount:assistant' }, scope: 'mcp', resource: `${PUBLIC_URL}/mcp/echo` });
      expect(typeof claims.jti).toBe('string');
      expect(claims.exp! - claims.iat!).toBe(expiresIn);
    });

    it("exchanges a user's API key (access_token type)", async () => {
      const key = (await admin('POST', '/api/v1/api-keys', { name: 'dana laptop', ownerEmail: 'dana@acme.example' })).body;
      const answer = await exchange(form(key.token, { subject_token_type: ACCESS_TOKEN }));
      expect(answer.status).toBe(200);
      const claims = decodeJwt(answer.body['access_token'] as string);
      expect(claims).toMatchObject({ sub: key.apiKey.ownerUserId, act: { sub: 'virtualaccount:assistant' } });
      // An API key without expiry: the full 15 minutes.
      expect(answer.body['expires_in']).toBe(15 * 60);
    });

    it("never lets the exchanged token outlive the subject token", async () => {
      const subjectToken = await aliceToken(120);
      const answer = await exchange(form(subjectToken));
      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.body['access_token'] as string).exp).toBeLessThanOrEqual(decodeJwt(subjectToken).exp!);
      expect(answer.body['expires_in']).toBeLessThanOrEqual(120);
    });

    it.each([
      ['a missing subject_token', { subject_token: '' }],
      ['a missing actor_token', { actor_token: '' }],
      ['a wrong subject_token_type', { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }],
      ['a wrong actor_token_type', { actor_token_type: JWT }],
    ])('answers 400 invalid_request for %s', async (_case, override) => {
      const answer = await exchange(form(await aliceToken(), override));
      expect(answer.status).toBe(400);
      expect(answer.cacheControl).toBe('no-store');
      expect(answer.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    });

    it('answers 400 invalid_request for an API key sent as subject_token_type jwt, and for a body that is not a form', async () => {
      const key = (await admin('POST', '/api/v1/api-keys', { name: 'erin laptop', ownerEmail: 'erin@acme.example' })).body;
      expect((await exchange(form(key.token))).body['error']).toBe('invalid_request');
      const json = await exchange(form(await aliceToken()), 'application/json');
      expect(json.status).toBe(400);
      expect(json.body['error']).toBe('invalid_request');
    });

    it('answers 400 unsupported_grant_type for another grant and invalid_target for a resource outside the gateway', async () => {
      expect((await exchange(form(await aliceToken(), { grant_type: 'client_credentials' }))).body['error']).toBe('unsupported_grant_type');
      const target = await exchange(form(await aliceToken(), { resource: 'https://evil.example/mcp/echo' }));
      expect(target.status).toBe(400);
      expect(target.body['error']).toBe('invalid_target');
    });

    it('refuses a virtual account without canExchange with unauthorized_client', async () => {
      const answer = await exchange(form(await aliceToken(), { actor_token: noExchangeToken }));
      expect(answer.status).toBe(400);
      expect(answer.body['error']).toBe('unauthorized_client');
    });

    it("refuses a user's API key as the actor with unauthorized_client (only a virtual account may act)", async () => {
      const answer = await exchange(form(await aliceToken(), { actor_token: ADMIN_TOKEN }));
      expect(answer.body['error']).toBe('unauthorized_client');
    });

    it('refuses a forged or revoked actor token with 401 invalid_client', async () => {
      const answer = await exchange(form(await aliceToken(), { actor_token: 'pcv_00000000-0000-0000-0000-000000000000_forged' }));
      expect(answer.status).toBe(401);
      expect(answer.cacheControl).toBe('no-store');
      expect(answer.body['error']).toBe('invalid_client');
    });

    it('refuses an expired subject token with invalid_grant', async () => {
      const key = idp.signingKey();
      const expired = await new SignJWT({ email: 'alice@acme.example' })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
        .setIssuer(idp.issuer)
        .setAudience(AUDIENCE)
        .setSubject('alice-sub')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
        .sign(await importJWK(key, key.alg));
      const answer = await exchange(form(expired));
      expect(answer.status).toBe(400);
      expect(answer.body['error']).toBe('invalid_grant');
    });

    it('refuses a revoked API key and a garbage JWT as the subject with invalid_grant', async () => {
      const key = (await admin('POST', '/api/v1/api-keys', { name: 'frank laptop', ownerEmail: 'frank@acme.example' })).body;
      expect((await admin('DELETE', `/api/v1/api-keys/${key.apiKey.id}`)).status).toBe(200);
      expect((await exchange(form(key.token, { subject_token_type: ACCESS_TOKEN }))).body['error']).toBe('invalid_grant');
      expect((await exchange(form('aaaa.bbbb.cccc'))).body['error']).toBe('invalid_grant');
    });

    it("refuses re-exchanging a gateway JWT or a virtual account's token as the subject (invalid_grant)", async () => {
      const gatewayJwt = await exchangedFor(await aliceToken());
      expect((await exchange(form(gatewayJwt))).body['error']).toBe('invalid_grant');
      expect((await exchange(form(noExchangeToken, { subject_token_type: ACCESS_TOKEN }))).body['error']).toBe('invalid_grant');
    });
  });

  describe('the exchanged token at the edge', () => {
    it('reaches the MCP server as the user acting through the virtual account (only once the account has a role too), and the audit rows show principal and actor', async () => {
      // Delegation is the intersection of both parties' rights: the user alone is not enough.
      expect(await initialize(await exchangedFor(await aliceToken()))).toBe(403);
      expect((await admin('POST', '/api/v1/servers/echo/collaborators', { subject: 'virtualaccount:assistant', role: 'user' })).status).toBe(201);
      const token = await exchangedFor(await aliceToken());
      expect(await initialize(token)).toBe(200);
      const userId = (await admin('GET', '/api/v1/users?email=alice@acme.example')).body.items[0].id;
      const accountId = (await admin('GET', '/api/v1/virtual-accounts/assistant')).body.id as string;
      const calls = await auditEvents((row) => row.action === 'mcp.request' && row.principal?.id === `user:${userId}` && row.actor !== null);
      expect(calls[0]).toMatchObject({ principal: { id: `user:${userId}`, kind: 'user' }, actor: { id: `virtualaccount:${accountId}`, kind: 'virtual_account' }, outcome: 'success' });
      const exchanges = await auditEvents((row) => row.action === 'token.exchange' && row.outcome === 'success' && row.principal?.id === `user:${userId}`);
      expect(exchanges[0]).toMatchObject({ actor: { id: `virtualaccount:${accountId}`, kind: 'virtual_account' } });
      const refusals = await auditEvents((row) => row.action === 'token.exchange' && row.outcome === 'failure' && (row.reason ?? '').startsWith('unauthorized_client'));
      expect(refusals.length).toBeGreaterThan(0);
      // No token value ever reaches the audit trail.
      const all = JSON.stringify(await auditEvents((row) => row.action === 'token.exchange'));
      expect(all).not.toContain(actorToken);
      expect(all).not.toContain(token);
    });

    it('refuses a tampered gateway JWT (payload changed, signature kept) with 401', async () => {
      const [header, payload, signature] = (await exchangedFor(await aliceToken())).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'mallory-sub' })).toString('base64url');
      expect(await initialize(`${header}.${forged}.${signature}`)).toBe(401);
    });

    it('refuses a JWT signed by another ES256 key under the real kid with 401', async () => {
      const genuine = await exchangedFor(await aliceToken());
      const { kid } = decodeProtectedHeader(genuine);
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(decodeJwt(genuine)).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
      expect(await initialize(forged)).toBe(401);
    });

    it('refuses an alg:none gateway JWT with 401', async () => {
      const genuine = await exchangedFor(await aliceToken());
      const { kid } = decodeProtectedHeader(genuine);
      const header = Buffer.from(JSON.stringify({ alg: 'none', kid, typ: 'at+jwt' })).toString('base64url');
      expect(await initialize(`${header}.${genuine.split('.')[1]}.`)).toBe(401);
    });

    it('refuses an expired gateway JWT with 401', async () => {
      const token = await exchangedFor(await aliceToken());
      identityClock.offsetMs = 16 * 60 * 1000;
      try {
        expect(await initialize(token)).toBe(401);
      } finally {
        identityClock.offsetMs = 0;
      }
    });

    it('stops accepting an exchanged token cached at the edge once the user is deactivated', async () => {
      const key = (await admin('POST', '/api/v1/api-keys', { name: 'gina laptop', ownerEmail: 'gina@acme.example' })).body;
      const answer = await exchange(form(key.token, { subject_token_type: ACCESS_TOKEN }));
      const token = answer.body['access_token'] as string;
      // Authenticated (and cached), though gina has no role on the server.
      expect(await initialize(token)).toBe(403);
      expect((await admin('POST', `/api/v1/users/${key.apiKey.ownerUserId}/deactivate`)).status).toBe(200);
      expect(await initialize(token)).toBe(401);
    });

    it('stops accepting an exchanged token cached at the edge once its virtual account loses canExchange, and refuses new exchanges', async () => {
      expect((await admin('POST', '/api/v1/virtual-accounts', { name: 'helper', canExchange: true })).status).toBe(201);
      const helperToken = (await admin('POST', '/api/v1/virtual-accounts/helper/tokens', {})).body.token as string;
      expect((await admin('POST', '/api/v1/servers/echo/collaborators', { subject: 'virtualaccount:helper', role: 'user' })).status).toBe(201);
      const answer = await exchange(form(await aliceToken(), { actor_token: helperToken }));
      const token = answer.body['access_token'] as string;
      expect(await initialize(token)).toBe(200);
      expect((await admin('PATCH', '/api/v1/virtual-accounts/helper', { canExchange: false })).status).toBe(200);
      expect(await initialize(token)).toBe(401);
      expect((await exchange(form(await aliceToken(), { actor_token: helperToken }))).body['error']).toBe('unauthorized_client');
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('serves the public signing key only (no private member), under the kid the tokens carry', async () => {
      const response = await fetch(`${edgeUrl}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys.length).toBeGreaterThan(0);
      for (const key of jwks.keys) {
        expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        expect(key).not.toHaveProperty('d');
      }
      const token = await exchangedFor(await aliceToken());
      // What a resource server would do: verify the token with the published keys alone.
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), { issuer: PUBLIC_URL, audience: PUBLIC_URL, algorithms: ['ES256'] });
      expect(payload.act).toEqual({ sub: 'virtualaccount:assistant' });
    });
  });
});

interface AuditRow {
  action: string;
  outcome: string;
  reason: string | null;
  principal: { id: string; kind: string; email?: string } | null;
  actor: { id: string; kind: string } | null;
}
