import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EchoMcpServer,
  followAuthorization,
  ProtectedMcpServer,
  randomSecret,
  sleep,
  startEchoMcpServer,
  startOidcProvider,
  startProtectedMcpServer,
  TestOidcProvider,
  upstreamOAuthSettings,
} from '@portcullis/testing';
import { Client } from 'pg';
import { ChaosCluster, pidOfConnection, Replica, ServiceName } from './chaos-cluster';
import { HeldRequest, HoldingProxy } from './holding-proxy';
import { Call, callEcho, CallFigures, figuresOf, jsonRpcOf, LoadGenerator, MCP_HEADERS, openSession, Target } from './load';

/**
 * Issue 9's chaos suite: two replicas of every service (separate processes
 * from dist) over a NATS and a PostgreSQL of the suite's own, all on loopback,
 * under steady plain-HTTP JSON-RPC load round-robin over the two edges.
 * Faults: each service loses a replica (SIGKILL), a vault replica dies while
 * holding a refresh lock, NATS restarts, PostgreSQL restarts. Each scenario
 * asserts its properties and the figures go to results/latest.json
 * (docs/reliability.md reports them).
 */

/**
 * Calls started per second, all scenarios: what this 2-core machine sustains with ten service processes and the load
 * in one more (see docs/reliability.md). CHAOS_RATE overrides it for an exploratory run.
 */
const RATE = Number(process.env['CHAOS_RATE'] ?? 40);
/** Upstream access tokens live this long, so the vault refreshes them every few seconds under load. */
const ACCESS_TOKEN_TTL_S = 10;
const PLEASE_VISIT = /Please visit: (\S+)$/;
/** A failed attempt answered 503 with a JSON-RPC error naming the dependency that is down (see load.ts failuresByStatus keys). */
const CLEAN_503 = /^503:(identity|registry|token-vault)$/;

interface ScenarioResult {
  description: string;
  durationMs: number;
  ratePerSecond: number;
  /** What was done when, in ms from the load's start. */
  timeline: { atMs: number; event: string }[];
  header: CallFigures;
  oauth: CallFigures;
  /** Time from the fault being cleared (dependency back, replica ready) to the end of the last failed attempt; 0 when nothing failed after it. */
  timeToRecoverMs: Record<string, number>;
  audit: { successfulCalls: number; storedEvents: number; catchUpMs: number };
  /** The machine's 1-minute load average when the load stopped (2 cores). */
  loadAverage1m: number;
  oauthProvider: { refreshGrants: number; refreshGrantErrors: number; authorizationCodeGrants: number };
  notes?: Record<string, unknown>;
}

const results: { generatedAt: string; machine: { cpus: number; node: string }; settings: Record<string, unknown>; scenarios: Record<string, ScenarioResult> } = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.version },
  settings: { replicasPerService: 2, ratePerSecond: RATE, mix: '3 header-credential calls : 1 oauth2 call', accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S },
  scenarios: {},
};

