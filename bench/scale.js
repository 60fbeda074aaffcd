#!/usr/bin/env node
'use strict';
// `npm run bench -- --scale` (or `node bench/scale.js`): the scale runs of issue 8. Two gateways side by side, each
// with its own data (all-in-one: its own embedded PostgreSQL and temporary folder; distributed: its own database and
// bus prefix): "small" with only what the scenarios need, and "scale", seeded through the admin REST API with
// 10,000 users (an API key each) and their per-user credentials in the vault, and 1,000 servers with collaborators.
// The same rows (API key + header, full auth, API key + per-user header) are measured on both, alternating
// small/scale round by round so that the machine's load hits both alike; then again with 1,000 MCP sessions held
// open on the scale gateway (each initialized, with its GET event stream open). Reported: each figure on both,
// the ratio scale/small and whether it is within 10 %; RSS and CPU per call with and without the sessions.
// Writes bench/results/latest-scale.json. See docs/performance.md, "Scale runs".
//
//   npm run bench -- --scale                 # 8–17 minutes on a shared 2-core machine
//   npm run bench -- --scale --users 1000 --servers 100 --sessions 100 --rounds 1   # a quick check of the harness
//   other flags: --no-build, --topology distributed, --parallel N (seeding requests in flight), --rounds N,
//                --calls-c1 N, --calls-c32 N, --collaborators N (per server), --deadline <s>, --out <file>
const { randomBytes } = require('node:crypto');
const { mkdtemp, mkdir, rm, writeFile } = require('node:fs/promises');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');
const { Pool } = require('undici');
const { measure, measureAtBothConcurrencies, round } = require('./lib/load');
const { log, commandLine, callCounts, buildDist, machine, gitCommit, gitDirty, runToEnd } = require('./lib/harness');
const { processCpuUs, sleep, startListeningScript, treeCpuUs, waitForQuiet } = require('./lib/processes');
const { startGateway, admin, registerHeaderServer, grantUse, fullAuthSupport } = require('./lib/gateway');
const { setupFullAuth } = require('./lib/full-auth');
const { startDistributedGateway, otherServiceCpu } = require('./lib/distributed');
const { registerPerUserServer, putOwnCredential, seedScale, callAs, openSessions, rssMiB, edgeRuntime, edgeCacheLookups, loadAverage } = require('./lib/scale');

const { flag, option } = commandLine();

const settings = {
  mode: 'scale',
  users: Number(option('--users', 10_000)),
  servers: Number(option('--servers', 1000)),
  collaboratorsPerServer: Number(option('--collaborators', 10)),
  sessions: Number(option('--sessions', 1000)),
  // Three short rounds rather than two long ones: on a shared machine the median of three ratios holds up better.
  rounds: Number(option('--rounds', 3)),
  parallel: Number(option('--parallel', 16)),
  ...callCounts(option, { prewarm: 1000, warmupC1: 300, callsC1: 1000, warmupC32: 500, callsC32: 2000 }),
  topology: option('--topology', 'all-in-one'),
  build: !flag('--no-build'),
  deadlineSeconds: Number(option('--deadline', 2700)),
};
const distributed = settings.topology === 'distributed';
if (!['all-in-one', 'distributed'].includes(settings.topology)) throw new Error('--topology is all-in-one or distributed');
const outFile = option('--out', join(__dirname, 'results', distributed ? 'latest-scale-distributed.json' : 'latest-scale.json'));

const children = [];
const dirs = [];
const ROWS = [
  { id: 'gateway-header', label: 'API key + header' },
  { id: 'gateway-full-auth', label: 'full auth (IdP JWT, oauth2)' },
  { id: 'gateway-per-user', label: 'API key + per-user header' },
];
// Figures compared small ↔ scale, and which of them the "within 10 %" check is made on (`better`: which way is good).
const METRICS = [
  { key: 'c1.p50Ms', label: 'c=1 p50 ms', digits: 3, better: 'lower', checked: true },
  { key: 'c1.p99Ms', label: 'c=1 p99 ms', digits: 3, better: 'lower', checked: false },
  { key: 'c1.callsPerSecond', label: 'c=1 calls/s', digits: 0, better: 'higher', checked: false },
  { key: 'c32.callsPerSecond', label: 'c=32 calls/s', digits: 0, better: 'higher', checked: true },
  { key: 'c32.p50Ms', label: 'c=32 p50 ms', digits: 2, better: 'lower', checked: false },
  { key: 'c1.cpuUsPerCall.proxy', label: 'CPU µs/call c=1', digits: 0, better: 'lower', checked: false },
  { key: 'c32.cpuUsPerCall.proxy', label: 'CPU µs/call c=32', digits: 0, better: 'lower', checked: true },
];

