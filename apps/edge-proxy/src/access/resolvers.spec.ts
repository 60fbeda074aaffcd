import { randomUUID } from 'node:crypto';
import { BusError, InProcessBus } from '@portcullis/bus';
import { Principal, RequestSubjects, ResolvedCredential, ServerTarget, ServiceQueues } from '@portcullis/contracts';
import { uniqueSubjectPrefix } from '@portcullis/testing';
import { Clock } from '../clock';
import { DependencyUnavailableError, UnauthenticatedError } from '../errors';
import { CredentialResolver } from './credential-resolver.service';
import { PrincipalResolver } from './principal-resolver.service';

class FrozenClock extends Clock {
  time = Date.parse('2026-01-01T00:00:00Z');
  override now(): Date {
    return new Date(this.time);
  }
}

const alice: Principal = { id: 'user-1', kind: 'user', sub: 'alice', teams: [], isAdmin: false, credentialId: 'key-1' };
const server: ServerTarget = { id: randomUUID(), slug: 's', name: 's', url: 'http://127.0.0.1:1/mcp', transport: 'streamable-http', authType: 'header', timeoutMs: 1000 };

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

  beforeEach(() => {
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    clock = new FrozenClock();
    asked = 0;
    credential = { status: 'ready', credentialKind: 'header', credentialId: 'c1', headers: { 'X-Key': 'v' }, expiresAt: null };
    bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async () => {
      asked++;
      return credential;
    });
  });
  afterEach(() => bus.close());

  describe('resolve', () => {
    it('caches a credential without expiry for five minutes', async () => {
      const resolver = new CredentialResolver(bus, clock);
      await resolver.resolve(alice, server);
      clock.time += 5 * 60_000 - 1;
      await resolver.resolve(alice, server);
      expect(asked).toBe(1);
      clock.time += 1;
      await resolver.resolve(alice, server);
      expect(asked).toBe(2);
    });

    it('stops using a credential 30 seconds before it expires', async () => {
      credential = { ...credential, expiresAt: new Date(clock.time + 60_000).toISOString() };
      const resolver = new CredentialResolver(bus, clock);
      await resolver.resolve(alice, server);
      clock.time += 30_000;
      await resolver.resolve(alice, server);
      expect(asked).toBe(2);
    });
  });

  describe('forgetServer', () => {
    it("drops one principal's credential, or every principal's when the shared one changed", async () => {
      const resolver = new CredentialResolver(bus, clock);
      await resolver.resolve(alice, server);
      await resolver.resolve({ ...alice, id: 'user-2' }, server);
      expect(resolver.forgetServer(server.id, 'user-2')).toBe(1);
      expect(resolver.forgetServer(server.id, null)).toBe(1);
    });
  });
});
