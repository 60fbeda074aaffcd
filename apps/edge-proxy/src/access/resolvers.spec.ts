import { randomUUID } from 'node:crypto';
import { BusError, InProcessBus } from '@portcullis/bus';
import { Principal, RequestOf, RequestSubjects, ResolvedCredential, ServerTarget, ServiceQueues } from '@portcullis/contracts';
import { uniqueSubjectPrefix } from '@portcullis/testing';
import { FrozenClock } from '../../test/frozen-clock';
import type { EdgeProxyModuleOptions } from '../edge-proxy.options';
import { ConsentRequiredError, DependencyUnavailableError, PassthroughRefusedError, UnauthenticatedError, UserValueRequiredError } from '../errors';
import { PublicUrls } from '../public-urls';
import { CredentialResolver } from './credential-resolver.service';
import { PrincipalResolver } from './principal-resolver.service';

const alice: Principal = { id: 'user-1', kind: 'user', sub: 'alice', teams: [], isAdmin: false, credentialId: 'key-1' };
const bob: Principal = { ...alice, id: 'user-2', sub: 'bob', credentialId: 'key-2' };
const server: ServerTarget = { id: randomUUID(), slug: 's', name: 's', url: 'http://127.0.0.1:1/mcp', transport: 'streamable-http', authType: 'header', oauthGrantType: null, timeoutMs: 1000 };
const urls = new PublicUrls({ publicUrl: 'https://gateway.example.test' } as EdgeProxyModuleOptions);
/** An identity provider's JWT as the caller's bearer token (its shape is all the resolver looks at). */
const IDP_JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

describe(PrincipalResolver.name, () => {
  let bus: InProcessBus;
  let clock: FrozenClock;
  let asked: number;
  let expiresAt: string | null;

  beforeEach(() => {
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    clock = new FrozenClock();
    asked = 0;
    expiresAt = null;
    bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
      asked++;
      if (token !== 'good') throw new BusError('UNAUTHENTICATED', 'no');
      return { principal: alice, expiresAt };
    });
  });
  afterEach(() => bus.close());

  describe('authenticate', () => {
    it('serves a principal from cache for at most 60 seconds', async () => {
      const resolver = new PrincipalResolver(bus, clock);
      await resolver.authenticate('good');
      clock.time += 59_999;
      await resolver.authenticate('good');
      expect(asked).toBe(1);
      clock.time += 1;
      await resolver.authenticate('good');
      expect(asked).toBe(2);
    });

    it('offers a cached principal to the synchronous hot path, only for the token it was authenticated with', async () => {
      const resolver = new PrincipalResolver(bus, clock);
      expect(resolver.cached('good')).toBeUndefined();
      const principal = await resolver.authenticate('good');
      expect(resolver.cached('good')).toBe(principal);
      expect(resolver.cached('other')).toBeUndefined();
      expect(resolver.cached(null)).toBeUndefined();
      resolver.forget({ credentialIds: [], principalIds: [principal.id] });
      expect(resolver.cached('good')).toBeUndefined();
    });

    it('stops serving a cached principal once its token has expired', async () => {
      expiresAt = new Date(clock.time + 10_000).toISOString();
      const resolver = new PrincipalResolver(bus, clock);
      await resolver.authenticate('good');
      clock.time += 10_000;
      await resolver.authenticate('good');
      expect(asked).toBe(2);
    });

    it('rejects a missing token without asking identity', async () => {
      await expect(new PrincipalResolver(bus, clock).authenticate(null)).rejects.toMatchObject({ code: 'unauthenticated', tokenPresented: false });
      expect(asked).toBe(0);
    });

    it('rejects a token identity refuses as invalid_token', async () => {
      await expect(new PrincipalResolver(bus, clock).authenticate('bad')).rejects.toMatchObject({ code: 'unauthenticated', tokenPresented: true });
    });

    it('rejects an oversized token as invalid, not as an outage', async () => {
      await expect(new PrincipalResolver(bus, clock).authenticate('x'.repeat(9000))).rejects.toBeInstanceOf(UnauthenticatedError);
      expect(asked).toBe(0);
    });

    it('fails closed when identity is not there', async () => {
      const empty = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
      await expect(new PrincipalResolver(empty, clock).authenticate('good')).rejects.toBeInstanceOf(DependencyUnavailableError);
      await empty.close();
    });
  });

  describe('forget', () => {
    it('drops principals by revoked key, by principal and by actor', async () => {
      const resolver = new PrincipalResolver(bus, clock);
      await resolver.authenticate('good');
      expect(resolver.forget({ credentialIds: ['other'], principalIds: [] })).toBe(0);
      expect(resolver.forget({ credentialIds: ['key-1'], principalIds: [] })).toBe(1);
    });
  });
});