async function main() {
  if (settings.build) buildDist();
  const startedAt = Date.now();
  const report = { generatedAt: null, commit: gitCommit(), dirty: gitDirty(), machine: machine(), settings, topology: settings.topology, loadAverage: { atStart: loadAverage() } };

  const upstreamKey = `bench-upstream-${randomBytes(16).toString('hex')}`;
  const sessionsKey = `bench-sessions-${randomBytes(16).toString('hex')}`;
  log('starting the upstream MCP servers (SDK): stateless for the measured calls, stateful for the open sessions');
  const upstream = track(await startListeningScript('upstream', join(__dirname, 'upstream.js'), { UPSTREAM_API_KEY: upstreamKey, UPSTREAM_MODE: 'stateless' }));
  const sessionsUpstream = track(await startListeningScript('sessions-upstream', join(__dirname, 'upstream.js'), { UPSTREAM_API_KEY: sessionsKey, UPSTREAM_MODE: 'stateful' }));
  const upstreamUrl = `http://127.0.0.1:${upstream.port}/mcp`;

  const gateways = {};
  for (const name of ['small', 'scale']) {
    log(`starting the ${name} gateway (${settings.topology})`);
    gateways[name] = await startOne(name);
    gateways[name].name = name;
    await prepare(gateways[name], { upstreamUrl, upstreamKey, sessionsUrl: `http://127.0.0.1:${sessionsUpstream.port}/mcp`, sessionsKey });
  }
  const { small, scale } = gateways;
  const rows = ROWS.filter((row) => small.rows[row.id]);
  report.notAvailable = ROWS.filter((row) => !small.rows[row.id]).map((row) => ({ id: row.id, reason: small.fullAuthReason }));

  log('warming the upstream up; direct calls for context');
  await measure({ origin: `http://127.0.0.1:${upstream.port}`, path: '/mcp', headers: { 'x-api-key': upstreamKey }, concurrency: 4, calls: 2000, warmup: 0 });
  report.direct = await measureOnce({ origin: `http://127.0.0.1:${upstream.port}`, path: '/mcp', headers: { 'x-api-key': upstreamKey } }, [{ label: 'upstream', pid: upstream.pid, tree: false }], null);

  report.memory = { beforeSeeding: await memoryOf(gateways) };
  report.idleCpuUsPerSecond = { beforeSeeding: await idleCpu(gateways) };

  // The seeding, through the admin REST API of the scale gateway only.
  const seedStarted = Date.now();
  const seeded = await seedScale(scale, {
    users: settings.users,
    fillerServers: Math.max(0, settings.servers - scale.serverCount),
    collaboratorsPerServer: settings.collaboratorsPerServer,
    perUserSlug: 'bench-per-user',
    upstreamUrl,
    upstreamKey,
    parallel: settings.parallel,
    log,
  });
  report.seeding = { seconds: round((Date.now() - seedStarted) / 1000, 1), steps: seeded.steps, via: 'users, API keys, servers and collaborators: the admin REST API (registry /api/v1, the bootstrap admin key); per-user credentials: each user at the edge (PUT /me/credentials/{slug}, their own API key)', totals: await totalsOf(scale) };
  log(`scale: seeded in ${report.seeding.seconds} s; the scale gateway now has ${JSON.stringify(report.seeding.totals)}`);
  log('scale: waiting for the scale gateway to go quiet (the audit trail of the admin changes)');
  report.seeding.quietAfterMs = await settleOf(scale)();

  // A sample of the seeded users call the per-user server with their own API key: each call reaches the upstream
  // only with the value the vault holds for that user (cold: principal, decision and credential all looked up).
  const sample = Math.min(50, settings.users);
  const checkPool = new Pool(scale.edgeUrl, { connections: 1 });
  const coldMs = [];
  for (let k = 0; k < sample; k++) coldMs.push(await callAs(checkPool, '/mcp/bench-per-user', seeded.users[Math.floor((k * settings.users) / sample)].token, k + 1));
  await checkPool.close();
  coldMs.sort((a, b) => a - b);
  report.seededUsersColdCall = { users: sample, p50Ms: round(coldMs[Math.floor(sample / 2)], 2), maxMs: round(coldMs[sample - 1], 2), note: "each a different seeded user's first call (API key, per-user header): no cache holds them" };
  log(`scale: ${sample} seeded users called through the gateway with their own credential (cold p50 ${report.seededUsersColdCall.p50Ms} ms)`);
  report.memory.afterSeeding = await memoryOf(gateways);

  report.phases = {};
  report.phases.data = await measurePhase('data', rows, gateways, true);
  report.memory.afterDataPhase = await memoryOf(gateways);
  report.idleCpuUsPerSecond.withoutSessions = await idleCpu(gateways);

  log(`sessions: opening ${settings.sessions.toLocaleString('en-US')} MCP sessions on the scale gateway (${Math.min(settings.sessions, settings.users)} users, initialize + GET event stream each)`);
  const sessionTokens = seeded.users.slice(0, Math.min(settings.sessions, settings.users)).map((u) => u.token);
  const sessions = await openSessions({ origin: scale.edgeUrl, path: '/mcp/bench-sessions', tokens: sessionTokens, count: settings.sessions, parallel: settings.parallel, log });
  track({ stop: () => sessions.close() });
  report.sessions = { opened: settings.sessions, users: sessionTokens.length, openSeconds: sessions.timing.seconds, perSecond: sessions.timing.perSecond };
  await settleOf(scale)();
  report.memory.withSessions = await memoryOf(gateways);
  report.idleCpuUsPerSecond.withSessions = await idleCpu(gateways);
  report.phases.sessions = await measurePhase('sessions', rows, gateways, false);
  report.sessions.stillOpenAfterMeasuring = sessions.state.open;
  report.sessions.endedEarly = sessions.state.ended;
  report.sessions.callsOnOpenSessionsChecked = await sessions.check(20);
  report.memory.withSessionsAfterMeasuring = await memoryOf(gateways);
  log(`sessions: ${sessions.state.open} still open after measuring; ${report.sessions.callsOnOpenSessionsChecked} of them answered a tools/call`);
  await sessions.close();
  await sleep(2000);
  report.memory.afterSessionsClosed = await memoryOf(gateways);

  report.loadAverage.atEnd = loadAverage();
  report.durationSeconds = round((Date.now() - startedAt) / 1000, 0);
  report.generatedAt = new Date().toISOString();
  report.comparison = Object.fromEntries(Object.entries(report.phases).map(([phase, results]) => [phase, compare(results, rows)]));
  report.sessionsEffectOnScale = sessionsEffect(report.phases, rows);
  await mkdir(join(outFile, '..'), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report, rows);
  log(`wrote ${relative(process.cwd(), outFile) || outFile} (${report.durationSeconds} s)`);
}

