#!/usr/bin/env node
'use strict';
// `npm run bench -- --compare NAME=A,B`: what one edge setting changes. Two distributed gateways run side by side,
// the same build, differing only in the edge-proxy's environment variable NAME (A on one, B on the other).
// `npm run bench -- --baseline REF`: what a change of code does. A is the commit REF, checked out in a temporary
// worktree and built there (bench/lib/baseline.js), B this tree as it is.
// The API key + header row is measured on both, alternating which goes first round by round, so that this machine's
// swings (10–35 % between two runs of one tree) fall on both alike; reported: the edge process's CPU per call and the
// latency on each, and B ÷ A round by round with its median. Writes bench/results/latest-compare.json.
//
//   npm run bench -- --compare AUDIT_BATCH_LINGER_MS=20,100            # 6 rounds, about 8 minutes here
//   npm run bench -- --compare AUDIT_BATCH_LINGER_MS=20,100 --rounds 4 --calls-c1 2000 --calls-c32 4000 --no-build
//   npm run bench -- --baseline HEAD --rounds 4                        # uncommitted changes against the last commit
// Both edges run with V8's memory reducer off (see main), unless `--memory-reducer` is given.
const { randomBytes } = require('node:crypto');
const { mkdir, writeFile } = require('node:fs/promises');
const { join, relative } = require('node:path');
const { measure, measureAtBothConcurrencies, round } = require('./lib/load');
const { log, commandLine, callCounts, buildDist, machine, gitCommit, gitDirty, runToEnd } = require('./lib/harness');
const { startListeningScript, waitForQuiet } = require('./lib/processes');
const { registerHeaderServer, createAgentKey, grantUse } = require('./lib/gateway');
const { startDistributedGateway } = require('./lib/distributed');
const { prepareBaseline } = require('./lib/baseline');
const { repoRoot } = require('./lib/gateway');

const { flag, option } = commandLine();
const baselineRef = option('--baseline', null);
const comparison = baselineRef === null ? /^([A-Z][A-Z0-9_]*)=([^,]*),([^,]*)$/.exec(option('--compare', '')) : null;
if (baselineRef === null && !comparison) throw new Error('--compare takes NAME=A,B: an edge-proxy environment variable and its two values');
const settings = {
  ...(comparison ? { setting: comparison[1], values: { A: comparison[2], B: comparison[3] } } : { baseline: baselineRef }),
  rounds: Number(option('--rounds', 6)),
  ...callCounts(option, { prewarm: 1500, warmupC1: 300, callsC1: 2000, warmupC32: 500, callsC32: 4000 }),
  build: !flag('--no-build'),
  memoryReducer: flag('--memory-reducer'),
  deadlineSeconds: Number(option('--deadline', 1800)),
};
const outFile = option('--out', join(__dirname, 'results', 'latest-compare.json'));
const ROW_PATH = '/mcp/bench-echo';
const stoppers = [];

