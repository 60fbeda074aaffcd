'use strict';
// The in-process load generator: MCP `tools/call` JSON-RPC POSTs over undici keep-alive connections.
const { Pool } = require('undici');
const { processCpuUs, treeCpuUs } = require('./processes');

const PROTOCOL_VERSION = '2025-06-18';
const MESSAGE = 'hello from the portcullis benchmark';

/** A target: where to POST and with which extra headers (the gateway's `Authorization`). */
function mcpHeaders(extra = {}) {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL_VERSION,
    ...extra,
  };
}

function toolCallBody(id) {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: MESSAGE } } });
}

/** Checks one answer is the echo result for request `id`; returns an error string or null. */
function checkAnswer(statusCode, text, id) {
  if (statusCode !== 200) return `HTTP ${statusCode}: ${text.slice(0, 300)}`;
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    // An SSE answer (`enableJsonResponse: false` upstreams): take the first data line.
    const data = /^data: (.*)$/m.exec(text);
    if (!data) return `not JSON: ${text.slice(0, 300)}`;
    message = JSON.parse(data[1]);
  }
  if (message.id !== id) return `answer id ${message.id} for request ${id}`;
  if (message.error) return `JSON-RPC error ${JSON.stringify(message.error).slice(0, 300)}`;
  if (message.result?.content?.[0]?.text !== MESSAGE) return `unexpected result ${JSON.stringify(message.result).slice(0, 300)}`;
  return null;
}

/** One keep-alive pool per target and concurrency; the first requests open the connections. */
function openPool(origin, connections) {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
}

/** Opens one MCP session (initialize + notifications/initialized) and returns its id, for stateful upstreams. */
async function openSession(pool, path, headers) {
  const init = await pool.request({
    path,
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'portcullis-bench', version: '1.0.0' } } }),
  });
  const text = await init.body.text();
  const sessionId = init.headers['mcp-session-id'];
  if (init.statusCode !== 200 || typeof sessionId !== 'string') throw new Error(`initialize answered HTTP ${init.statusCode} without a session: ${text.slice(0, 300)}`);
  const withSession = { ...headers, 'mcp-session-id': sessionId };
  const note = await pool.request({ path, method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await note.body.dump();
  return withSession;
}

async function oneCall(pool, path, headers, id) {
  const started = process.hrtime.bigint();
  const { statusCode, body } = await pool.request({ path, method: 'POST', headers, body: toolCallBody(id) });
  const text = await body.text();
  const elapsedNs = process.hrtime.bigint() - started;
  return { error: checkAnswer(statusCode, text, id), ms: Number(elapsedNs) / 1e6 };
}

/**
 * Sends `calls` requests with `concurrency` in flight; returns latencies (ms) and errors.
 * `headers` is one header set, or one per worker (each worker its own MCP session).
 */
async function drive(pool, path, headers, concurrency, calls, idBase) {
  const latencies = new Float64Array(calls);
  let next = 0;
  let errors = 0;
  let firstError = null;
  const worker = async (_, w) => {
    const own = Array.isArray(headers) ? headers[w] : headers;
    for (;;) {
      const index = next++;
      if (index >= calls) return;
      try {
        const { error, ms } = await oneCall(pool, path, own, idBase + index);
        latencies[index] = ms;
        if (error) {
          errors++;
          firstError ??= error;
        }
      } catch (error) {
        latencies[index] = NaN;
        errors++;
        firstError ??= String(error?.message ?? error);
      }
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, seconds, errors, firstError };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Measures one scenario at one concurrency: `warmup` calls (not counted), then `calls` calls.
 * `cpu` lists processes whose CPU time is read from /proc before and after the measured calls:
 * `{ label, pid, tree }` (tree: the process and its descendants) or `{ label, read }` (read() gives µs, e.g. the
 * PostgreSQL backends of one database).
 */
function readCpuUs(p) {
  if (p.read) return p.read();
  return p.tree ? treeCpuUs(p.pid) : processCpuUs(p.pid);
}

async function measure({ origin, path, headers, concurrency, calls, warmup, cpu = [], sessions = false, settle = null }) {
  const pool = openPool(origin, concurrency);
  try {
    // With a stateful upstream every worker opens its own session first (not measured), and keeps it.
    const allHeaders = sessions
      ? await Promise.all(Array.from({ length: concurrency }, () => openSession(pool, path, mcpHeaders(headers))))
      : mcpHeaders(headers);
    if (warmup > 0) {
      const warm = await drive(pool, path, allHeaders, concurrency, warmup, 1);
      if (warm.errors === warmup) throw new Error(`every warm-up call failed; first: ${warm.firstError}`);
    }
    // Work the warm-up left behind (e.g. the audit writer's queue) finishes before the CPU is read, and the
    // measured calls' own left-over work is counted: after them the CPU is read once the proxy is quiet again.
    const settledBefore = settle ? await settle() : null;
    const cpuBefore = cpu.map(readCpuUs);
    const clientBefore = process.cpuUsage();
    const run = await drive(pool, path, allHeaders, concurrency, calls, 1_000_000);
    const client = process.cpuUsage(clientBefore);
    const drainStartUs = Number(process.hrtime.bigint() / 1000n);
    const settledAfter = settle ? await settle() : null;
    const drainEndUs = Number(process.hrtime.bigint() / 1000n);
    const cpuAfter = cpu.map(readCpuUs);
    const sorted = Array.from(run.latencies).filter((ms) => Number.isFinite(ms)).sort((a, b) => a - b);
    const ok = calls - run.errors;
    const result = {
      concurrency,
      calls,
      errors: run.errors,
      firstError: run.firstError,
      seconds: round(run.seconds, 3),
      callsPerSecond: round(ok / run.seconds, 0),
      p50Ms: round(percentile(sorted, 50), 3),
      p90Ms: round(percentile(sorted, 90), 3),
      p99Ms: round(percentile(sorted, 99), 3),
      maxMs: round(sorted[sorted.length - 1], 3),
      meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 3),
      loadGeneratorCpuUsPerCall: round((client.user + client.system) / calls, 1),
      cpuUsPerCall: {},
      ...(settle ? { settleMsBefore: settledBefore, settleMsAfter: settledAfter } : {}),
      // Not in the JSON: where the profile's "after the calls" window is.
      drainWindow: settle ? { startUs: drainStartUs, endUs: drainEndUs } : undefined,
    };
    cpu.forEach((p, i) => {
      result.cpuUsPerCall[p.label] = round((cpuAfter[i] - cpuBefore[i]) / calls, 1);
    });
    return result;
  } finally {
    await pool.close();
  }
}

/**
 * One row measured at c=1, then at c=32 (`counts`: { warmupC1, callsC1, warmupC32, callsC32 }); throws when any
 * measured call failed. Returns { c1, c32 } as `measure` gives them, without the profile's drain window.
 */
async function measureAtBothConcurrencies(target, { cpu, settle, counts }) {
  const result = {};
  for (const [key, concurrency, warmup, calls] of [
    ['c1', 1, counts.warmupC1, counts.callsC1],
    ['c32', 32, counts.warmupC32, counts.callsC32],
  ]) {
    result[key] = await measure({ ...target, concurrency, calls, warmup, cpu, settle });
    delete result[key].drainWindow;
    if (result[key].errors > 0) throw new Error(`${result[key].errors} of ${calls} calls to ${target.origin}${target.path} failed; first: ${result[key].firstError}`);
  }
  return result;
}

function round(value, digits) {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

module.exports = { measure, measureAtBothConcurrencies, openSession, mcpHeaders, toolCallBody, checkAnswer, round, PROTOCOL_VERSION };