async function startOne(name) {
  if (distributed) {
    const gateway = await startDistributedGateway({});
    track({ stop: () => gateway.stop() });
    gateway.cpu = [{ label: 'proxy', pid: gateway.pid, tree: false }, ...otherServiceCpu(gateway)];
    const others = gateway.cpu.slice(1);
    const all = () => processCpuUs(gateway.pid) + others.reduce((sum, p) => sum + (p.read ? p.read() : processCpuUs(p.pid)), 0);
    gateway.cpu.push({ label: 'allServices', read: all });
    gateway.quiet = (options = { quietShare: 0.15 }) => waitForQuiet(all, options);
    gateway.rss = () => ({ edge: rssMiB(gateway.pid), ...Object.fromEntries(gateway.services.filter((s) => s.pid !== gateway.pid).map((s) => [s.app, rssMiB(s.pid)])) });
    return gateway;
  }
  const dataDir = await mkdtemp(join(tmpdir(), `portcullis-bench-${name}-`));
  dirs.push(dataDir);
  const gateway = await startGateway({ dataDir });
  track(gateway.child);
  gateway.cpu = [{ label: 'proxy', pid: gateway.pid, tree: false }, { label: 'proxyTree', pid: gateway.pid, tree: true }];
  gateway.quiet = (options) => waitForQuiet(gateway.pid, options);
  gateway.rss = () => ({ allInOne: rssMiB(gateway.pid) });
  return gateway;
}

const settleOf = (gateway) => gateway.quiet;

/**
 * What every gateway gets, small or scale: the header server and the agent's key (as in `npm run bench`), a
 * per-user header server with the agent's own value set by a manager, a server on the stateful upstream for the
 * sessions (`team:everyone` may use it), and the full-auth set-up when the tree supports it.
 */
