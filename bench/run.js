#!/usr/bin/env node
'use strict';
// `npm run bench`: what the gateway costs per MCP tool call, side by side with a direct call and a plain
// reverse-proxy hop. Loopback only; bounded in time (about 3 minutes by default, about 30 s with --quick).
// See docs/performance.md for the method and the latest figures.
//
//   npm run bench                  # full run, writes bench/results/latest.json
//   npm run bench -- --quick       # about 30 s, smaller samples, no scale run
//   npm run bench -- --profile     # also run the gateway under --cpu-prof and print its top frames
//   npm run bench -- --no-build    # skip `tsc -b tsconfig.build.json`
//   npm run bench -- --no-scale    # skip the 1,000-server run
//   npm run bench -- --out <file>  # write the JSON somewhere else
//   npm run bench -- --scale       # the scale runs: 10,000 users' credentials, 1,000 servers, 1,000 open sessions
//                                  # against a small gateway, side by side (8–17 min; bench/scale.js, latest-scale.json)
//   npm run bench -- --upstream stateful  # upstream keeps MCP sessions (one per load worker) instead of stateless
//   npm run bench -- --compare AUDIT_BATCH_LINGER_MS=20,100  # two distributed gateways differing in one edge setting,
//                                  # alternating rounds (bench/compare.js, latest-compare.json; about 8 minutes)
//   npm run bench -- --baseline HEAD # the same, this tree against another commit's build (in a temporary worktree)
//   npm run bench -- --instructions --baseline HEAD  # the edge's instructions per call, counted by callgrind
//                                  # (bench/instructions.js, latest-instructions.json; about 4 minutes)
//   npm run bench -- --topology distributed  # the five services as separate processes over the machine's NATS and
//                                  # PostgreSQL; the edge process's CPU reported apart from the others'
//                                  # (writes bench/results/latest-distributed.json)
const { randomBytes } = require('node:crypto');
const { copyFile, mkdtemp, mkdir, rm, writeFile } = require('node:fs/promises');
const { tmpdir } = require('node:os');
const { readFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { measure, round } = require('./lib/load');
const { log, commandLine, callCounts, buildDist, machine, gitCommit, gitDirty, runToEnd } = require('./lib/harness');
const { processCpuUs, sleep, startListeningScript, treeCpuUs, waitForQuiet } = require('./lib/processes');
const { nginxAvailable, startNginx, startPipeProxy } = require('./lib/floor');
const { startGateway, registerHeaderServer, createAgentKey, grantUse, fullAuthSupport, registerFillerServers } = require('./lib/gateway');
const { setupFullAuth } = require('./lib/full-auth');
const { startDistributedGateway, otherServiceCpu } = require('./lib/distributed');
const { newestProfile, summarize } = require('./lib/profile');
const { printReport, ratiosOf, targetsOf } = require('./lib/report');

const { flag, option } = commandLine();
// `--scale`: the scale runs (10,000 users' credentials, 1,000 servers, 1,000 open sessions) are their own script.
if (flag('--scale')) return void require('./scale.js');
// `--instructions [--baseline REF]`: the edge's instructions per call under valgrind's callgrind (bench/instructions.js).
if (flag('--instructions')) return void require('./instructions.js');
// `--compare NAME=A,B` / `--baseline REF`: two gateways side by side that differ in one edge setting, or in their build (bench/compare.js).
if (option('--compare', null) || option('--baseline', null)) return void require('./compare.js');

const quick = flag('--quick');
const settings = {
  mode: quick ? 'quick' : 'full',
  ...callCounts(option, quick ? { prewarm: 500, warmupC1: 200, callsC1: 1000, warmupC32: 500, callsC32: 2000 } : { prewarm: 2000, warmupC1: 500, callsC1: 3000, warmupC32: 1000, callsC32: 6000 }),
  scaleServers: Number(option('--scale-servers', 1000)),
  scale: !quick && !flag('--no-scale'),
  profile: flag('--profile'),
  upstreamMode: option('--upstream', 'stateless'),
  topology: option('--topology', 'all-in-one'),
  build: !flag('--no-build'),
  // The whole run is killed past this, whatever it is doing.
  deadlineSeconds: Number(option('--deadline', quick ? 180 : 600)),
};
const distributed = settings.topology === 'distributed';
const outFile = option('--out', join(__dirname, 'results', distributed ? 'latest-distributed.json' : 'latest.json'));
if (!['stateless', 'stateful'].includes(settings.upstreamMode)) throw new Error('--upstream is stateless or stateful');
if (!['all-in-one', 'distributed'].includes(settings.topology)) throw new Error('--topology is all-in-one or distributed');

const children = [];
let workDir = null;
let gatewayDir = null;

async function main() {
  if (settings.build) buildDist();
  workDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-'));
  const upstreamKey = `bench-upstream-${randomBytes(16).toString('hex')}`;

  log(`starting the upstream MCP server (SDK, ${settings.upstreamMode}, JSON responses)`);
  const upstream = track(await startListeningScript('upstream', join(__dirname, 'upstream.js'), { UPSTREAM_API_KEY: upstreamKey, UPSTREAM_MODE: settings.upstreamMode }));
  const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;

  const floors = [];
  if (nginxAvailable()) {
    log('starting nginx (floor)');
    floors.push({ id: 'floor-nginx', label: 'floor: nginx hop', proxy: track(await startNginx(upstream.port, workDir)) });
  } else {
    log('nginx is not installed (/usr/sbin/nginx): the Node pipe proxy is the only floor');
  }
  log('starting the Node pipe proxy (floor)');
  floors.push({ id: 'floor-node-pipe', label: 'floor: Node http pipe hop', proxy: track(await startPipeProxy(upstream.port)) });

  const profileDir = join(workDir, 'cpu-profile');
  if (settings.profile) await mkdir(profileDir);
  const profileArgs = settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=250'] : [];
  let gateway;
  if (distributed) {
    log('starting the gateway: five processes (dist/apps/{identity,token-vault,registry,audit,edge-proxy}/main.js) over NATS 127.0.0.1:4222 and PostgreSQL 127.0.0.1:5432');
    // Only the edge is profiled: its cost per call is what the CPU target is about.
    gateway = await startDistributedGateway({ nodeArgsFor: (app) => (app === 'edge-proxy' ? profileArgs : []) });
    log(`  database ${gateway.databaseName}, bus subject prefix ${gateway.subjectPrefix}`);
    track({ stop: () => gateway.stop() });
  } else {
    log('starting the gateway (dist/apps/all-in-one/main.js, embedded PostgreSQL)');
    gateway = await startGateway({
      // Its own mkdtemp folder directly under tmpdir: run as root, the embedded PostgreSQL runs as `postgres`,
      // which must be able to enter the data folder's parent.
      dataDir: gatewayDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-gateway-')),
      nodeArgs: profileArgs,
    });
    track(gateway.child);
  }
  await registerHeaderServer(gateway, 'bench-echo', `${upstreamOrigin}/mcp`, upstreamKey);
  const agentToken = await createAgentKey(gateway);
  await grantUse(gateway, 'bench-echo');
  const fullAuth = await fullAuthSupport(gateway);
  // A tree that supports full auth must run it: a failure in its set-up fails the run, it is not "n/a".
  const fullAuthSetup = fullAuth.available
    ? await setupFullAuth(gateway, { upstreamMode: settings.upstreamMode, children, log })
    : (log(`full auth is not available: ${fullAuth.reason}`), null);

  const upstreamCpu = { label: 'upstream', pid: upstream.pid, tree: false };
  // What the gateway's processes burn, besides `proxy`: all-in-one's tree (its embedded PostgreSQL), or each other
  // service of the distributed gateway, this run's PostgreSQL backends and their sum with the edge (`allServices`).
  const others = distributed ? otherServiceCpu(gateway) : [];
  const allServicesCpu = () => processCpuUs(gateway.pid) + others.reduce((sum, p) => sum + (p.read ? p.read() : processCpuUs(p.pid)), 0);
  const gatewayCpu = distributed
    ? [{ label: 'proxy', pid: gateway.pid, tree: false }, ...others, { label: 'allServices', read: allServicesCpu }]
    : [{ label: 'proxy', pid: gateway.pid, tree: false }, { label: 'proxyTree', pid: gateway.pid, tree: true }];
  const scenarios = [
    { id: 'direct', label: 'direct (client → upstream)', origin: upstreamOrigin, path: '/mcp', headers: { 'x-api-key': upstreamKey }, cpu: [upstreamCpu] },
    ...floors.map((floor) => ({
      id: floor.id,
      label: floor.label,
      origin: `http://127.0.0.1:${floor.proxy.port}`,
      path: '/mcp',
      headers: { 'x-api-key': upstreamKey },
      cpu: [{ label: 'proxy', pid: floor.proxy.pid, tree: true }, upstreamCpu],
    })),
    {
      id: 'gateway-header',
      label: 'gateway: API key + header',
      origin: gateway.edgeUrl,
      path: '/mcp/bench-echo',
      // The agent holds only its gateway key; the upstream key comes from the vault.
      headers: { authorization: `Bearer ${agentToken}` },
      cpu: [...gatewayCpu, upstreamCpu],
      gateway: true,
    },
  ];
  if (fullAuthSetup) {
    scenarios.push({
      id: 'gateway-full-auth',
      label: 'gateway: full auth (IdP JWT, oauth2, RBAC, audit)',
      origin: gateway.edgeUrl,
      path: fullAuthSetup.path,
      // The caller holds only its IdP access token; the user's upstream token comes from the vault.
      headers: fullAuthSetup.headers,
      cpu: [...gatewayCpu, { label: 'upstream', pid: fullAuthSetup.upstream.pid, tree: false }],
      gateway: true,
    });
  }

  const sessions = settings.upstreamMode === 'stateful';
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const results = { scenarios: {}, notAvailable: {} };

  // The upstream's JIT warms here, once, so that the first scenario (direct) is not measured against a colder upstream.
  log('warming the upstream up');
  await measure({ origin: upstreamOrigin, path: '/mcp', headers: { 'x-api-key': upstreamKey }, concurrency: 4, calls: quick ? 1000 : 3000, warmup: 0, sessions });

  // What the gateway burns doing nothing (timers, pollers, the audit writer idle): context for its CPU per call.
  const idleSeconds = quick ? 2 : 5;
  const readAll = (entries) => entries.map((p) => (p.read ? p.read() : p.tree ? treeCpuUs(p.pid) : processCpuUs(p.pid)));
  const idleBefore = readAll(gatewayCpu);
  const idleWindow = { startUs: nowUs(), endUs: 0 };
  await sleep(idleSeconds * 1000);
  idleWindow.endUs = nowUs();
  const idleAfter = readAll(gatewayCpu);
  results.gatewayIdleCpuUsPerSecond = Object.fromEntries(gatewayCpu.map((p, i) => [p.label, round((idleAfter[i] - idleBefore[i]) / idleSeconds, 0)]));

  const window = { startUs: Infinity, endUs: 0 };
  const scenarioWindows = {};
  // After the c=32 calls: what the gateway still does once the load generator stopped (the audit writer's backlog).
  const drainWindows = {};
  const run = async (scenario, id = scenario.id, label = scenario.label) => {
    const entry = { label };
    // JIT, caches and connection pools of every hop warm up at c=8 first; only then the per-concurrency warm-up and the measured calls.
    log(`${label}: pre-warming with ${settings.prewarm} calls at concurrency 8`);
    const prewarm = await measure({ origin: scenario.origin, path: scenario.path, headers: scenario.headers, concurrency: 8, calls: settings.prewarm, warmup: 0, sessions });
    if (prewarm.errors > 0) log(`  ${prewarm.errors} pre-warm calls failed; first: ${prewarm.firstError}`);
    for (const [key, concurrency, warmup, calls] of [
      ['c1', 1, settings.warmupC1, settings.callsC1],
      ['c32', 32, settings.warmupC32, settings.callsC32],
    ]) {
      log(`${label}: concurrency ${concurrency}, ${warmup} warm-up + ${calls} calls`);
      const started = nowUs();
      // Distributed: quiet means all the gateway's processes together (the audit service may still be writing).
      const settle = () =>
        scenario.gateway && distributed
          ? waitForQuiet(allServicesCpu, { quietShare: 0.15 })
          : waitForQuiet(scenario.cpu.find((p) => p.label === 'proxy')?.pid ?? scenario.cpu[0].pid);
      entry[key] = await measure({ origin: scenario.origin, path: scenario.path, headers: scenario.headers, concurrency, calls, warmup, cpu: scenario.cpu, sessions, settle });
      if (entry[key].settleMsBefore > 1000 || entry[key].settleMsAfter > 1000) log(`  waited for the proxy to go quiet: ${entry[key].settleMsBefore} ms before, ${entry[key].settleMsAfter} ms after the measured calls`);
      if (scenario.gateway) {
        const ended = nowUs();
        window.startUs = Math.min(window.startUs, started);
        window.endUs = Math.max(window.endUs, ended);
        const own = (scenarioWindows[id] ??= { startUs: Infinity, endUs: 0 });
        own.startUs = Math.min(own.startUs, started);
        own.endUs = Math.max(own.endUs, ended);
        if (key === 'c32' && entry[key].drainWindow) drainWindows[id] = entry[key].drainWindow;
      }
      delete entry[key].drainWindow;
      if (entry[key].errors > 0) log(`  ${entry[key].errors} calls failed; first: ${entry[key].firstError}`);
    }
    results.scenarios[id] = entry;
  };

  if (fullAuthSetup) {
    log('full auth: checking one call through the gateway');
    const first = await measure({ origin: gateway.edgeUrl, path: fullAuthSetup.path, headers: fullAuthSetup.headers, concurrency: 1, calls: 1, warmup: 0, sessions });
    if (first.errors > 0) throw new Error(`the first full-auth call failed: ${first.firstError}`);
  }
  const idpBefore = fullAuthSetup ? await idpTraffic(fullAuthSetup.idp) : null;
  for (const scenario of scenarios) await run(scenario);
  if (fullAuthSetup) {
    // Warm calls must not reach the IdP: the caller's JWT is verified once and cached, the upstream token is the vault's.
    const idpAfter = await idpTraffic(fullAuthSetup.idp);
    results.fullAuthIdpTrafficWhileMeasuring = {
      jwksRequests: idpAfter.jwksRequests - idpBefore.jwksRequests,
      tokenRequests: idpAfter.tokenRequests - idpBefore.tokenRequests,
    };
  } else {
    results.notAvailable['gateway-full-auth'] = { label: 'gateway: full auth (IdP JWT, oauth2, RBAC, audit)', reason: fullAuth.reason };
  }

  if (settings.scale) {
    const extra = settings.scaleServers - 1;
    log(`scale: registering ${extra} more servers (each with a header credential in the vault)`);
    const started = Date.now();
    await registerFillerServers(gateway, extra, `${upstreamOrigin}/mcp`);
    results.scaleSetupSeconds = round((Date.now() - started) / 1000, 1);
    const header = scenarios.find((s) => s.id === 'gateway-header');
    await run(header, 'scale-1000-servers', `gateway: API key + header, ${settings.scaleServers.toLocaleString('en-US')} servers`);
  } else {
    results.notAvailable['scale-1000-servers'] = { label: 'scale: 1,000 registered servers', reason: quick ? 'skipped in --quick' : 'skipped (--no-scale)' };
  }
  results.notAvailable['scale-10000-user-credentials'] = {
    label: "scale: 10,000 users' credentials in the vault",
    reason: 'measured by `npm run bench -- --scale` (bench/results/latest-scale.json)',
  };
  results.notAvailable['scale-1000-sessions'] = {
    label: 'scale: 1,000 concurrent open sessions',
    reason: 'measured by `npm run bench -- --scale` (bench/results/latest-scale.json)',
  };

  log('stopping the gateway');
  await gateway.stop();
  if (settings.profile) {
    const file = newestProfile(profileDir);
    if (file) {
      // Kept (git-ignored) for a closer look in Chrome DevTools or `node bench/lib/profile.js`.
      await copyFile(file, join(__dirname, 'results', 'gateway.cpuprofile.tmp'));
      const windowed = summarize(file, window);
      results.profile = windowed.sampledMs > 0 ? windowed : summarize(file, null);
      results.profile.file = null;
      results.profile.window = window;
      results.profileIdle = summarize(file, idleWindow, 10);
      results.profileIdle.file = null;
      results.profileByScenario = Object.fromEntries(
        Object.entries(scenarioWindows).map(([id, w]) => {
          const summary = summarize(file, w);
          summary.file = null;
          summary.window = w;
          return [id, summary];
        }),
      );
      results.profileDrainAfterC32 = Object.fromEntries(
        Object.entries(drainWindows).map(([id, w]) => {
          const summary = summarize(file, w, 15);
          summary.file = null;
          return [id, summary];
        }),
      );
    } else {
      log('no CPU profile was written (did the gateway exit cleanly?)');
    }
  }

  const report = {
    generatedAt: new Date().toISOString(),
    commit: gitCommit(),
    dirty: gitDirty(),
    machine: { ...machine(), loadAverageAtEnd: loadAverageText() },
    settings,
    upstream:
      settings.upstreamMode === 'stateless'
        ? 'SDK McpServer + StreamableHTTPServerTransport, stateless (new server+transport per request), enableJsonResponse: true, own process'
        : 'SDK McpServer + StreamableHTTPServerTransport, stateful (one session per load worker, opened before measuring), enableJsonResponse: true, own process',
    fullAuth: fullAuthSetup
      ? 'caller: an at+jwt access token (ES256) minted by the test IdP (oidc-provider), identity provider registered with discovery; upstream: a second bench/upstream.js that requires a Bearer JWT of that IdP with aud = its own URL (verified with jose, cached until exp); the user consented once (OIDC browser login at /login, then the IdP as the upstream AS, /oauth/callback); RBAC: the user role by e-mail'
      : null,
    topology: settings.topology,
    gatewayBuild: distributed
      ? 'dist/apps/{identity,token-vault,registry,audit,edge-proxy}/main.js, five processes over the machine\'s NATS (127.0.0.1:4222, unique BUS_SUBJECT_PREFIX) and PostgreSQL 15 (127.0.0.1:5432, a throwaway database), LOG_LEVEL=warn; `proxy` CPU = the edge-proxy process alone'
      : 'dist/apps/all-in-one/main.js (in-process bus, embedded PostgreSQL, LOG_LEVEL=warn), own process',
    floorProxies: floors.map((f) => f.id),
    ...results,
  };
  report.ratiosToDirect = Object.fromEntries(Object.keys(report.scenarios).filter((id) => id !== 'direct').map((id) => [id, ratiosOf(report, id)]));
  report.targets = targetsOf(report);
  await mkdir(join(outFile, '..'), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  log(`wrote ${relative(process.cwd(), outFile) || outFile}`);
}

/** Requests the test IdP answered so far: JWKS fetches and token-endpoint calls of any grant. */
async function idpTraffic(idp) {
  const stats = await idp.tokenStats();
  const sum = (counts) => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
  return { jwksRequests: await idp.jwksRequests(), tokenRequests: sum(stats.grants) + sum(stats.grantErrors) };
}

function track(child) {
  children.push(child);
  return child;
}

async function cleanup() {
  await Promise.allSettled(children.reverse().map((child) => child.stop('SIGTERM', 20_000)));
  for (const dir of [workDir, gatewayDir]) if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** The 1, 5 and 15 minute load averages as /proc prints them. */
function loadAverageText() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

runToEnd(main, cleanup, settings.deadlineSeconds);