describe('chaos: two replicas of every service under load', () => {
  let cluster: ChaosCluster;
  let echo: EchoMcpServer;
  let protectedUpstream: ProtectedMcpServer;
  let idp: TestOidcProvider;
  let proxy: HoldingProxy;
  let aliceKey: string;
  let oauthSession: string | null;
  const suiteStartedAt = Date.now();
  const loads = new Set<LoadGenerator>();

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${cluster.registryUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${cluster.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };

  const sql = async <T = any>(query: string, values: unknown[] = []): Promise<T[]> => {
    const client = new Client({ connectionString: cluster.postgres.url });
    await client.connect();
    try {
      return (await client.query(query, values)).rows as T[];
    } finally {
      await client.end();
    }
  };

  async function apiKey(email: string, slugs: string[]): Promise<string> {
    const key = await admin('POST', '/api/v1/api-keys', { name: `${email} agent`, ownerEmail: email });
    expect(key.status).toBe(201);
    for (const slug of slugs) expect((await admin('POST', `/api/v1/servers/${slug}/collaborators`, { subject: `user:${email}`, role: 'user' })).status).toBe(201);
    return key.body.token;
  }

  /** A header-credential server of the scenario's own (so its audit rows are its own) and a fresh user's key, sessions open and caches warm on both edges. */
  async function scenarioTargets(name: string): Promise<Target[]> {
    const slug = `echo-${name}`;
    expect((await admin('POST', '/api/v1/servers', { slug, name: `Echo ${name}`, url: echo.url, authType: 'header', headers: { 'X-Upstream-Key': randomSecret('upstream') } })).status).toBe(201);
    const token = await apiKey(`${name}@chaos.example`, [slug]);
    const sessionId = await openSession(cluster.edgeUrls[0]!, slug, token);
    const header: Target = { kind: 'header', slug, token, sessionId };
    const oauth: Target = { kind: 'oauth', slug: 'github', token: aliceKey, sessionId: oauthSession };
    // Warm every edge's caches for both targets (principal, target, decision, credential).
    for (const edge of cluster.edgeUrls) {
      for (const target of [header, oauth]) {
        const warm = await callEcho(edge, target, 10_000);
        expect(warm).toMatchObject({ ok: true });
      }
    }
    return [header, header, header, oauth];
  }

  /** Audit rows of successful echo calls on `slug` stamped in [from, to] (the warm-up calls before the load are not counted). */
  async function storedCalls(slug: string, from: number, to: number): Promise<number> {
    const [row] = await sql<{ n: string }>(
      `SELECT count(*) AS n FROM audit.events WHERE action = 'tool.call' AND server = $1 AND tool = 'echo' AND outcome = 'success' AND ts >= $2 AND ts <= $3`,
      [slug, new Date(from), new Date(to)],
    );
    return Number(row!.n);
  }

  /** Waits until the audit trail holds at least `expected` rows (a little longer, so a duplicate arriving late is seen). */
  async function auditCatchUp(count: () => Promise<number>, expected: number, timeoutMs = 40_000): Promise<{ stored: number; catchUpMs: number }> {
    const started = Date.now();
    let stored = await count();
    while (stored < expected && Date.now() - started < timeoutMs) {
      await sleep(500);
      stored = await count().catch(() => stored);
    }
    const catchUpMs = Date.now() - started;
    await sleep(1000);
    return { stored: await count(), catchUpMs };
  }

  async function refreshStats() {
    const stats = await idp.tokenStats();
    return { refreshGrants: stats.grants['refresh_token'] ?? 0, refreshGrantErrors: stats.grantErrors['refresh_token'] ?? 0, authorizationCodeGrants: stats.grants['authorization_code'] ?? 0 };
  }

  /** Runs steady load around `faults`, then settles the audit trail and assembles the scenario's result. */
  async function runScenario(
    name: string,
    description: string,
    faults: (ctx: { mark: (event: string) => number; load: LoadGenerator; targets: Target[] }) => Promise<void>,
    options: { retryForMs?: number } = {},
  ): Promise<{ result: ScenarioResult; load: LoadGenerator; marks: Map<string, number>; targets: Target[] }> {
    const targets = await scenarioTargets(name);
    const before = await refreshStats();
    const load = new LoadGenerator({ edges: cluster.edgeUrls, targets, ratePerSecond: RATE, retryForMs: options.retryForMs ?? 30_000 });
    loads.add(load);
    const timeline: { atMs: number; event: string }[] = [];
    const marks = new Map<string, number>();
    const mark = (event: string) => {
      const at = Date.now();
      timeline.push({ atMs: at - load.t0, event });
      marks.set(event, at);
      return at;
    };
    load.start();
    mark('load started');
    try {
      await faults({ mark, load, targets });
    } catch (error) {
      load.abort();
      throw error;
    } finally {
      await load.stop();
    }
    const loadAverage1m = loadavg()[0];
    mark('load drained');
    const started = load.t0;
    const ended = Date.now();
    const header = figuresOf(load, cluster.edgeUrls.length, (c) => c.kind === 'header');
    const oauth = figuresOf(load, cluster.edgeUrls.length, (c) => c.kind === 'oauth');
    const headerAudit = await auditCatchUp(() => storedCalls(targets[0]!.slug, started, ended), header.successfulAttempts);
    const oauthAudit = await auditCatchUp(() => storedCalls('github', started, ended), oauth.successfulAttempts, 20_000);
    const after = await refreshStats();
    const result: ScenarioResult = {
      description,
      durationMs: ended - started,
      ratePerSecond: RATE,
      timeline,
      header,
      oauth,
      timeToRecoverMs: {},
      audit: {
        successfulCalls: header.successfulAttempts + oauth.successfulAttempts,
        storedEvents: headerAudit.stored + oauthAudit.stored,
        catchUpMs: Math.max(headerAudit.catchUpMs, oauthAudit.catchUpMs),
      },
      loadAverage1m: Number(loadAverage1m!.toFixed(2)),
      oauthProvider: {
        refreshGrants: after.refreshGrants - before.refreshGrants,
        refreshGrantErrors: after.refreshGrantErrors - before.refreshGrantErrors,
        authorizationCodeGrants: after.authorizationCodeGrants - before.authorizationCodeGrants,
      },
    };
    results.scenarios[name] = result;
    return { result, load, marks, targets };
  }

  /** End of the last failed attempt of `kind` calls ending in [from, until), minus `from` (0 when none). */
  function recoveredAfter(load: LoadGenerator, kind: string, from: number, until = Infinity): number {
    const failures = load.calls
      .filter((c: Call) => c.kind === kind)
      .flatMap((c) => c.attempts)
      .filter((a) => !a.ok && a.endedAt >= from && a.endedAt < until);
    return failures.length === 0 ? 0 : Math.max(...failures.map((a) => a.endedAt)) - from;
  }

  /** At most one refresh per half token lifetime (DESIGN §10: one credential refreshed once, however many replicas), plus slack for the scenario's edges. */
  function expectRefreshesBounded(result: ScenarioResult): void {
    expect(result.oauthProvider.refreshGrantErrors).toBe(0);
    expect(result.oauthProvider.refreshGrants).toBeLessThanOrEqual(Math.ceil(result.durationMs / ((ACCESS_TOKEN_TTL_S * 1000) / 2)) + 2);
  }

  /** Each edge's `portcullis_edge_audit_spool_events` gauge: audit events on its disk, waiting for the bus. */
  async function spooledEvents(): Promise<number[]> {
    return Promise.all(
      cluster.edgeUrls.map(async (edge) => {
        const metrics = await (await fetch(`${edge}/metrics`)).text();
        const match = metrics.match(/^portcullis_edge_audit_spool_events(?:\{[^}]*\})? (\d+)/m);
        if (!match) throw new Error(`${edge}/metrics has no portcullis_edge_audit_spool_events`);
        return Number(match[1]);
      }),
    );
  }

  /** A raw `initialize` with `token` (a cold one: never seen by any edge): status and JSON-RPC body. */
  async function initializeAs(edgeUrl: string, slug: string, token: string): Promise<{ status: number; body: any }> {
    try {
      const response = await fetch(`${edgeUrl}/mcp/${slug}`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cold', version: '1' } } }),
        signal: AbortSignal.timeout(15_000),
      });
      return { status: response.status, body: jsonRpcOf(response.headers.get('content-type'), await response.text()) };
    } catch (error) {
      return { status: 0, body: String(error) };
    }
  }

  /** Alice consents in a "browser", through the real flow: the gateway's consent URL, the provider's login, the callback. */
  async function aliceConsents(): Promise<void> {
    const first = await initializeAs(cluster.publicUrl, 'github', aliceKey);
    const connectUrl = String(first.body?.error?.message).match(PLEASE_VISIT)?.[1];
    if (!connectUrl) throw new Error(`no consent URL: ${first.status} ${JSON.stringify(first.body)}`);
    await idp.setNextLogin({ sub: 'alice-at-github' });
    const connect = await fetch(connectUrl, { redirect: 'manual' });
    expect(connect.status).toBe(302);
    const callback = await followAuthorization(connect.headers.get('location')!, `${cluster.publicUrl}/oauth/callback`);
    expect((await fetch(callback)).status).toBe(200);
  }

  beforeAll(async () => {
    // All settled before anything is thrown, so that afterAll finds (and stops) whatever did start.
    const [clusterStarted, echoStarted, upstreamStarted] = await Promise.allSettled([ChaosCluster.start(2), startEchoMcpServer(), startProtectedMcpServer('github-like')]);
    if (clusterStarted.status === 'fulfilled') cluster = clusterStarted.value;
    if (echoStarted.status === 'fulfilled') echo = echoStarted.value;
    if (upstreamStarted.status === 'fulfilled') protectedUpstream = upstreamStarted.value;
    for (const outcome of [clusterStarted, echoStarted, upstreamStarted]) if (outcome.status === 'rejected') throw outcome.reason;
    idp = await startOidcProvider({
      audience: `${cluster.publicUrl}/mcp`,
      upstream: { redirectUri: `${cluster.publicUrl}/oauth/callback`, resource: protectedUpstream.url, accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S },
    });
    protectedUpstream.trust({ issuer: idp.issuer, jwksUri: idp.jwksUri });
    // The vault reaches the provider's token endpoint through a proxy that can hold a refresh (the lock scenario).
    proxy = await HoldingProxy.start(idp.issuer);
    const oauth = upstreamOAuthSettings(idp, { tokenUrl: `${proxy.url}/token` });
    const created = await admin('POST', '/api/v1/servers', { slug: 'github', name: 'GitHub-like', url: protectedUpstream.url, authType: 'oauth2', oauth });
    expect(created).toMatchObject({ status: 201 });
    aliceKey = await apiKey('alice@chaos.example', ['github']);

    await aliceConsents();
    oauthSession = await openSession(cluster.publicUrl, 'github', aliceKey);
  }, 75_000);

  afterAll(async () => {
    // A test that timed out leaves its load running: stop it before its targets go.
    for (const load of loads) load.abort();
    results.settings['suiteDurationMs'] = Date.now() - suiteStartedAt;
    if (Object.keys(results.scenarios).length > 0) {
      const dir = join(__dirname, '../results');
      mkdirSync(dir, { recursive: true });
      // An exploratory run at another rate (CHAOS_RATE) keeps its figures apart from the committed ones.
      writeFileSync(join(dir, process.env['CHAOS_RATE'] ? `rate-${RATE}.json` : 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    }
    await Promise.allSettled([proxy?.close(), echo?.close(), protectedUpstream?.close(), idp?.stop()]);
    if (cluster) {
      // Every replica's output (warn level and above), for a failure's diagnosis.
      const logFile = join(tmpdir(), 'portcullis-chaos-last-run.log');
      writeFileSync(logFile, cluster.logs());
      console.info(`chaos suite: service logs in ${logFile}`);
    }
    await cluster?.stop();
  }, 20_000);

  it('loses no call but those in flight on a killed replica, no audit event and no OAuth token, while one replica of each service is SIGKILLed in turn', async () => {
    const order: ServiceName[] = ['identity', 'registry', 'token-vault', 'audit', 'edge-proxy'];
    const restarts: Record<string, number> = {};
    const killsDone = new Map<ServiceName, number>();
    const { result, load, marks } = await runScenario('replica-kills', 'SIGKILL one replica of each service in turn (3 s down, then restarted), under load', async ({ mark }) => {
      await sleep(3000);
      for (const app of order) {
        const victim: Replica = cluster.replicasOf(app)[1]!;
        const killedAt = mark(`SIGKILL ${victim.name}`);
        await victim.kill('SIGKILL');
        killsDone.set(app, Date.now());
        await sleep(3000);
        victim.start();
        await victim.ready();
        restarts[victim.name] = mark(`${victim.name} ready again`) - killedAt;
        await sleep(2000);
      }
    });
    result.notes = { killToReadyMs: restarts };

    const edgeKilledAt = killsDone.get('edge-proxy')!;
    // Per kill: from the SIGKILL to the end of the last failed attempt before the next kill.
    for (const [i, app] of order.entries()) {
      const killedAt = marks.get(`SIGKILL ${app}#2`)!;
      const nextKillAt = i + 1 < order.length ? marks.get(`SIGKILL ${order[i + 1]}#2`)! : Infinity;
      result.timeToRecoverMs[app] = Math.max(recoveredAfter(load, 'header', killedAt, nextKillAt), recoveredAfter(load, 'oauth', killedAt, nextKillAt));
    }

    // Only calls in flight on the killed edge may fail (no answer for a request sent before the kill). A request an
    // identity, registry or vault replica took with it when killed is asked again by the edge after half its bus
    // deadline, and a live replica answers it: those calls are slow, not failed.
    const failed = load.calls.flatMap((c) => c.attempts.map((a) => ({ ...a, kind: c.kind }))).filter((a) => !a.ok);
    const inFlightOnKilledEdge = (a: (typeof failed)[number]) => a.edge === 1 && a.status === 'network' && a.startedAt <= edgeKilledAt;
    result.notes = { ...result.notes, failedAttemptsInFlightOnKilledEdge: failed.filter(inFlightOnKilledEdge).length };
    const unexplained = failed.filter((a) => !inFlightOnKilledEdge(a));
    if (unexplained.length > 0) {
      // What the edges said about them, for diagnosis (warn level and above).
      const edgeLines = cluster
        .replicasOf('edge-proxy')
        .flatMap((edge) => edge.logs().split('\n').filter((line) => /upstream|ECONNRESET|socket|closed/i.test(line)).map((line) => `${edge.name}: ${line}`))
        .slice(-20);
      throw new Error(`failed attempts not in flight on a killed replica (ms are epoch):\n${JSON.stringify(unexplained, null, 1)}\nedge logs:\n${edgeLines.join('\n')}`);
    }
    expect(result.header.lost + result.oauth.lost).toBe(0);
    // Every successful call is in the audit trail once; a call in flight on the killed edge may have been recorded without its answer arriving.
    expect(result.audit.storedEvents).toBeGreaterThanOrEqual(result.audit.successfulCalls);
    expect(result.audit.storedEvents).toBeLessThanOrEqual(result.audit.successfulCalls + failed.length);
    expectRefreshesBounded(result);
    expect(result.oauth.successfulAttempts).toBeGreaterThan(0);
  }, 90_000);

  it('keeps the rotated refresh token when a vault replica dies holding the refresh lock: the other replica refreshes, no grant is refused', async () => {
    let killedAt = 0;
    let held: HeldRequest | null = null;
    let victim: Replica | undefined;
    const { result, load } = await runScenario('vault-killed-holding-refresh-lock', 'a token-vault replica hangs in its refresh (the grant held at a proxy before the provider) and is SIGKILLed', async ({ mark }) => {
      await sleep(2000);
      const holding = proxy.holdNextRefresh(20_000);
      mark('refresh hold armed');
      held = await holding;
      mark('refresh_token grant held before the provider');
      const pid = await pidOfConnection(held.clientPort, held.serverPort);
      victim = cluster.replicasOf('token-vault').find((replica) => replica.pid === pid);
      if (!victim) throw new Error(`the held refresh came from pid ${pid}, no token-vault replica`);
      // Calls needing a fresh token now queue behind the row lock the victim holds.
      await sleep(500);
      await victim.kill('SIGKILL');
      killedAt = mark(`SIGKILL ${victim.name} (holding the refresh lock)`);
      const deadline = Date.now() + 5000;
      while (!held.clientGone() && Date.now() < deadline) await sleep(20);
      proxy.releaseAll();
      mark('held grant released (its client is gone: dropped, never forwarded)');
      await sleep(3000);
      victim.start();
      await victim.ready();
      mark(`${victim.name} ready again`);
      // Longer than a token lifetime: the token the survivor rotated must itself be refreshed once more.
      await sleep(ACCESS_TOKEN_TTL_S * 1000 + 3000);
    });
    result.timeToRecoverMs['oauth'] = recoveredAfter(load, 'oauth', killedAt);
    result.timeToRecoverMs['header'] = recoveredAfter(load, 'header', killedAt);
    result.notes = { victim: victim?.name, droppedRefreshGrants: proxy.counts.droppedRefreshGrants, heldForMs: killedAt - held!.at };

    expect(proxy.counts.droppedRefreshGrants).toBe(1);
    // What failed waited on the lock or on the dead replica, and was answered 503 naming the vault.
    expect(Object.keys(result.oauth.failuresByStatus).every((status) => status === '503:token-vault')).toBe(true);
    // The survivor refreshed with the old refresh token, then again with the one it rotated: nothing lost, nothing refused.
    expect(result.oauthProvider.refreshGrants).toBeGreaterThanOrEqual(2);
    expectRefreshesBounded(result);
    expect(result.header.failed).toBe(0);
    expect(result.header.lost + result.oauth.lost).toBe(0);
    expect(result.timeToRecoverMs['oauth']).toBeLessThan(10_000);
    expect(result.audit.storedEvents).toBe(result.audit.successfulCalls);
  }, 50_000);

  it('keeps warm calls flowing and replays the audit spool when NATS is killed and restarted mid-load; calls needing the bus resume within seconds', async () => {
    let restartedAt = 0;
    let spooledBeforeRestart: number[] = [];
    const { result, load } = await runScenario('nats-restart', 'the private NATS server SIGKILLed for 8 s mid-load, then started again (same port and JetStream store)', async ({ mark }) => {
      await sleep(4000);
      await cluster.nats.stop('SIGKILL');
      mark('NATS killed');
      // Longer than the edge's JetStream publish timeout (5 s), so that events reach the disk spool while NATS is down.
      await sleep(8000);
      spooledBeforeRestart = await spooledEvents();
      await cluster.nats.start();
      restartedAt = mark('NATS started again');
      await sleep(12_000);
    });
    result.timeToRecoverMs['header'] = recoveredAfter(load, 'header', restartedAt);
    result.timeToRecoverMs['oauth'] = recoveredAfter(load, 'oauth', restartedAt);
    const spooledAfter = await spooledEvents();
    result.notes = { auditEventsSpooledByEdgeBeforeRestart: spooledBeforeRestart, auditEventsSpooledByEdgeAfter: spooledAfter };

    // The edges spooled the audit events of the calls they served while NATS was gone, and replayed them all.
    expect(spooledBeforeRestart.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(spooledAfter).toEqual([0, 0]);
    // Warm header-credential calls need nothing from the bus: principal, decision and credential are cached, audit is spooled.
    expect(result.header.failed).toBe(0);
    // The oauth calls (a 10 s token is never cached at the edge) fail cleanly while the vault cannot be asked, and come back.
    // (Alice's principal, server and decision were cached long before: one expiring in the outage is refused as cleanly, naming its service.)
    expect(Object.keys(result.oauth.failuresByStatus).every((status) => CLEAN_503.test(status))).toBe(true);
    expect(result.header.lost + result.oauth.lost).toBe(0);
    expect(result.timeToRecoverMs['oauth']).toBeLessThan(10_000);
    expect(result.audit.storedEvents).toBe(result.audit.successfulCalls);
    expectRefreshesBounded(result);
  }, 45_000);

  it('serves warm calls from caches while PostgreSQL restarts, refuses a cold token with a clean 503 and recovers after', async () => {
    let startedAgainAt = 0;
    const cold: { during?: { status: number; body: any; ms: number }; recoveredAfterMs?: number } = {};
    const { result, load } = await runScenario('postgres-restart', 'the private PostgreSQL stopped (fast shutdown) for 6 s mid-load, then started again', async ({ mark, targets }) => {
      const slug = targets[0]!.slug;
      const coldKey = await apiKey(`cold@chaos.example`, [slug]);
      await sleep(4000);
      await cluster.postgres.stop();
      mark('PostgreSQL stopped');
      await sleep(1000);
      const asked = Date.now();
      cold.during = { ...(await initializeAs(cluster.edgeUrls[1]!, slug, coldKey)), ms: Date.now() - asked };
      mark('cold token refused');
      await sleep(Math.max(0, 5000 - (Date.now() - asked)));
      await cluster.postgres.start();
      startedAgainAt = mark('PostgreSQL started again');
      for (;;) {
        const probe = await initializeAs(cluster.edgeUrls[0]!, slug, coldKey);
        if (probe.status === 200) break;
        if (Date.now() - startedAgainAt > 30_000) throw new Error(`the cold token still fails 30 s after PostgreSQL is back: ${probe.status} ${JSON.stringify(probe.body)}`);
        await sleep(250);
      }
      cold.recoveredAfterMs = mark('cold token accepted') - startedAgainAt;
      await sleep(8000);
    });
    result.timeToRecoverMs['header'] = recoveredAfter(load, 'header', startedAgainAt);
    result.timeToRecoverMs['oauth'] = recoveredAfter(load, 'oauth', startedAgainAt);
    result.timeToRecoverMs['coldToken'] = cold.recoveredAfterMs ?? -1;
    result.notes = { coldTokenDuringOutage: { status: cold.during?.status, error: cold.during?.body?.error, answeredInMs: cold.during?.ms } };

    expect(result.header.failed).toBe(0);
    expect(cold.during).toMatchObject({ status: 503, body: { jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } } });
    expect(cold.during!.ms).toBeLessThan(10_000);
    expect(cold.recoveredAfterMs).toBeLessThan(20_000);
    expect(Object.keys(result.oauth.failuresByStatus).every((status) => CLEAN_503.test(status))).toBe(true);
    expect(result.header.lost + result.oauth.lost).toBe(0);
    expect(result.audit.storedEvents).toBe(result.audit.successfulCalls);
    expectRefreshesBounded(result);
  }, 45_000);

  it('documents the window no lock protects: the provider rotated, the replica died before committing; the connection then asks for consent again, cleanly', async () => {
    let killedAt = 0;
    let victim: Replica | undefined;
    const { result, load } = await runScenario(
      'vault-killed-after-provider-rotated',
      'a token-vault replica dies after the provider rotated the refresh token but before it committed the new pair (the answer held at a proxy, then the SIGKILL)',
      async ({ mark }) => {
        await sleep(2000);
        const held = await proxy.holdNextRefresh(20_000, 'after-provider');
        mark('provider answered a refresh_token grant (rotated); answer held');
        const pid = await pidOfConnection(held.clientPort, held.serverPort);
        victim = cluster.replicasOf('token-vault').find((replica) => replica.pid === pid);
        if (!victim) throw new Error(`the held refresh came from pid ${pid}, no token-vault replica`);
        killedAt = mark(`SIGKILL ${victim.name} (holding the refresh lock)`);
        await victim.kill('SIGKILL');
        const deadline = Date.now() + 5000;
        while (!held.clientGone() && Date.now() < deadline) await sleep(20);
        proxy.releaseAll();
        mark('held answer dropped (its client is gone)');
        victim.start();
        await victim.ready();
        mark(`${victim.name} ready again`);
        await sleep(6000);
      },
      { retryForMs: 3000 },
    );
    const afterLoss = load.calls.filter((c) => c.kind === 'oauth' && c.startedAt > killedAt + 4000).flatMap((c) => c.attempts);
    result.notes = {
      victim: victim?.name,
      orphanedRefreshGrants: proxy.counts.orphanedRefreshGrants,
      oauthAttemptsAfterLoss: afterLoss.length,
      oauthAttemptsAfterLossAnsweredConsentRequired: afterLoss.filter((a) => /-320(01|42)/.test(a.detail ?? '')).length,
    };

    expect(proxy.counts.orphanedRefreshGrants).toBe(1);
    // The provider rotated once (the lost answer); the survivor's try with the old refresh token is refused, once: the row then needs consent.
    expect(result.oauthProvider.refreshGrants).toBe(1);
    expect(result.oauthProvider.refreshGrantErrors).toBe(1);
    // From then on the agent is told, as a JSON-RPC error with the consent URL, to have the user consent again: no 5xx, no refresh loop.
    expect(afterLoss.length).toBeGreaterThan(0);
    for (const attempt of afterLoss) expect(attempt).toMatchObject({ ok: false, status: 200, detail: expect.stringMatching(/-320(01|42)/) });
    expect(result.header.failed).toBe(0);
    expect(result.audit.storedEvents).toBe(result.audit.successfulCalls);

    // One consent and the connection works again.
    await aliceConsents();
    const again = await callEcho(cluster.edgeUrls[1]!, { kind: 'oauth', slug: 'github', token: aliceKey, sessionId: oauthSession }, 10_000);
    expect(again).toMatchObject({ ok: true });
  }, 40_000);
});