async function prepare(gateway, { upstreamUrl, upstreamKey, sessionsUrl, sessionsKey }) {
  await registerHeaderServer(gateway, 'bench-echo', upstreamUrl, upstreamKey);
  const agent = await admin(gateway, 'POST', '/api/v1/api-keys', { name: 'bench agent', ownerEmail: 'bench-agent@example.com' });
  const asAgent = { authorization: `Bearer ${agent.token}` };
  await grantUse(gateway, 'bench-echo');
  await registerPerUserServer(gateway, 'bench-per-user', upstreamUrl);
  await grantUse(gateway, 'bench-per-user');
  await putOwnCredential(gateway, 'bench-per-user', agent.token, upstreamKey);
  await registerHeaderServer(gateway, 'bench-sessions', sessionsUrl, sessionsKey);
  await admin(gateway, 'POST', '/api/v1/servers/bench-sessions/collaborators', { subject: 'team:everyone', role: 'user' });
  gateway.rows = {
    'gateway-header': { path: '/mcp/bench-echo', headers: asAgent },
    'gateway-per-user': { path: '/mcp/bench-per-user', headers: asAgent },
  };
  gateway.serverCount = 3;
  const support = await fullAuthSupport(gateway);
  if (support.available) {
    const setup = await setupFullAuth(gateway, { upstreamMode: 'stateless', children, log });
    gateway.rows['gateway-full-auth'] = { path: setup.path, headers: setup.headers, upstreamPid: setup.upstream.pid };
    gateway.serverCount++;
  } else {
    gateway.fullAuthReason = support.reason;
    log(`full auth is not available: ${support.reason}`);
  }
  for (const [id, row] of Object.entries(gateway.rows)) {
    const first = await measure({ origin: gateway.edgeUrl, path: row.path, headers: row.headers, concurrency: 1, calls: 1, warmup: 0 });
    if (first.errors > 0) throw new Error(`the first ${id} call through the ${gateway.name} gateway failed: ${first.firstError}`);
  }
}

/** One measurement (c=1, then c=32) of one target, CPU read quiet to quiet. */
async function measureOnce(target, cpu, settle) {
  const loadAverageBefore = loadAverage();
  return { loadAverageBefore, ...(await measureAtBothConcurrencies(target, { cpu, settle, counts: settings })) };
}

/**
 * Each row on both gateways, `rounds` times; the order alternates (small first in odd rounds, scale first in even
 * ones) so that a drift in the machine's load falls on both alike. The pre-warm is done once, in the first phase.
 */
async function measurePhase(phase, rows, gateways, prewarm) {
  const results = Object.fromEntries(rows.map((row) => [row.id, { small: [], scale: [] }]));
  if (prewarm) {
    for (const row of rows) {
      for (const gateway of [gateways.small, gateways.scale]) {
        log(`${phase}: ${row.label} on ${gateway.name}: pre-warming with ${settings.prewarm} calls at concurrency 8`);
        const target = gateway.rows[row.id];
        await measure({ origin: gateway.edgeUrl, path: target.path, headers: target.headers, concurrency: 8, calls: settings.prewarm, warmup: 0 });
      }
    }
  }
  for (let r = 0; r < settings.rounds; r++) {
    const order = r % 2 === 0 ? ['small', 'scale'] : ['scale', 'small'];
    for (const row of rows) {
      for (const name of order) {
        const gateway = gateways[name];
        const target = gateway.rows[row.id];
        log(`${phase}, round ${r + 1}/${settings.rounds}: ${row.label} on ${name} (c=1 ${settings.callsC1}, c=32 ${settings.callsC32} calls)`);
        const cpu = [...gateway.cpu, ...(target.upstreamPid ? [{ label: 'upstream', pid: target.upstreamPid, tree: false }] : [])];
        const lookupsBefore = await edgeCacheLookups(gateway.edgeUrl);
        const result = await measureOnce({ origin: gateway.edgeUrl, path: target.path, headers: target.headers }, cpu, gateway.quiet);
        result.cacheMisses = cacheMissesBetween(lookupsBefore, await edgeCacheLookups(gateway.edgeUrl));
        if (result.cacheMisses) log(`  edge cache misses over its ${settings.warmupC1 + settings.callsC1 + settings.warmupC32 + settings.callsC32} calls: ${JSON.stringify(result.cacheMisses)}`);
        result.round = r + 1;
        result.rssMiB = gateway.rss();
        results[row.id][name].push(result);
      }
    }
  }
  return results;
}

