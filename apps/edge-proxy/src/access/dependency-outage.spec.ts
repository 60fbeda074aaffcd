import { randomUUID } from 'node:crypto';
import { BusError, BusSubscription, InProcessBus } from '@portcullis/bus';
import { AccessDecision, Principal, RequestSubjects, ServerTarget, ServiceQueues } from '@portcullis/contracts';
import { uniqueSubjectPrefix } from '@portcullis/testing';
import { FrozenClock } from '../../test/frozen-clock';
import type { EdgeProxyModuleOptions } from '../edge-proxy.options';
import { DependencyUnavailableError } from '../errors';
import { PublicUrls } from '../public-urls';
import { AccessDecisionResolver, DECISION_CACHE_TTL_MS } from './access-decision-resolver.service';
import { BUS_REQUEST_TIMEOUT_MS, FIRST_ATTEMPT_TIMEOUT_MS, READ_ATTEMPTS, requestIdempotent } from './bus-failures';
import { CREDENTIAL_CACHE_TTL_MS, CredentialResolver } from './credential-resolver.service';
import { PRINCIPAL_CACHE_TTL_MS, PrincipalResolver } from './principal-resolver.service';
import { TARGET_CACHE_TTL_MS, TargetResolver } from './target-resolver.service';

const alice: Principal = { id: 'user-1', kind: 'user', sub: 'alice', teams: [], isAdmin: false, credentialId: 'key-1' };
const server: ServerTarget = { id: randomUUID(), slug: 's', name: 's', url: 'http://127.0.0.1:1/mcp', transport: 'streamable-http', authType: 'header', oauthGrantType: null, timeoutMs: 1000 };
const allowed: AccessDecision = { allowed: true, role: 'user', reason: 'test', visibleTools: null, toolRules: [], hiddenTools: [], descriptions: {} };
const urls = new PublicUrls({ publicUrl: 'https://gateway.example.test' } as EdgeProxyModuleOptions);

/**
 * Issue 9: when identity, the registry or the vault stops answering, what
 * the edge already knows keeps being served until it would have expired
 * anyway (never longer, never after an invalidation); what it does not know
 * fails closed with a 503 naming the service.
 */
