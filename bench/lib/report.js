'use strict';
// The stdout table, the ratios gateway/direct and the issue 8 targets.
const { round } = require('./load');

const ORDER = ['direct', 'floor-nginx', 'floor-node-pipe', 'gateway-header', 'gateway-full-auth', 'scale-1000-servers', 'scale-10000-user-credentials', 'scale-1000-sessions'];

function fmt(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pad(text, width, right = false) {
  text = String(text);
  if (text.length >= width) return text;
  return right ? text.padStart(width) : text.padEnd(width);
}

/** Compared with direct: throughput ratios, added latency, and the gateway's CPU per call. */
function ratiosOf(report, id) {
  const direct = report.scenarios.direct;
  const s = report.scenarios[id];
  if (!direct || !s) return null;
  return {
    throughputRatioC1: round(s.c1.callsPerSecond / direct.c1.callsPerSecond, 3),
    throughputRatioC32: round(s.c32.callsPerSecond / direct.c32.callsPerSecond, 3),
    addedP50MsC1: round(s.c1.p50Ms - direct.c1.p50Ms, 3),
    addedP99MsC1: round(s.c1.p99Ms - direct.c1.p99Ms, 3),
    p50RatioC1: round(s.c1.p50Ms / direct.c1.p50Ms, 3),
    p99RatioC1: round(s.c1.p99Ms / direct.c1.p99Ms, 3),
  };
}

/**
 * The targets of issue 8. They are stated for full auth: checked against the full-auth run when there is
 * one, else against API key + header (and said so). Each also carries the other gateway scenario's value
 * for comparison (`header`).
 */
function targetsOf(report) {
  const basis = report.scenarios['gateway-full-auth'] ? 'gateway-full-auth' : 'gateway-header';
  const s = report.scenarios[basis];
  const r = ratiosOf(report, basis);
  if (!s || !r) return null;
  const scenarioNote = basis === 'gateway-full-auth' ? 'stated for full auth; checked on full auth' : 'stated for full auth, which is n/a: checked on API key + header instead';
  const note = `${scenarioNote}; edge CPU = ${cpuProcessOf(report)}`;
  const header = basis === 'gateway-full-auth' ? report.scenarios['gateway-header'] : null;
  const headerRatios = header ? ratiosOf(report, 'gateway-header') : null;
  // Each target as a test of a value, and how to read that value off a scenario: the same test is put to the floor, a
  // bare Node hop, which tells a target no Node proxy meets on this host from one the gateway misses (docs/performance.md).
  const floorId = report.scenarios['floor-node-pipe'] ? 'floor-node-pipe' : report.scenarios['floor-nginx'] ? 'floor-nginx' : null;
  const checks = [
    { target: 'added p50 latency at c=1 ≤ 1 ms', unit: 'ms', met: (v) => v <= 1, of: (id) => ratiosOf(report, id)?.addedP50MsC1 },
    { target: 'added p99 latency at c=1 ≤ 3 ms', unit: 'ms', met: (v) => v <= 3, of: (id) => ratiosOf(report, id)?.addedP99MsC1 },
    { target: 'edge CPU per warm call ≤ 250 µs (c=32)', unit: 'µs', met: (v) => v <= 250, of: (id) => report.scenarios[id]?.c32.cpuUsPerCall.proxy },
    { target: 'edge CPU per warm call ≤ 250 µs (c=1)', unit: 'µs', met: (v) => v <= 250, of: (id) => report.scenarios[id]?.c1.cpuUsPerCall.proxy },
    { target: 'throughput at c=32 ≥ 0.6 × direct', unit: '×', met: (v) => v >= 0.6, of: (id) => ratiosOf(report, id)?.throughputRatioC32 },
  ];
  const targets = checks.map(({ target, unit, met, of }) => {
    const value = of(basis);
    const floor = floorId === null ? null : (of(floorId) ?? null);
    return { target, value, unit, met: met(value), header: header ? of('gateway-header') : undefined, floor, floorMet: floor === null ? null : met(floor) };
  });
  const scale = report.scenarios['scale-1000-servers'];
  if (scale) {
    const base = report.scenarios['gateway-header'];
    const throughput = round(scale.c32.callsPerSecond / base.c32.callsPerSecond, 3);
    const p50 = round(scale.c1.p50Ms / base.c1.p50Ms, 3);
    targets.push({ target: '1,000 servers (header): c=32 throughput within 10 % of small run', value: throughput, unit: '×', met: throughput >= 0.9 });
    targets.push({ target: '1,000 servers (header): c=1 p50 within 10 % of small run', value: p50, unit: '×', met: p50 <= 1.1 });
  }
  return { basis, note, floorLabel: floorId && report.scenarios[floorId].label, targets };
}

/** Which process the "edge CPU" (`proxy`) of the gateway rows is. */
function cpuProcessOf(report) {
  return report.topology === 'distributed'
    ? 'the edge-proxy process alone (distributed topology)'
    : 'the all-in-one process (edge + identity + registry + vault + audit writer in one process)';
}

const SERVICE_COLUMNS = [
  ['proxy', 'edge'],
  ['identity', 'identity'],
  ['token-vault', 'vault'],
  ['registry', 'registry'],
  ['audit', 'audit'],
  ['postgres', 'postgres'],
  ['allServices', 'all'],
];

function printReport(report) {
  const out = [];
  const m = report.machine;
  out.push('');
  out.push(`Portcullis benchmark (${report.settings.mode}) — ${report.generatedAt} — commit ${report.commit}${report.dirty ? ' + uncommitted changes' : ''}`);
  out.push(`machine: ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, load average ${m.loadAverageAtEnd}`);
  out.push(`upstream: ${report.upstream}`);
  out.push(`gateway: ${report.gatewayBuild}`);
  out.push(`calls per scenario: ${report.settings.prewarm} pre-warm at c=8; c=1 ${report.settings.warmupC1} warm-up + ${report.settings.callsC1}; c=32 ${report.settings.warmupC32} warm-up + ${report.settings.callsC32}`);
  out.push('');
  const head = [
    pad('scenario', 50),
    pad('c=1 calls/s', 12, true),
    pad('p50 ms', 8, true),
    pad('p99 ms', 8, true),
    pad('c=32 calls/s', 13, true),
    pad('p50 ms', 8, true),
    pad('p99 ms', 8, true),
    pad('proxy CPU µs/call c1/c32', 25, true),
    pad('errors', 7, true),
  ].join(' ');
  out.push(head);
  out.push('-'.repeat(head.length));
  for (const id of ORDER) {
    const s = report.scenarios[id];
    if (s) {
      const cpu = (r) => (r.cpuUsPerCall.proxy === undefined ? '—' : fmt(r.cpuUsPerCall.proxy));
      out.push(
        [
          pad(s.label, 50),
          pad(fmt(s.c1.callsPerSecond), 12, true),
          pad(fmt(s.c1.p50Ms, 3), 8, true),
          pad(fmt(s.c1.p99Ms, 3), 8, true),
          pad(fmt(s.c32.callsPerSecond), 13, true),
          pad(fmt(s.c32.p50Ms, 2), 8, true),
          pad(fmt(s.c32.p99Ms, 2), 8, true),
          pad(`${cpu(s.c1)} / ${cpu(s.c32)}`, 25, true),
          pad(s.c1.errors + s.c32.errors, 7, true),
        ].join(' '),
      );
    } else if (report.notAvailable[id]) {
      out.push(`${pad(report.notAvailable[id].label, 50)} n/a (${report.notAvailable[id].reason})`);
    }
  }
  out.push('');
  if (report.topology === 'distributed') {
    out.push('proxy CPU = user+system time of the proxy process from /proc per measured call: nginx (master+worker), the Node pipe, or,');
    out.push('for the gateway rows, the edge-proxy process ALONE (the other services are separate processes, listed below).');
    out.push('Read once all the gateway\'s processes are quiet before and after the measured calls, so work they leave behind');
    out.push('(the audit service\'s queue) is counted. Time they took to go quiet after the measured calls, c1 / c32:');
  } else {
    out.push('proxy CPU = user+system time of the proxy process from /proc per measured call: nginx (master+worker), the Node pipe, or');
    out.push('the all-in-one process (edge + every other service in it; its embedded PostgreSQL is in `proxyTree` in the JSON).');
    out.push('Read once the proxy is quiet before and after the measured calls, so work they leave behind (the audit writer\'s');
    out.push('queue) is counted. Time the proxy took to go quiet after the measured calls, c1 / c32:');
  }
  for (const id of ORDER) {
    const s = report.scenarios[id];
    if (!s || s.c1.settleMsAfter === undefined || !/^gateway/.test(s.label)) continue;
    out.push(`  ${pad(s.label, 50)} ${fmt(s.c1.settleMsAfter / 1000, 1)} s / ${fmt(s.c32.settleMsAfter / 1000, 1)} s`);
  }
  if (report.topology === 'distributed') {
    out.push('');
    out.push('CPU µs per call of each gateway process, c=1 / c=32 (postgres = the backends of this run\'s database; NATS not counted):');
    out.push(pad('', 50) + SERVICE_COLUMNS.map(([, h]) => pad(h, 12, true)).join(''));
    for (const id of ORDER) {
      const s = report.scenarios[id];
      if (!s || !/^gateway/.test(s.label)) continue;
      out.push(pad(s.label, 50) + SERVICE_COLUMNS.map(([key]) => pad(`${fmt(s.c1.cpuUsPerCall[key])}/${fmt(s.c32.cpuUsPerCall[key])}`, 12, true)).join(''));
    }
  }
  out.push('');
  out.push(pad('compared with direct', 50) + ['c=1 ×', 'c=32 ×', '+p50 ms c1', '+p99 ms c1'].map((h) => pad(h, 12, true)).join(''));
  for (const id of ORDER) {
    if (id === 'direct' || !report.scenarios[id]) continue;
    const r = ratiosOf(report, id);
    out.push(
      pad(report.scenarios[id].label, 50) +
        [fmt(r.throughputRatioC1, 2), fmt(r.throughputRatioC32, 2), fmt(r.addedP50MsC1, 3), fmt(r.addedP99MsC1, 3)].map((v) => pad(v, 12, true)).join(''),
    );
  }
  if (report.targets) {
    out.push('');
    out.push(`issue 8 targets (${report.targets.note}):`);
    const withHeader = report.targets.basis === 'gateway-full-auth';
    const floorHead = report.targets.floorLabel ? pad('(the floor)', 14, true) : '';
    out.push(`           ${pad('target', 64)} ${pad(withHeader ? 'full auth' : 'measured', 12, true)}${withHeader ? pad('(API key + header)', 20, true) : ''}${floorHead}`);
    for (const t of report.targets.targets) {
      const digits = t.unit === 'µs' ? 0 : 3;
      const other = withHeader && t.header !== undefined && t.header !== null ? pad(`(${fmt(t.header, digits)} ${t.unit})`, 20, true) : '';
      const floor = t.floor !== undefined && t.floor !== null ? pad(`(${fmt(t.floor, digits)} ${t.unit})`, 14, true) + (t.met || t.floorMet ? '' : '  missed by the floor as well') : '';
      out.push(`  ${t.met ? 'met    ' : 'NOT met'}  ${pad(t.target, 64)} ${pad(`${fmt(t.value, digits)} ${t.unit}`, 12, true)}${other}${floor}`);
    }
    if (report.targets.floorLabel) {
      out.push(`  the floor = ${report.targets.floorLabel}, put to the same test: a target a bare hop misses as well cannot be read off this host`);
    }
  }
  const printProfile = (title, profile) => {
    out.push('');
    out.push(`${title} (${profile.windowed ? 'measured calls only' : 'whole run'}; ${profile.busyMs} ms busy of ${profile.sampledMs} ms sampled), self time:`);
    out.push('  by owner:');
    for (const o of profile.topOwners.slice(0, 15)) out.push(`    ${pad(fmt(o.percentOfBusy, 1), 5, true)} %  ${o.name}`);
    out.push('  inclusive (time with this owner anywhere on the stack):');
    for (const o of profile.inclusiveOwners.slice(0, 12)) out.push(`    ${pad(fmt(o.percentOfBusy, 1), 5, true)} %  ${o.name}`);
    out.push('  top frames:');
    for (const f of profile.topSelfFrames.slice(0, 25)) out.push(`    ${pad(fmt(f.percentOfBusy, 1), 5, true)} %  ${f.name}`);
  };
  const fullAuthProfile = report.profileByScenario?.['gateway-full-auth'];
  const profiled = report.topology === 'distributed' ? 'edge-proxy process' : 'all-in-one process';
  if (fullAuthProfile && fullAuthProfile.sampledMs > 0) printProfile(`gateway CPU profile (${profiled}), full auth`, fullAuthProfile);
  else if (report.profile) printProfile(`gateway CPU profile (${profiled}), all gateway scenarios`, report.profile);
  if (report.profileIdle) {
    out.push(`  while idle (${report.profileIdle.busyMs} ms busy of ${report.profileIdle.sampledMs} ms): ${report.profileIdle.topSelfFrames.slice(0, 5).map((f) => `${f.name} ${f.percentOfBusy} %`).join('; ')}`);
  }
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

module.exports = { printReport, targetsOf, ratiosOf };
