'use strict';
// What the benchmark scripts (bench/run.js, bench/scale.js, bench/compare.js) do around their measurements: read their flags,
// build the tree, describe the machine and the commit, and end cleanly on success, failure, a signal or the deadline.
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { cpus, totalmem, release } = require('node:os');
const { join } = require('node:path');
const { round } = require('./load');
const { repoRoot } = require('./gateway');

const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** `flag('--x')` and `option('--x', fallback)` over the script's arguments. */
function commandLine(args = process.argv.slice(2)) {
  return {
    flag: (name) => args.includes(name),
    option: (name, fallback) => {
      const i = args.indexOf(name);
      return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
    },
  };
}

/**
 * How many calls a script makes per measurement, from its flags: `defaults` holds the script's own
 * { prewarm, warmupC1, callsC1, warmupC32, callsC32 }, each overridden by `--prewarm`, `--warmup-c1`, ….
 */
function callCounts(option, defaults) {
  return {
    prewarm: Number(option('--prewarm', defaults.prewarm)),
    warmupC1: Number(option('--warmup-c1', defaults.warmupC1)),
    callsC1: Number(option('--calls-c1', defaults.callsC1)),
    warmupC32: Number(option('--warmup-c32', defaults.warmupC32)),
    callsC32: Number(option('--calls-c32', defaults.callsC32)),
  };
}

/** `tsc -b tsconfig.build.json` in `root` (this checkout unless told otherwise), so the figures are of that tree as it is. */
function buildDist(root = repoRoot) {
  log(`building (tsc -b tsconfig.build.json)${root === repoRoot ? '' : ` in ${root}`}`);
  const tsc = require.resolve('typescript/bin/tsc', { paths: [repoRoot] });
  const build = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  if (build.status !== 0) throw new Error('the build failed; see above (or pass --no-build to bench the dist/ there is)');
}

function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return { nproc: cpus().length, cpuModel: model, memoryGiB: round(totalmem() / 2 ** 30, 1), kernel: release(), node: process.version };
}

function gitCommit() {
  const out = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot });
  return out.status === 0 ? out.stdout.toString().trim() : null;
}

/** Whether `apps/` or `libs/` have uncommitted changes (null outside a git checkout). */
function gitDirty() {
  const out = spawnSync('git', ['status', '--porcelain', '--', 'apps', 'libs'], { cwd: repoRoot });
  return out.status === 0 ? out.stdout.toString().trim().length > 0 : null;
}

/** Runs `main`, then `cleanup` whatever happens: success, failure (exit 1), SIGINT/SIGTERM (130) or the deadline (2). */
function runToEnd(main, cleanup, deadlineSeconds) {
  const watchdog = setTimeout(() => {
    log(`the run passed its ${deadlineSeconds} s deadline; stopping`);
    cleanup().finally(() => process.exit(2));
  }, deadlineSeconds * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      cleanup().finally(() => process.exit(130));
    });
  }
  main()
    .then(async () => {
      await cleanup();
      clearTimeout(watchdog);
    })
    .catch(async (error) => {
      process.stderr.write(`bench: failed: ${error?.stack ?? error}\n`);
      await cleanup();
      process.exit(1);
    });
}

module.exports = { log, commandLine, callCounts, buildDist, machine, gitCommit, gitDirty, runToEnd };