/** Misses per edge cache between two readings (warm-up calls included): a warm call should cause none. */
function cacheMissesBetween(before, after) {
  if (before === null || after === null) return null;
  return Object.fromEntries(Object.keys(after).map((cache) => [cache, (after[cache].miss ?? 0) - (before[cache]?.miss ?? 0)]));
}

const pick = (result, key) => key.split('.').reduce((v, k) => v?.[k], result);
const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Per row and metric: the median over rounds on each gateway, and the ratio scale/small, taken round by round
 * (the two measurements of a round are minutes apart at most) and then the median of those. "Within 10 %": the
 * ratio is ≤ 1.1 where lower is better, ≥ 0.9 where higher is better.
 */
function compare(results, rows) {
  return Object.fromEntries(
    rows.map((row) => {
      const { small, scale } = results[row.id];
      const metrics = METRICS.map((m) => {
        const ratios = small.map((s, i) => pick(scale[i], m.key) / pick(s, m.key));
        const ratio = round(median(ratios), 3);
        const within = m.better === 'lower' ? ratio <= 1.1 : ratio >= 0.9;
        return { metric: m.key, label: m.label, small: round(median(small.map((s) => pick(s, m.key))), m.digits), scale: round(median(scale.map((s) => pick(s, m.key))), m.digits), ratio, ratiosByRound: ratios.map((x) => round(x, 3)), withinTenPercent: within, checked: m.checked };
      });
      return [row.id, { label: row.label, metrics }];
    }),
  );
}

/** The scale gateway's CPU per call and latency with the sessions open ÷ without them (both phases' medians). */
function sessionsEffect(phases, rows) {
  return Object.fromEntries(
    rows.map((row) => {
      const without = phases.data[row.id].scale;
      const withSessions = phases.sessions[row.id].scale;
      return [
        row.id,
        Object.fromEntries(
          ['c1.cpuUsPerCall.proxy', 'c32.cpuUsPerCall.proxy', 'c1.p50Ms', 'c32.callsPerSecond'].map((key) => {
            const a = median(without.map((r) => pick(r, key)));
            const b = median(withSessions.map((r) => pick(r, key)));
            return [key, { withoutSessions: round(a, 3), withSessions: round(b, 3), ratio: round(b / a, 3) }];
          }),
        ),
      ];
    }),
  );
}

/** RSS (MiB) of each gateway's process(es), and the edge's heap in use and active handles from its `/metrics`. */
async function memoryOf(gateways) {
  const one = async (gateway) => ({ ...gateway.rss(), edgeRuntime: await edgeRuntime(gateway.edgeUrl) });
  return { small: await one(gateways.small), scale: await one(gateways.scale) };
}

/**
 * CPU each gateway burns doing nothing, µs per second over 10 s (`proxy` = the all-in-one process or the edge;
 * /proc counts 10 ms ticks, so the resolution is 1,000 µs/s).
 */
async function idleCpu(gateways) {
  const seconds = 10;
  // Idle means idle: the tail of what came before (the audit trail of set-up or of opening the sessions) ends first.
  // (The five distributed processes idle at about 3.5 % of a core together, all-in-one at under 1 %.)
  for (const gateway of [gateways.small, gateways.scale]) await gateway.quiet({ quietShare: distributed ? 0.06 : 0.02, maxMs: 30_000 });
  const read = (gateway) => gateway.cpu.map((p) => (p.read ? p.read() : p.tree ? treeCpuUs(p.pid) : processCpuUs(p.pid)));
  const before = { small: read(gateways.small), scale: read(gateways.scale) };
  await sleep(seconds * 1000);
  return Object.fromEntries(
    ['small', 'scale'].map((name) => {
      const after = read(gateways[name]);
      return [name, Object.fromEntries(gateways[name].cpu.map((p, i) => [p.label, round((after[i] - before[name][i]) / seconds, 0)]))];
    }),
  );
}

/** How many servers the scale gateway lists after seeding (`total` of its admin API's page). */
async function totalsOf(gateway) {
  const page = await admin(gateway, 'GET', '/api/v1/servers?limit=1');
  return { servers: page?.total ?? null, users: settings.users };
}

