#!/usr/bin/env node
'use strict';
// `npm run bench -- --instructions [--baseline REF]`: the edge's instructions per proxied call, counted by valgrind's
// callgrind rather than timed, so that a change of a few per cent shows on a machine whose CPU time per call swings
// by a third from one run to the next. The edge-proxy of a distributed gateway runs under callgrind with
// instrumentation off (at near-native speed) until it is warm; then, round by round, instrumentation is switched on
// for a fixed number of API key + header calls at concurrency 8, the counts are dumped and split into V8's garbage
// collector, its compilers (which still optimize and deoptimize in the rounds) and the rest: what the calls run.
// With `--baseline REF` the build of REF (bench/lib/baseline.js) runs beside this tree, both at once (instruction
// counts do not depend on what else the machine does). Writes bench/results/latest-instructions.json.
// Read the rest's lowest round against the other's: A/A runs gave 0.98 that way, single rounds 0.89–1.09.
//
//   npm run bench -- --instructions --baseline HEAD          # about 4 minutes here
//   npm run bench -- --instructions --rounds 8 --calls 3000
//   npm run bench -- --instructions --floor                   # and the plain Node pipe: the edge as a multiple of it
//   npm run bench -- --instructions --edge-flags --min-semi-space-size=16   # this tree against itself with node flags
//   npm run bench -- --instructions --edge-env AUDIT_BATCH_LINGER_MS=1000   # settings for every counted edge
//
// Needs valgrind (callgrind_control, callgrind_annotate); node runs with --single-threaded under it, so that work V8
// would do on helper threads is counted the same way each time. Instructions are not time: a syscall's kernel work
// is not counted at all, a cache miss costs one instruction.
const { execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdtempSync, readdirSync, rmSync } = require('node:fs');
const { mkdir, writeFile } = require('node:fs/promises');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');
const { measure, round } = require('./lib/load');
const { log, commandLine, buildDist, machine, gitCommit, gitDirty, runToEnd } = require('./lib/harness');
const { Child, startListeningScript } = require('./lib/processes');
const { registerHeaderServer, createAgentKey, grantUse, repoRoot } = require('./lib/gateway');
const { startDistributedGateway } = require('./lib/distributed');
const { prepareBaseline } = require('./lib/baseline');

const { flag, option } = commandLine();
const settings = {
  baseline: option('--baseline', null),
  // Node flags for B's edge only; A is then this tree without them (e.g. `--edge-flags --min-semi-space-size=16`).
  edgeFlags: option('--edge-flags', null),
  // Also count the floor (bench/pipe-proxy.js, a plain Node http hop) in the same rounds: the edge as a multiple of it.
  floor: flag('--floor'),
  // Settings for every counted edge, NAME=VALUE[,NAME=VALUE]: e.g. AUDIT_BATCH_LINGER_MS=1000 (its most), so that audit batches
  // under valgrind's slowdown carry nearer as many events as at native speed (see docs/performance.md).
  edgeEnv: option('--edge-env', null),
  rounds: Number(option('--rounds', 5)),
  calls: Number(option('--calls', 2000)),
  prewarm: Number(option('--prewarm', 1500)),
  concurrency: 8,
  build: !flag('--no-build'),
  deadlineSeconds: Number(option('--deadline', 1800)),
};
const EDGE_ENV = Object.fromEntries(
  (settings.edgeEnv?.split(',') ?? []).map((pair) => {
    const equals = pair.indexOf('=');
    if (equals < 1) throw new Error(`--edge-env takes NAME=VALUE[,NAME=VALUE], not ${pair}`);
    return [pair.slice(0, equals), pair.slice(equals + 1)];
  }),
);
const outFile = option('--out', join(__dirname, 'results', 'latest-instructions.json'));
const ROW_PATH = '/mcp/bench-echo';
const stoppers = [];
// callgrind names its control pipes after the process's USER and HOST; the services get HOST=127.0.0.1 and no USER.
const CONTROL_ENV = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1' };
/** V8's garbage collector and its compilers, by C++ symbol (node's own binary); everything else is "rest". */
const GC = /Scaveng|Marking|MarkCompact|Sweep|Evacuat|heap::base|Pretenuring|RememberedSet|SlotSet|MemoryChunk|ConcurrentMarking|IncrementalMarking|GCTracer|MarkBit|Heap::|Worklist|Compactor|ObjectVisitor|BodyDescriptor/;
const COMPILE = /compiler::|[Mm]aglev|Parser|Bytecode|Compil|Deoptimiz|Scanner|AstValue|turboshaft|RegExpMacro|interpreter::|Ast[A-Z]|Scope::|FeedbackVector::|SharedFunctionInfo::|Zone::/;