describe(CredentialResolver.name, () => {
  let bus: InProcessBus;
  let clock: FrozenClock;
  let asked: number;
  let credential: ResolvedCredential;
  let requests: RequestOf<typeof RequestSubjects.vaultCredentialResolve>[];

  beforeEach(() => {
    requests = [];
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    clock = new FrozenClock();
    asked = 0;
    credential = { status: 'ready', credentialKind: 'header', credentialId: 'c1', headers: { 'X-Key': 'v' }, expiresAt: null };
    bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async (request) => {
      asked++;
      requests.push(request);
      return credential;
    });
  });
  afterEach(() => bus.close());

  describe('resolve', () => {
    it('caches a credential without expiry for five minutes', async () => {
      const resolver = new CredentialResolver(bus, clock, urls);
      await resolver.resolve(alice, server, null);
      clock.time += 5 * 60_000 - 1;
      await resolver.resolve(alice, server, null);
      expect(asked).toBe(1);
      clock.time += 1;
      await resolver.resolve(alice, server, null);
      expect(asked).toBe(2);
    });

    it('offers a ready credential to the synchronous hot path once cached, and nothing else', async () => {
      const resolver = new CredentialResolver(bus, clock, urls);
      expect(resolver.cached(alice, server)).toBeUndefined();
      const resolved = await resolver.resolve(alice, server, null);
      expect(resolver.cached(alice, server)).toBe(resolved);
      expect(resolver.cached(bob, server)).toBeUndefined();
      resolver.forgetServer(server.id, alice.id);
      expect(resolver.cached(alice, server)).toBeUndefined();
      expect(resolver.cached(alice, { ...server, authType: 'passthrough' })).toBeUndefined();
      expect(asked).toBe(1);
    });

    it('stops using a credential 30 seconds before it expires', async () => {
      credential = { status: 'ready', credentialKind: 'header', credentialId: 'c1', headers: { 'X-Key': 'v' }, expiresAt: new Date(clock.time + 60_000).toISOString() };
      const resolver = new CredentialResolver(bus, clock, urls);
      await resolver.resolve(alice, server, null);
      clock.time += 30_000;
      await resolver.resolve(alice, server, null);
      expect(asked).toBe(2);
    });

    it('sends the server the vault needs, its URL included', async () => {
      await new CredentialResolver(bus, clock, urls).resolve(alice, server, null);
      expect(requests[0]!.server).toEqual({ id: server.id, slug: server.slug, authType: 'header', url: server.url });
    });

    it('never caches a consent answer: the retry after consent gets the new token', async () => {
      credential = { status: 'consent_required', credentialKind: 'oauth2', flowId: 'flow-1', reason: 'no connection' };
      const resolver = new CredentialResolver(bus, clock, urls);
      const refused = resolver.resolve(alice, server, null);
      await expect(refused).rejects.toBeInstanceOf(ConsentRequiredError);
      await expect(refused).rejects.toMatchObject({ consents: [{ slug: 's', flowId: 'flow-1', url: 'https://gateway.example.test/connect/flow-1' }] });
      credential = { status: 'ready', credentialKind: 'oauth2', credentialId: 'c2', headers: { Authorization: 'Bearer upstream' }, expiresAt: null };
      await expect(resolver.resolve(alice, server, null)).resolves.toMatchObject({ credentialId: 'c2' });
      expect(asked).toBe(2);
    });

    it('tells the user where to set a per-user value, naming the variables, and does not cache it', async () => {
      credential = { status: 'value_required', credentialKind: 'header', variables: ['API_KEY', 'TENANT'] };
      const resolver = new CredentialResolver(bus, clock, urls);
      const error = (await resolver.resolve(alice, server, null).catch((e: unknown) => e)) as UserValueRequiredError;
      expect(error).toBeInstanceOf(UserValueRequiredError);
      expect(error.message).toContain('PUT https://gateway.example.test/me/credentials/s');
      expect(error.message).toContain('API_KEY, TENANT');
      await resolver.resolve(alice, server, null).catch(() => undefined);
      expect(asked).toBe(2);
    });

    it('sends the subject token only for token_exchange and only when the caller came with their IdP JWT', async () => {
      const exchange: ServerTarget = { ...server, id: randomUUID(), authType: 'oauth2', oauthGrantType: 'token_exchange' };
      const code: ServerTarget = { ...server, id: randomUUID(), authType: 'oauth2', oauthGrantType: 'authorization_code' };
      const fromIdp: Principal = { ...alice, id: 'user-idp', idp: 'corp' };
      const resolver = new CredentialResolver(bus, clock, urls);
      await resolver.resolve(fromIdp, exchange, IDP_JWT);
      await resolver.resolve(fromIdp, code, IDP_JWT);
      await resolver.resolve(alice, { ...exchange, id: randomUUID() }, 'pcl_gateway_api_key');
      await resolver.resolve({ ...fromIdp, id: 'delegated', actor: { id: 'va:1', kind: 'virtual_account', sub: 'bot' } }, { ...exchange, id: randomUUID() }, IDP_JWT);
      expect(requests.map((r) => r.subjectToken)).toEqual([IDP_JWT, undefined, undefined, undefined]);
    });

    it('forwards the caller\'s own IdP JWT to a passthrough server without asking the vault', async () => {
      const passthrough: ServerTarget = { ...server, authType: 'passthrough' };
      const credential = await new CredentialResolver(bus, clock, urls).resolve({ ...alice, idp: 'corp' }, passthrough, IDP_JWT);
      expect(credential).toMatchObject({ credentialKind: 'passthrough', credentialId: null, headers: { Authorization: `Bearer ${IDP_JWT}` } });
      expect(asked).toBe(0);
    });

    it('never forwards a gateway API key, session or gateway-issued JWT to a passthrough server', async () => {
      const passthrough: ServerTarget = { ...server, authType: 'passthrough' };
      const resolver = new CredentialResolver(bus, clock, urls);
      await expect(resolver.resolve(alice, passthrough, 'pcl_gateway_api_key')).rejects.toBeInstanceOf(PassthroughRefusedError);
      await expect(resolver.resolve(alice, passthrough, IDP_JWT)).rejects.toBeInstanceOf(PassthroughRefusedError);
      // A token-exchange JWT of the gateway carries the subject's idp, but acts for a virtual account.
      await expect(resolver.resolve({ ...alice, idp: 'corp', actor: { id: 'va:1', kind: 'virtual_account', sub: 'bot' } }, passthrough, IDP_JWT)).rejects.toBeInstanceOf(
        PassthroughRefusedError,
      );
      await expect(resolver.resolve({ ...alice, idp: 'corp' }, passthrough, 'pcl_not_a_jwt')).rejects.toBeInstanceOf(PassthroughRefusedError);
    });
  });

  describe('forgetServer', () => {
    it("drops one principal's credential, or every principal's when the shared one changed", async () => {
      const resolver = new CredentialResolver(bus, clock, urls);
      await resolver.resolve(alice, server, null);
      await resolver.resolve({ ...alice, id: 'user-2' }, server, null);
      expect(resolver.forgetServer(server.id, 'user-2')).toBe(1);
      expect(resolver.forgetServer(server.id, null)).toBe(1);
    });
  });
});