async function main() {
  if (settings.build) buildDist();
  const upstreamKey = `bench-upstream-${randomBytes(16).toString('hex')}`;
  const upstream = await startListeningScript('upstream', join(__dirname, 'upstream.js'), { UPSTREAM_API_KEY: upstreamKey, UPSTREAM_MODE: 'stateless' });
  stoppers.push(() => upstream.stop('SIGTERM', 5000));
  const roots = { A: repoRoot, B: repoRoot };
  if (baselineRef !== null) {
    const baseline = prepareBaseline(baselineRef);
    stoppers.push(baseline.remove);
    roots.A = baseline.root;
    settings.baselineCommit = baseline.commit;
  }
  const gateways = {};
  for (const name of ['A', 'B']) {
    log(`starting gateway ${name} (distributed), ${describe(name)}`);
    const env = comparison ? { [settings.setting]: settings.values[name] } : {};
    // Each edge idles while the other is measured, and V8's memory reducer then shrinks its heap: the next measurement
    // paid for regrowing it (a dear round every few; docs/performance.md, "Comparing two builds"). A gateway under
    // steady load never idles so, so the comparison switches the reducer off on both edges alike.
    const nodeArgsFor = (app) => (app === 'edge-proxy' && settings.memoryReducer === false ? ['--no-memory-reducer'] : []);
    const gateway = await startDistributedGateway({ root: roots[name], nodeArgsFor, envFor: (app) => (app === 'edge-proxy' ? env : {}) });
    stoppers.push(() => gateway.stop());
    await registerHeaderServer(gateway, 'bench-echo', `http://127.0.0.1:${upstream.port}/mcp`, upstreamKey);
    gateway.headers = { authorization: `Bearer ${await createAgentKey(gateway)}` };
    await grantUse(gateway, 'bench-echo');
    log(`gateway ${name}: pre-warming with ${settings.prewarm} calls at concurrency 8`);
    await measure({ origin: gateway.edgeUrl, path: ROW_PATH, headers: gateway.headers, concurrency: 8, calls: settings.prewarm, warmup: 0 });
    gateways[name] = gateway;
  }

  const runs = { A: [], B: [] };
  for (let r = 0; r < settings.rounds; r++) {
    for (const name of r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const gateway = gateways[name];
      const cpu = [{ label: 'proxy', pid: gateway.pid, tree: false }];
      const settle = () => waitForQuiet(gateway.pid, { quietShare: 0.15 });
      const measured = await measureAtBothConcurrencies({ origin: gateway.edgeUrl, path: ROW_PATH, headers: gateway.headers }, { cpu, settle, counts: settings });
      const figures = (result) => ({ cpuUsPerCall: result.cpuUsPerCall.proxy, callsPerSecond: result.callsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms });
      const run = { round: r + 1, c1: figures(measured.c1), c32: figures(measured.c32) };
      log(`round ${r + 1}/${settings.rounds}, ${name} (${describe(name)}): edge CPU µs/call c=1 ${run.c1.cpuUsPerCall}, c=32 ${run.c32.cpuUsPerCall}`);
      runs[name].push(run);
    }
  }

  const report = { generatedAt: new Date().toISOString(), commit: gitCommit(), dirty: gitDirty(), machine: machine(), settings, runs, summary: summarize(runs) };
  await mkdir(join(__dirname, 'results'), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  print(report);
  log(`wrote ${relative(process.cwd(), outFile) || outFile}`);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Per figure: the median on each side, and B ÷ A taken within each round (the two runs of a round are a minute apart). */
function summarize(runs) {
  const figures = ['c1.cpuUsPerCall', 'c32.cpuUsPerCall', 'c1.p50Ms', 'c1.p99Ms', 'c32.callsPerSecond'];
  const pick = (run, figure) => figure.split('.').reduce((value, key) => value[key], run);
  return Object.fromEntries(
    figures.map((figure) => {
      const ratios = runs.A.map((a, i) => pick(runs.B[i], figure) / pick(a, figure));
      const side = (name) => round(median(runs[name].map((run) => pick(run, figure))), 3);
      return [figure, { A: side('A'), B: side('B'), ratiosByRound: ratios.map((x) => round(x, 3)), medianRatio: round(median(ratios), 3) }];
    }),
  );
}

/** What gateway A or B is: its edge's setting, or its build. */
function describe(name) {
  if (comparison) return `${settings.setting}=${settings.values[name]} on its edge`;
  return name === 'A' ? `the build of ${settings.baseline}` : `this tree${gitDirty() ? ' (with uncommitted changes)' : ''}`;
}

function print(report) {
  const what = comparison
    ? `edge setting ${settings.setting}: A=${settings.values.A}, B=${settings.values.B}`
    : `A = ${settings.baseline} (${settings.baselineCommit.slice(0, 12)}), B = this tree${report.dirty ? ' with uncommitted changes' : ''}`;
  const out = ['', `${what} — API key + header row, ${report.settings.rounds} rounds, commit ${report.commit}`, ''];
  out.push(`${'figure'.padEnd(26)}${'A'.padStart(10)}${'B'.padStart(10)}   B ÷ A (median; by round)`);
  for (const [figure, s] of Object.entries(report.summary)) {
    out.push(`${figure.padEnd(26)}${String(s.A).padStart(10)}${String(s.B).padStart(10)}   ${s.medianRatio.toFixed(3)}; ${s.ratiosByRound.map((x) => x.toFixed(2)).join(' ')}`);
  }
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

async function cleanup() {
  await Promise.allSettled(stoppers.reverse().map((stop) => stop()));
}

runToEnd(main, cleanup, settings.deadlineSeconds);
