'use strict';
// Reads a V8 `.cpuprofile` (node --cpu-prof) and sums self time per function and per package,
// optionally only over a time window (the measured gateway calls, not start-up).
const { readFileSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

function newestProfile(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return null;
  files.sort();
  return join(dir, files[files.length - 1]);
}

/** Where a frame's code lives: a package, a Portcullis project, Node internals, or a V8 pseudo-frame. */
function owner(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = /\/dist\/(apps|libs)\/([^/]+)\//.exec(url);
  if (dist) return `portcullis ${dist[1]}/${dist[2]}`;
  return url;
}

function shortUrl(url) {
  if (!url) return '';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time per frame and per owner. `window` = `{ startUs, endUs }` on the monotonic clock
 * (the same clock as `process.hrtime`), to keep only the samples taken while calls were measured.
 */
function summarize(file, window, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (window && (t < window.startUs || t > window.endUs)) continue;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
    total += delta;
  }
  // Inclusive time per owner: a sample counts for every owner on its stack (once), e.g. all time under `pg`.
  const stackOwners = new Map();
  const walk = (node, inherited) => {
    const mine = new Set(inherited);
    mine.add(owner(node.callFrame.url, node.callFrame.functionName || '(anonymous)'));
    stackOwners.set(node.id, mine);
    for (const child of node.children ?? []) walk(nodes.get(child), mine);
  };
  walk(profile.nodes[0], new Set());
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    if (nodes.get(id).callFrame.functionName === '(idle)') continue;
    for (const who of stackOwners.get(id) ?? []) if (!who.startsWith('(')) inclusive.set(who, (inclusive.get(who) ?? 0) + us);
  }
  const frames = new Map();
  const owners = new Map();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    frames.set(key, (frames.get(key) ?? 0) + us);
    const who = owner(url, functionName || '(anonymous)');
    owners.set(who, (owners.get(who) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percentOfBusy: Math.round((us / busy) * 1000) / 10 }));
  return { file, windowed: Boolean(window), sampledMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), topSelfFrames: rank(frames), topOwners: rank(owners), inclusiveOwners: rank(inclusive) };
}

module.exports = { newestProfile, summarize };

/** Who calls a frame: `node bench/lib/profile.js <file.cpuprofile> <function name>` prints its heaviest call stacks. */
function callers(file, functionName, depth = 12, top = 8) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map();
  profile.samples.forEach((id, i) => hits.set(id, (hits.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
  const stacks = new Map();
  for (const [id, us] of hits) {
    if (nodes.get(id).callFrame.functionName !== functionName) continue;
    const frames = [];
    for (let at = id; at !== undefined && frames.length < depth; at = parent.get(at)) {
      const { functionName: name, url, lineNumber } = nodes.get(at).callFrame;
      frames.push(`${name || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`);
    }
    const key = frames.join('\n    ← ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  return [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}

module.exports.callers = callers;

if (require.main === module) {
  const [file, name] = process.argv.slice(2);
  if (!name) {
    const s = summarize(file, null, 40);
    for (const f of s.topSelfFrames) console.log(`${f.percentOfBusy.toFixed(1).padStart(5)} %  ${f.name}`);
  } else {
    for (const [stack, us] of callers(file, name)) console.log(`${(us / 1000).toFixed(1)} ms\n    ${stack}\n`);
  }
}
