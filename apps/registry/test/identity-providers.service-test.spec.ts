import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix } from '@portcullis/testing';
import { IdentityProviderController } from '../src/identity-providers/identity-provider.controller';
import { bootIdentity, bootRegistry, callJson, newAdminToken } from './registry-test-harness';

const ADMIN_TOKEN = newAdminToken();
const AUDIENCE = 'https://gateway.example.test/mcp';

/** `/api/v1/identity-providers` as an admin uses it: registry → bus → identity (real PostgreSQL), with a real OpenID provider behind. */
describe(IdentityProviderController.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let identity: NestFastifyApplication;
  let registry: NestFastifyApplication;
  let idp: TestOidcProvider;

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = ADMIN_TOKEN) => callJson(registry, method, url, body, token);

  beforeAll(async () => {
    [database, idp] = await Promise.all([createTestDatabase('registry-idp'), startOidcProvider({ audience: AUDIENCE })]);
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const logger = createLogger({ service: 'test', level: 'silent' });
    identity = await bootIdentity({ bus, closeBusOnShutdown: false, logger, databaseUrl: database.url, bootstrapAdminToken: ADMIN_TOKEN });
    registry = await bootRegistry({ bus, closeBusOnShutdown: false, logger, databaseUrl: database.url, outboundAllowPrivate: true });
  });

  afterAll(async () => {
    await registry?.close();
    await identity?.close();
    await bus?.close();
    await idp?.stop();
    await database?.drop();
  });

  it('creates, reads, changes and deletes an identity provider, with defaults applied', async () => {
    const created = await call('POST', '/api/v1/identity-providers', { name: 'acme', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, audiences: [AUDIENCE], groupsClaim: 'groups' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'acme', issuer: idp.issuer, allowedAlgorithms: ['RS256', 'ES256'], clockSkewSeconds: 60, accessTokenType: 'at+jwt', mapsTo: 'user', claimRules: [] });
    expect((await call('GET', '/api/v1/identity-providers')).body.items.map((p: { name: string }) => p.name)).toEqual(['acme']);
    const changed = await call('PATCH', '/api/v1/identity-providers/acme', { claimRules: [{ claim: 'org_id', in: ['acme', 'acme-eu'] }], allowedAlgorithms: ['ES256'] });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ claimRules: [{ claim: 'org_id', in: ['acme', 'acme-eu'] }], allowedAlgorithms: ['ES256'], groupsClaim: 'groups' });
    expect((await call('GET', '/api/v1/identity-providers/acme')).body.allowedAlgorithms).toEqual(['ES256']);
    expect((await call('DELETE', '/api/v1/identity-providers/acme')).status).toBe(200);
    expect((await call('GET', '/api/v1/identity-providers/acme')).status).toBe(404);
  });

  it('refuses HMAC and none as allowed algorithms (algorithm confusion is not configurable)', async () => {
    for (const alg of ['HS256', 'none']) {
      const answer = await call('POST', '/api/v1/identity-providers', { name: 'weak', issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE], allowedAlgorithms: [alg] });
      expect(answer.status).toBe(400);
      expect(answer.body.error.issues[0].path).toBe('allowedAlgorithms.0');
    }
  });

  it('refuses a provider with both or neither of discoveryUrl and jwksUri, a virtual account without mapsTo, a duplicate name', async () => {
    const both = await call('POST', '/api/v1/identity-providers', { name: 'both', issuer: idp.issuer, jwksUri: idp.jwksUri, discoveryUrl: idp.discoveryUrl, audiences: [AUDIENCE] });
    expect(both.status).toBe(400);
    expect(both.body.error.issues).toEqual([{ path: 'jwksUri', message: 'exactly one of discoveryUrl and jwksUri must be set' }]);
    expect((await call('POST', '/api/v1/identity-providers', { name: 'neither', issuer: idp.issuer, audiences: [AUDIENCE] })).status).toBe(400);
    expect((await call('POST', '/api/v1/identity-providers', { name: 'va', issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE], virtualAccount: 'ci' })).status).toBe(400);
    expect((await call('POST', '/api/v1/identity-providers', { name: 'dup', issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE] })).status).toBe(201);
    expect((await call('POST', '/api/v1/identity-providers', { name: 'dup', issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE] })).status).toBe(409);
    expect((await call('POST', '/api/v1/identity-providers', { name: 'Bad Name', issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE] })).status).toBe(400);
  });

  it("authenticates the IdP's users on the admin API as non-admins (403), and refuses its tokens once the provider is deleted (401)", async () => {
    expect((await call('POST', '/api/v1/identity-providers', { name: 'sso', issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE] })).status).toBe(201);
    const token = await idp.mintAccessToken({ sub: 'dana', claims: { email: 'dana@acme.example' } });
    expect((await call('GET', '/api/v1/identity-providers', undefined, token)).status).toBe(403);
    expect((await call('DELETE', '/api/v1/identity-providers/sso')).status).toBe(200);
    expect((await call('DELETE', '/api/v1/identity-providers/dup')).status).toBe(200);
    expect((await call('GET', '/api/v1/identity-providers', undefined, token)).status).toBe(401);
  });
});