async function main() {
  for (const tool of ['valgrind', 'callgrind_control', 'callgrind_annotate']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing: install Debian's valgrind package`);
    }
  }
  if (settings.build) buildDist();
  const upstreamKey = `bench-upstream-${randomBytes(16).toString('hex')}`;
  const upstream = await startListeningScript('upstream', join(__dirname, 'upstream.js'), { UPSTREAM_API_KEY: upstreamKey, UPSTREAM_MODE: 'stateless' });
  stoppers.push(() => upstream.stop('SIGTERM', 5000));
  const dumps = mkdtempSync(join(tmpdir(), 'portcullis-callgrind-'));
  stoppers.push(async () => rmSync(dumps, { recursive: true, force: true }));
  const tree = `this tree${gitDirty() ? ' (with uncommitted changes)' : ''}`;
  const builds = [{ name: 'B', root: repoRoot, what: settings.edgeFlags === null ? tree : `${tree}, its edge with ${settings.edgeFlags}`, edgeFlags: settings.edgeFlags?.split(/\s+/) ?? [] }];
  if (settings.edgeFlags !== null && settings.baseline !== null) throw new Error('--edge-flags compares this tree with itself: no --baseline with it');
  if (settings.edgeFlags !== null) builds.unshift({ name: 'A', root: repoRoot, what: tree, edgeFlags: [] });
  if (settings.baseline !== null) {
    const baseline = prepareBaseline(settings.baseline);
    stoppers.push(baseline.remove);
    settings.baselineCommit = baseline.commit;
    builds.unshift({ name: 'A', root: baseline.root, what: `the build of ${settings.baseline}`, edgeFlags: [] });
  }
  const gateways = await Promise.all(builds.map((build) => startEdgeUnderCallgrind(build, upstream.port, upstreamKey, dumps)));
  if (settings.floor) {
    const floor = { name: 'F', what: 'the floor: a plain Node http pipe (bench/pipe-proxy.js)' };
    builds.push(floor);
    gateways.push(await startFloorUnderCallgrind(floor, upstream.port, upstreamKey, dumps));
  }
  const runs = Object.fromEntries(builds.map((build) => [build.name, []]));
  for (let r = 1; r <= settings.rounds; r++) {
    const counted = await Promise.all(gateways.map((gateway) => countRound(gateway, r, dumps)));
    for (const [i, build] of builds.entries()) {
      runs[build.name].push(counted[i]);
      log(`round ${r}/${settings.rounds}, ${build.name} (${build.what}): instructions per call ${counted[i].total} (gc ${counted[i].gc}, compile ${counted[i].compile}, rest ${counted[i].rest})`);
    }
  }
  const report = { generatedAt: new Date().toISOString(), commit: gitCommit(), dirty: gitDirty(), machine: machine(), settings, builds: builds.map(({ name, what }) => ({ name, what })), runs, summary: summarize(runs) };
  await mkdir(join(__dirname, 'results'), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  print(report);
  log(`wrote ${relative(process.cwd(), outFile) || outFile}`);
}

/** valgrind's command line for a process counted as `name` (instrumentation off until a round switches it on). */
function callgrind(name, dumps) {
  return ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${join(dumps, `${name}.%p`)}`];
}

async function startEdgeUnderCallgrind(build, upstreamPort, upstreamKey, dumps) {
  log(`starting gateway ${build.name} (distributed, its edge under callgrind), ${build.what}`);
  const gateway = await startDistributedGateway({
    root: build.root,
    launcherFor: (app) => (app === 'edge-proxy' ? callgrind(build.name, dumps) : []),
    nodeArgsFor: (app) => (app === 'edge-proxy' ? ['--single-threaded', ...build.edgeFlags] : []),
    envFor: (app) => (app === 'edge-proxy' ? EDGE_ENV : {}),
  });
  stoppers.push(() => gateway.stop());
  await registerHeaderServer(gateway, 'bench-echo', `http://127.0.0.1:${upstreamPort}/mcp`, upstreamKey);
  gateway.headers = { authorization: `Bearer ${await createAgentKey(gateway)}` };
  await grantUse(gateway, 'bench-echo');
  log(`gateway ${build.name}: pre-warming with ${settings.prewarm} calls at concurrency 8 (not counted)`);
  await measure({ origin: gateway.edgeUrl, path: ROW_PATH, headers: gateway.headers, concurrency: 8, calls: settings.prewarm, warmup: 0 });
  gateway.build = build;
  return gateway;
}

/** The Node pipe under callgrind in front of the same upstream; its caller sends the upstream's key itself. */
async function startFloorUnderCallgrind(build, upstreamPort, upstreamKey, dumps) {
  log(`starting ${build.what} under callgrind`);
  const [command, ...args] = [...callgrind(build.name, dumps), process.execPath, '--single-threaded', join(__dirname, 'pipe-proxy.js')];
  const child = new Child('node-pipe-proxy', command, args, { ...CONTROL_ENV, UPSTREAM: `http://127.0.0.1:${upstreamPort}` });
  stoppers.push(() => child.stop('SIGTERM', 10_000));
  const [, port] = await child.waitFor(/listening (\d+)/, 120_000);
  const floor = { pid: child.pid, edgeUrl: `http://127.0.0.1:${port}`, path: '/mcp', headers: { 'x-api-key': upstreamKey }, build };
  log(`floor: pre-warming with ${settings.prewarm} calls at concurrency 8 (not counted)`);
  await measure({ origin: floor.edgeUrl, path: floor.path, headers: floor.headers, concurrency: 8, calls: settings.prewarm, warmup: 0 });
  return floor;
}