describe('the edge while a dependency is down', () => {
  let bus: InProcessBus;
  let clock: FrozenClock;
  let up: Map<string, BusSubscription>;

  beforeEach(() => {
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    clock = new FrozenClock();
    up = new Map([
      ['identity', bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async () => ({ principal: alice, expiresAt: null }))],
      ['registry', bus.reply(RequestSubjects.registryAuthorize, ServiceQueues.registry, async () => allowed)],
      ['registry-resolve', bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => ({ target: server }))],
      [
        'token-vault',
        bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async () => ({ status: 'ready', credentialKind: 'header', credentialId: 'c1', headers: { 'X-Key': 'v' }, expiresAt: null })),
      ],
    ]);
  });
  afterEach(() => bus.close());

  const down = (...names: string[]) => Promise.all(names.map((name) => up.get(name)!.unsubscribe()));
  const unavailable = (dependency: string) => expect.objectContaining({ code: 'dependency_unavailable', httpStatus: 503, dependency });

  it('keeps serving a cached principal while identity is down, until its cache lifetime ends, then fails closed naming identity', async () => {
    const resolver = new PrincipalResolver(bus, clock);
    await resolver.authenticate('good');
    await down('identity');
    clock.time += PRINCIPAL_CACHE_TTL_MS - 1;
    await expect(resolver.authenticate('good')).resolves.toEqual(alice);
    clock.time += 1;
    await expect(resolver.authenticate('good')).rejects.toEqual(unavailable('identity'));
  });

  it('never serves a principal after its revocation, even while identity is down', async () => {
    const resolver = new PrincipalResolver(bus, clock);
    await resolver.authenticate('good');
    await down('identity');
    resolver.forget({ credentialIds: ['key-1'], principalIds: [] });
    await expect(resolver.authenticate('good')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('keeps serving a cached decision while the registry is down, until its cache lifetime ends, and never after a change', async () => {
    const resolver = new AccessDecisionResolver(bus, clock);
    await resolver.decide(alice, server);
    await down('registry');
    clock.time += DECISION_CACHE_TTL_MS - 1;
    await expect(resolver.decide(alice, server)).resolves.toEqual(allowed);
    resolver.forgetAll();
    await expect(resolver.decide(alice, server)).rejects.toEqual(unavailable('registry'));
  });

  it('fails closed naming the registry once a cached decision has expired', async () => {
    const resolver = new AccessDecisionResolver(bus, clock);
    await resolver.decide(alice, server);
    await down('registry');
    clock.time += DECISION_CACHE_TTL_MS;
    await expect(resolver.decide(alice, server)).rejects.toEqual(unavailable('registry'));
  });

  it('keeps resolving a cached server while the registry is down, until its cache lifetime ends', async () => {
    const resolver = new TargetResolver(bus, clock);
    await resolver.resolve('s');
    await down('registry-resolve');
    clock.time += TARGET_CACHE_TTL_MS - 1;
    await expect(resolver.resolve('s')).resolves.toEqual(server);
    clock.time += 1;
    await expect(resolver.resolve('s')).rejects.toEqual(unavailable('registry'));
  });

  it('keeps injecting a cached credential while the vault is down, until its cache lifetime ends, and never after a vault change', async () => {
    const resolver = new CredentialResolver(bus, clock, urls);
    await resolver.resolve(alice, server, null);
    await down('token-vault');
    clock.time += CREDENTIAL_CACHE_TTL_MS - 1;
    await expect(resolver.resolve(alice, server, null)).resolves.toMatchObject({ status: 'ready', credentialId: 'c1' });
    resolver.forgetServer(server.id, alice.id);
    await expect(resolver.resolve(alice, server, null)).rejects.toEqual(unavailable('token-vault'));
  });

  it('answers a JSON-RPC client with -32603, HTTP 503 and the dependency named in data', () => {
    const error = new DependencyUnavailableError('token-vault');
    expect(error.httpStatus).toBe(503);
    expect(error.jsonRpcError()).toEqual({
      code: -32603,
      message: "The gateway's token-vault service is unavailable; try again later",
      data: { code: 'dependency_unavailable', dependency: 'token-vault' },
    });
  });
});

/** A replica that holds a request past the whole deadline (then lets go, so closing the bus need not wait forever). */
const answerTooLate = () => new Promise((resolve) => setTimeout(resolve, BUS_REQUEST_TIMEOUT_MS + 200));

describe(requestIdempotent.name, () => {
  let bus: InProcessBus;
  let sent: number;

  beforeEach(() => {
    sent = 0;
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const request = bus.request.bind(bus);
    bus.request = ((...args: Parameters<typeof request>) => {
      sent++;
      return request(...args);
    }) as typeof bus.request;
  });
  afterEach(() => bus.close());

  it('asks again, after a jittered backoff, a read no service received (a restart in progress)', async () => {
    setTimeout(() => bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => ({ target: server })), 80);
    await expect(requestIdempotent(bus, RequestSubjects.registryResolve, { slug: 's' })).resolves.toEqual({ target: server });
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(READ_ATTEMPTS);
  });

  it(`gives up after ${READ_ATTEMPTS} attempts spaced by a growing wait (no retry storm, no tight loop)`, async () => {
    const started = performance.now();
    // The least jitter: the waits are at their shortest (50 then 100 ms).
    await expect(requestIdempotent(bus, RequestSubjects.registryResolve, { slug: 's' }, () => 0)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(sent).toBe(READ_ATTEMPTS);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('does not ask again a read the service refused', async () => {
    bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => {
      throw new BusError('NOT_FOUND', 'no such server');
    });
    await expect(requestIdempotent(bus, RequestSubjects.registryResolve, { slug: 's' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(sent).toBe(1);
  });

  it('asks once more, with the rest of the deadline, when the first attempt is not answered in time (a replica died holding it)', async () => {
    let received = 0;
    bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => {
      received++;
      // The first request lands on a "replica" that never answers; the second one is answered.
      if (received === 1) await answerTooLate();
      return { target: server };
    });
    const started = performance.now();
    await expect(requestIdempotent(bus, RequestSubjects.registryResolve, { slug: 's' })).resolves.toEqual({ target: server });
    expect(sent).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(FIRST_ATTEMPT_TIMEOUT_MS - 50);
  });

  it('gives up after the second timeout, within the one deadline', async () => {
    bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async () => {
      await answerTooLate();
      return { target: server };
    });
    const started = performance.now();
    await expect(requestIdempotent(bus, RequestSubjects.registryResolve, { slug: 's' })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(sent).toBe(2);
    expect(performance.now() - started).toBeLessThan(BUS_REQUEST_TIMEOUT_MS + 500);
  });
});