function fmt(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printReport(report, rows) {
  const out = [];
  const m = report.machine;
  out.push('');
  out.push(`Portcullis scale runs — ${report.generatedAt} — commit ${report.commit}${report.dirty ? ' + uncommitted changes' : ''} — ${report.topology}`);
  out.push(`machine: ${m.nproc} × ${m.cpuModel}, Node ${m.node}; load average at start ${report.loadAverage.atStart?.join(' ')}, at end ${report.loadAverage.atEnd?.join(' ')}`);
  out.push(`small gateway: 3–4 servers, the agent and the full-auth user. scale gateway: + ${settings.users.toLocaleString('en-US')} users (API key each) with their per-user credential in the vault, ${settings.servers.toLocaleString('en-US')} servers, ${settings.collaboratorsPerServer} collaborators on each added one.`);
  const s = report.seeding.steps;
  out.push(`seeding (admin REST API; credentials at the edge's /me; ${settings.parallel} in flight): ${report.seeding.seconds} s — users+keys ${s.usersWithApiKeys.perSecond}/s, credentials ${s.perUserCredentials.perSecond}/s, servers ${s.servers.perSecond}/s, collaborators ${s.collaborators.perSecond}/s`);
  out.push(`per round and gateway: c=1 ${settings.warmupC1} warm-up + ${settings.callsC1} calls, c=32 ${settings.warmupC32} + ${settings.callsC32}; ${settings.rounds} rounds, small/scale alternating; CPU = ${distributed ? 'the edge-proxy process alone' : 'the all-in-one process (every service in it)'}`);
  for (const [phase, title] of [
    ['data', `${settings.users.toLocaleString('en-US')} users' credentials + ${settings.servers.toLocaleString('en-US')} servers`],
    ['sessions', `the same + ${settings.sessions.toLocaleString('en-US')} open sessions`],
  ]) {
    const comparison = report.comparison[phase];
    if (!comparison) continue;
    out.push('');
    out.push(`${title} (scale) vs small:`);
    out.push(`  ${'row'.padEnd(30)}${'figure'.padEnd(20)}${'small'.padStart(10)}${'scale'.padStart(10)}${'scale/small'.padStart(13)}  within 10 %`);
    for (const row of rows) {
      for (const metric of comparison[row.id].metrics) {
        const digits = METRICS.find((x) => x.key === metric.metric).digits;
        const verdict = metric.checked ? (metric.withinTenPercent ? 'met' : 'NOT met') : `(${metric.withinTenPercent ? 'within' : 'outside'})`;
        out.push(`  ${(metric === comparison[row.id].metrics[0] ? row.label : '').padEnd(30)}${metric.label.padEnd(20)}${fmt(metric.small, digits).padStart(10)}${fmt(metric.scale, digits).padStart(10)}${fmt(metric.ratio, 3).padStart(13)}  ${verdict}`);
      }
    }
  }
  out.push('');
  out.push(`sessions: ${report.sessions.opened} opened in ${report.sessions.openSeconds} s (${report.sessions.perSecond}/s), ${report.sessions.stillOpenAfterMeasuring} still open after measuring, ${report.sessions.callsOnOpenSessionsChecked} checked with a call`);
  out.push(`scale gateway with ÷ without the sessions (medians):`);
  for (const row of rows) {
    const e = report.sessionsEffectOnScale[row.id];
    out.push(`  ${row.label.padEnd(30)} CPU µs/call c=1 ${fmt(e['c1.cpuUsPerCall.proxy'].withoutSessions)} → ${fmt(e['c1.cpuUsPerCall.proxy'].withSessions)}, c=32 ${fmt(e['c32.cpuUsPerCall.proxy'].withoutSessions)} → ${fmt(e['c32.cpuUsPerCall.proxy'].withSessions)} (× ${fmt(e['c32.cpuUsPerCall.proxy'].ratio, 3)})`);
  }
  const rss = (point) => `small ${JSON.stringify(report.memory[point].small)}, scale ${JSON.stringify(report.memory[point].scale)}`;
  out.push('RSS MiB per process, and the edge\'s V8 heap in use (MiB) and active handles from its /metrics:');
  for (const point of Object.keys(report.memory)) out.push(`  ${point.padEnd(28)} ${rss(point)}`);
  out.push('idle CPU µs/s (proxy):');
  for (const [point, v] of Object.entries(report.idleCpuUsPerSecond)) out.push(`  ${point.padEnd(28)} small ${fmt(v.small.proxy)}, scale ${fmt(v.scale.proxy)}`);
  out.push(`seeded users' first calls (cold, ${report.seededUsersColdCall.users} users): p50 ${report.seededUsersColdCall.p50Ms} ms, max ${report.seededUsersColdCall.maxMs} ms`);
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

function track(child) {
  children.push(child);
  return child;
}

async function cleanup() {
  await Promise.allSettled(children.reverse().map((child) => child.stop('SIGTERM', 20_000)));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

runToEnd(main, cleanup, settings.deadlineSeconds);