/** One round: counters zeroed, instrumentation on for the calls, the counts dumped and split. */
async function countRound(gateway, r, dumps) {
  const control = (...args) => execFileSync('callgrind_control', [...args, String(gateway.pid)], { env: CONTROL_ENV, stdio: 'ignore' });
  control('--zero');
  control('--instr=on');
  await measure({ origin: gateway.edgeUrl, path: gateway.path ?? ROW_PATH, headers: gateway.headers, concurrency: settings.concurrency, calls: settings.calls, warmup: 0 });
  control(`--dump=round${r}`);
  control('--instr=off');
  const prefix = `${gateway.build.name}.${gateway.pid}.`;
  const last = readdirSync(dumps)
    .filter((file) => file.startsWith(prefix))
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .pop();
  if (last === undefined) throw new Error(`callgrind wrote no dump for gateway ${gateway.build.name}`);
  return split(join(dumps, last));
}

/** Instructions per call in one dump: in all, and in V8's garbage collector, its compilers and the rest. */
function split(file) {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', file], { maxBuffer: 256 * 1024 * 1024 }).toString();
  const sums = { total: 0, gc: 0, compile: 0 };
  for (const line of text.split('\n')) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!match || match[2].includes('PROGRAM TOTALS')) continue;
    const count = Number(match[1].replace(/,/g, ''));
    sums.total += count;
    if (GC.test(match[2])) sums.gc += count;
    else if (COMPILE.test(match[2])) sums.compile += count;
  }
  const perCall = (value) => Math.round(value / settings.calls);
  return { total: perCall(sums.total), gc: perCall(sums.gc), compile: perCall(sums.compile), rest: perCall(sums.total - sums.gc - sums.compile) };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Per gateway and part: lowest and median round, and B ÷ A round by round with its median (the first round, whose code callgrind has just begun to see, left out of both). */
function summarize(runs) {
  const parts = ['rest', 'gc', 'total'];
  const of = (name) =>
    Object.fromEntries(
      parts.map((part) => {
        const values = runs[name].slice(runs[name].length > 1 ? 1 : 0).map((run) => run[part]);
        return [part, { lowest: Math.min(...values), median: median(values) }];
      }),
    );
  const summary = Object.fromEntries(Object.keys(runs).map((name) => [name, of(name)]));
  if (summary.A && summary.B) {
    // Lowest round against lowest round: a round in which a full collection fell does extra work after it (caches and
    // inline caches refilled), so the lowest is the cleanest; a full collection in one gateway's round and not the
    // other's moves a single round's ratio by up to ±10 % (A/A runs, docs/performance.md).
    summary.ratio = Object.fromEntries(
      parts.map((part) => {
        const byRound = runs.A.map((a, i) => round(runs.B[i][part] / a[part], 3));
        return [part, { lowest: round(summary.B[part].lowest / summary.A[part].lowest, 3), median: median(byRound.slice(byRound.length > 1 ? 1 : 0)), byRound }];
      }),
    );
  }
  if (summary.F) {
    // What the edge (B) executes per call as a multiple of what one plain hop does: the same on any host.
    summary.overFloor = Object.fromEntries(parts.map((part) => [part, { lowest: round(summary.B[part].lowest / summary.F[part].lowest, 3), median: round(summary.B[part].median / summary.F[part].median, 3) }]));
  }
  return summary;
}

function print(report) {
  const out = ['', `edge instructions per API key + header call (callgrind), ${report.settings.rounds} rounds of ${report.settings.calls} calls at c=${report.settings.concurrency}, commit ${report.commit}`];
  for (const build of report.builds) out.push(`  ${build.name} = ${build.what}`);
  out.push('', `${'gateway'.padEnd(10)}${'rest lowest'.padStart(14)}${'rest median'.padStart(14)}${'gc median'.padStart(12)}${'total median'.padStart(15)}`);
  for (const build of report.builds) {
    const s = report.summary[build.name];
    out.push(`${build.name.padEnd(10)}${String(s.rest.lowest).padStart(14)}${String(s.rest.median).padStart(14)}${String(s.gc.median).padStart(12)}${String(s.total.median).padStart(15)}`);
  }
  if (report.summary.ratio) {
    out.push('', 'B ÷ A: lowest round against lowest round; median of the rounds (2 on); round by round:');
    for (const [part, ratio] of Object.entries(report.summary.ratio)) out.push(`  ${part.padEnd(6)} ${ratio.lowest.toFixed(3)}; ${ratio.median.toFixed(3)}; ${ratio.byRound.map((x) => x.toFixed(2)).join(' ')}`);
  }
  if (report.summary.overFloor) {
    out.push('', 'B ÷ the floor (F): lowest against lowest; median against median:');
    for (const [part, ratio] of Object.entries(report.summary.overFloor)) out.push(`  ${part.padEnd(6)} ${ratio.lowest.toFixed(3)}; ${ratio.median.toFixed(3)}`);
  }
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

async function cleanup() {
  for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => undefined);
}

runToEnd(main, cleanup, settings.deadlineSeconds);
