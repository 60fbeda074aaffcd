import { createPublicKey, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { CreateIdentityProviderRequest, EventOf, EventSubjects, RequestSubjects } from '@portcullis/contracts';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, generateSigningJwk, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix } from '@portcullis/testing';
import { decodeProtectedHeader, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { DataSource } from 'typeorm';
import { IdentityModule } from '../identity.module';
import { JWKS_COOLDOWN_MS } from './jwks-cache';
import { JwtAuthenticator } from './jwt-authenticator.service';

class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const AUDIENCE = 'https://gateway.example.test/mcp';
const now = () => Math.floor(Date.now() / 1000);

/**
 * Identity against two REAL OpenID providers (panva/oidc-provider child
 * processes) and real PostgreSQL: `acme` (found by discovery, claim rule
 * org_id == acme, groups → teams) and `partner` (JWKS URI, claim rule
 * org_id == partner).
 */
describe(JwtAuthenticator.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let app: INestApplication;
  let idp: TestOidcProvider;
  let partner: TestOidcProvider;
  const logs = new LogSink();
  const revoked: EventOf<typeof EventSubjects.identityRevoked>[] = [];

  const authenticate = (token: string) => bus.request(RequestSubjects.identityAuthenticate, { token });
  const createProvider = (request: Partial<CreateIdentityProviderRequest> & Pick<CreateIdentityProviderRequest, 'name' | 'issuer' | 'audiences'>) =>
    bus.request(RequestSubjects.identityAdminIdentityProviderCreate, {
      discoveryUrl: null,
      jwksUri: null,
      allowedAlgorithms: ['ES256', 'RS256'],
      clockSkewSeconds: 60,
      claimRules: [],
      subjectClaim: 'sub',
      emailClaim: 'email',
      groupsClaim: null,
      accessTokenType: 'at+jwt',
      mapsTo: 'user',
      virtualAccount: null,
      enabled: true,
      ...request,
    });
  const acmeClaims = (extra: Record<string, unknown> = {}) => ({ org_id: 'acme', email: 'alice@acme.example', groups: ['dev', 'ops'], ...extra });

  /** Signs with the IdP's own current key, as the IdP would (for claims the real grant cannot produce, like a past `exp`). */
  async function signedByIdp(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
    const jwk = idp.signingKey();
    return new SignJWT({ iss: idp.issuer, aud: AUDIENCE, sub: 'alice', iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt', ...header })
      .sign(await importJWK(jwk, jwk.alg));
  }

  async function expectRefused(token: string, reason: string): Promise<void> {
    const before = logs.text.length;
    await expect(authenticate(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid token' });
    const logged = logs.text.slice(before);
    expect(logged).toContain(`"reason":"${reason}"`);
    expect(logged).not.toContain(token);
  }

  beforeAll(async () => {
    [database, idp, partner] = await Promise.all([createTestDatabase('identity-jwt'), startOidcProvider({ audience: AUDIENCE }), startOidcProvider({ audience: AUDIENCE, alg: 'RS256' })]);
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    bus.on(EventSubjects.identityRevoked, async (event) => void revoked.push(event));
    app = await NestFactory.create(
      IdentityModule.register({ bus, closeBusOnShutdown: false, logger: createLogger({ service: 'identity', level: 'debug', destination: logs }), databaseUrl: database.url }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    await createProvider({
      name: 'acme',
      issuer: idp.issuer,
      discoveryUrl: idp.discoveryUrl,
      // The client id too, so an ID token fails on its type alone.
      audiences: [AUDIENCE, idp.clientId],
      claimRules: [{ claim: 'org_id', equals: 'acme' }],
      groupsClaim: 'groups',
    });
    await createProvider({ name: 'partner', issuer: partner.issuer, jwksUri: partner.jwksUri, audiences: [AUDIENCE], claimRules: [{ claim: 'org_id', equals: 'partner' }], mapsTo: 'external' });
  });

  afterAll(async () => {
    jest.useRealTimers();
    await app?.close();
    await bus?.close();
    await Promise.all([idp?.stop(), partner?.stop()]);
    await database?.drop();
  });

  describe('authenticate', () => {
    it('provisions the user of a real IdP access token on first use, with teams from the groups claim', async () => {
      const token = await idp.mintAccessToken({ sub: 'alice', claims: acmeClaims() });
      const { principal, expiresAt } = await authenticate(token);
      expect(principal).toEqual({
        id: expect.stringMatching(/^user:[0-9a-f-]{36}$/),
        kind: 'user',
        sub: 'alice',
        email: 'alice@acme.example',
        teams: ['dev', 'ops'],
        isAdmin: false,
        idp: 'acme',
        // The real provider's access tokens carry `scope: "mcp"`.
        scopes: ['mcp'],
      });
      expect(Date.parse(expiresAt!)).toBeGreaterThan(Date.now());
      const [row] = await app.get(DataSource).query(`SELECT count(*)::int AS n FROM "identity"."user_identities" WHERE subject = 'alice'`);
      expect(row.n).toBe(1);
    });

    it('keeps the same user on later tokens and follows the groups claim', async () => {
      const first = await authenticate(await idp.mintAccessToken({ sub: 'alice', claims: acmeClaims() }));
      const later = await authenticate(await idp.mintAccessToken({ sub: 'alice', claims: acmeClaims({ groups: ['ops', 'security'] }) }));
      expect(later.principal.id).toBe(first.principal.id);
      expect(later.principal.teams).toEqual(['ops', 'security']);
    });

    it('maps a token of an `external` provider to an external principal without provisioning a user', async () => {
      const { principal } = await authenticate(await partner.mintAccessToken({ sub: 'bob', claims: { org_id: 'partner', email: 'bob@partner.example' } }));
      expect(principal).toEqual({ id: 'external:partner/bob', kind: 'external', sub: 'bob', email: 'bob@partner.example', teams: [], isAdmin: false, idp: 'partner', scopes: ['mcp'] });
    });

    it('gives the principal the scopes its token grants (scope, else scp), and none to a token without either', async () => {
      expect((await authenticate(await signedByIdp({ ...acmeClaims(), scope: 'mcp:tools files.read' }))).principal.scopes).toEqual(['mcp:tools', 'files.read']);
      expect((await authenticate(await signedByIdp({ ...acmeClaims(), scp: ['files.read'] }))).principal.scopes).toEqual(['files.read']);
      expect((await authenticate(await signedByIdp(acmeClaims()))).principal.scopes).toEqual([]);
    });

    it('rejects an expired token', async () => {
      await expectRefused(await signedByIdp({ ...acmeClaims(), exp: now() - 120 }), 'expired');
    });

    it('rejects a token that is not yet valid', async () => {
      await expectRefused(await signedByIdp({ ...acmeClaims(), nbf: now() + 600 }), 'not_yet_valid');
    });

    it('rejects a token from an issuer no provider is configured for (wrong issuer)', async () => {
      const jwk = idp.signingKey();
      const token = await new SignJWT(acmeClaims())
        .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer('https://evil.example')
        .setAudience(AUDIENCE)
        .setSubject('alice')
        .setExpirationTime(now() + 300)
        .sign(await importJWK(jwk, jwk.alg));
      await expectRefused(token, 'unknown_issuer');
    });

    it('rejects a token minted for another audience', async () => {
      await expectRefused(await signedByIdp({ ...acmeClaims(), aud: 'https://other-api.example' }), 'wrong_audience');
    });

    it('rejects an unsigned token (alg: none)', async () => {
      const token = new UnsecuredJWT(acmeClaims()).setIssuer(idp.issuer).setAudience(AUDIENCE).setSubject('alice').setExpirationTime(now() + 300).encode();
      await expectRefused(token, 'algorithm_not_allowed');
    });

    it('rejects an HS256 token signed with the provider public key as the HMAC secret (algorithm confusion)', async () => {
      const jwk = idp.signingKey();
      const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      const token = await new SignJWT(acmeClaims())
        .setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(idp.issuer)
        .setAudience(AUDIENCE)
        .setSubject('alice')
        .setExpirationTime(now() + 300)
        .sign(new Uint8Array(Buffer.from(publicPem)));
      await expectRefused(token, 'algorithm_not_allowed');
    });

    it('rejects a token signed by a key the provider does not publish (unknown kid)', async () => {
      const forged = generateSigningJwk('ES256');
      const token = await new SignJWT(acmeClaims())
        .setProtectedHeader({ alg: 'ES256', kid: forged.kid, typ: 'at+jwt' })
        .setIssuer(idp.issuer)
        .setAudience(AUDIENCE)
        .setSubject('alice')
        .setExpirationTime(now() + 300)
        .sign(await importJWK(forged, 'ES256'));
      await expectRefused(token, 'unknown_key');
    });

    it('rejects a real token whose payload was tampered with (privilege escalation through groups)', async () => {
      const [header, payload, signature] = (await idp.mintAccessToken({ sub: 'alice', claims: acmeClaims() })).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const tampered = Buffer.from(JSON.stringify({ ...claims, groups: ['admins'] })).toString('base64url');
      await expectRefused(`${header}.${tampered}.${signature}`, 'bad_signature');
    });

    it('rejects a token of a second provider that matches no claim rule (another tenant)', async () => {
      await expectRefused(await partner.mintAccessToken({ sub: 'mallory', claims: { org_id: 'evil' } }), 'no_matching_provider');
    });

    it('rejects a token whose claims match no rule of the right issuer either', async () => {
      await expectRefused(await idp.mintAccessToken({ sub: 'mallory', claims: { org_id: 'other' } }), 'no_matching_provider');
    });

    it('rejects an ID token presented as an access token', async () => {
      const idToken = await idp.mintIdToken({ sub: 'alice', claims: acmeClaims() });
      expect(decodeProtectedHeader(idToken).typ).not.toBe('at+jwt');
      await expectRefused(idToken, 'wrong_token_type');
    });

    it('refuses to link an IdP login to the admin who owns that e-mail (account takeover)', async () => {
      await bus.request(RequestSubjects.identityAdminApiKeyCreate, { name: 'boss', ownerEmail: 'boss@acme.example', isAdmin: true, expiresAt: null });
      await expectRefused(await idp.mintAccessToken({ sub: 'not-the-boss', claims: acmeClaims({ email: 'boss@acme.example' }) }), 'email_conflict');
    });

    it('rejects the token of a user who was deactivated', async () => {
      const token = await idp.mintAccessToken({ sub: 'leaver', claims: acmeClaims({ email: 'leaver@acme.example' }) });
      const { principal } = await authenticate(token);
      await app.get(DataSource).query(`UPDATE "identity"."users" SET active = false WHERE id = $1`, [principal.id.slice('user:'.length)]);
      await expectRefused(token, 'inactive_user');
    });

    it('stops accepting tokens of a disabled provider and tells every edge', async () => {
      const token = await partner.mintAccessToken({ sub: 'carol', claims: { org_id: 'partner' } });
      await authenticate(token);
      await bus.request(RequestSubjects.identityAdminIdentityProviderUpdate, { name: 'partner', changes: { enabled: false } });
      expect(revoked).toContainEqual({ credentialIds: [], principalIds: [], identityProviders: ['partner'] });
      await expectRefused(token, 'unknown_issuer');
      // Nor is it named any more where agents look for an authorization server (RFC 9728 metadata).
      expect((await bus.request(RequestSubjects.identityAuthorizationServers, {})).issuers).not.toContain(partner.issuer);
      await bus.request(RequestSubjects.identityAdminIdentityProviderUpdate, { name: 'partner', changes: { enabled: true } });
      await authenticate(token);
      expect((await bus.request(RequestSubjects.identityAuthorizationServers, {})).issuers).toContain(partner.issuer);
    });
  });

  describe('JWKS', () => {
    // jose's key-set cooldown reads Date.now(); only Date is faked, so the bus, PostgreSQL and the IdP run in real time.
    const jump = (ms: number) => jest.setSystemTime(Date.now() + ms);
    beforeAll(() => {
      jest.useFakeTimers({
        advanceTimers: true,
        doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
      });
    });
    afterAll(() => jest.useRealTimers());

    it('accepts a token signed with a rotated key without a restart', async () => {
      await authenticate(await idp.mintAccessToken({ sub: 'alice', claims: acmeClaims() }));
      jump(JWKS_COOLDOWN_MS + 1000);
      await idp.rotateKey();
      const fetchesBefore = await idp.jwksRequests();
      const { principal } = await authenticate(await idp.mintAccessToken({ sub: 'alice', claims: acmeClaims() }));
      expect(principal.sub).toBe('alice');
      expect((await idp.jwksRequests()) - fetchesBefore).toBe(1);
    });

    it('fetches the JWKS at most once per 30 s under a flood of unknown-kid tokens (no amplification at the IdP)', async () => {
      const forged = async () => {
        const key = generateSigningJwk('ES256');
        return new SignJWT(acmeClaims())
          .setProtectedHeader({ alg: 'ES256', kid: `${key.kid}-${randomBytes(4).toString('hex')}`, typ: 'at+jwt' })
          .setIssuer(idp.issuer)
          .setAudience(AUDIENCE)
          .setSubject('alice')
          .setExpirationTime(now() + 300)
          .sign(await importJWK(key, 'ES256'));
      };
      const flood = async (count: number) => {
        const tokens = await Promise.all(Array.from({ length: count }, forged));
        const answers = await Promise.allSettled(tokens.map(authenticate));
        expect(answers.every((a) => a.status === 'rejected')).toBe(true);
      };
      jump(JWKS_COOLDOWN_MS + 1000);
      const start = await idp.jwksRequests();
      await flood(40);
      await flood(40);
      expect((await idp.jwksRequests()) - start).toBe(1);
      jump(JWKS_COOLDOWN_MS / 2);
      await flood(40);
      expect((await idp.jwksRequests()) - start).toBe(1);
      jump(JWKS_COOLDOWN_MS / 2 + 1000);
      await flood(40);
      expect((await idp.jwksRequests()) - start).toBe(2);
    });
  });
});
