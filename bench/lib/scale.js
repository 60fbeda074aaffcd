'use strict';
// The scale run's building blocks (issue 8, `npm run bench -- --scale`): seeding a gateway with many users,
// their per-user credentials and many servers with collaborators, all through the admin REST API; opening many
// MCP sessions through the edge and holding them open; reading a process's resident memory.
const { randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { Pool, request } = require('undici');
const { admin } = require('./gateway');
const { mcpHeaders, PROTOCOL_VERSION } = require('./load');
const { round } = require('./load');

/** The header template of the per-user server: each user's own `API_KEY` goes in it (DESIGN §5, `per_user`). */
const PER_USER_TEMPLATE = { 'X-Api-Key': '{{API_KEY}}' };

/**
 * Runs `task(index)` for `count` indexes with at most `parallel` in flight; the first failure stops the rest and
 * is thrown. Returns the step's timing (`count`, `seconds`, `perSecond`).
 */
async function inBatches(count, parallel, task) {
  let next = 0;
  let failed = null;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (failed === null) {
      const index = next++;
      if (index >= count) return;
      try {
        await task(index);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.max(count, 1)) }, worker));
  if (failed) throw failed;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { count, seconds: round(seconds, 1), perSecond: round(count / seconds, 0) };
}

/** A `per_user` header server: each user's value comes from the vault, set by a manager or the user. */
function registerPerUserServer(gateway, slug, upstreamUrl) {
  return admin(gateway, 'POST', '/api/v1/servers', { slug, name: `bench ${slug}`, url: upstreamUrl, authType: 'header', headerMode: 'per_user', headers: PER_USER_TEMPLATE });
}

/**
 * A user sets their own value on a per-user server at the edge: `PUT {PUBLIC_URL}/me/credentials/{slug}` with their
 * own API key, the route every user has (a manager's `PUT /api/v1/servers/{slug}/credentials/{userId}` would do too).
 */
async function putOwnCredential(gateway, slug, token, apiKey) {
  const { statusCode, body } = await request(`${gateway.edgeUrl}/me/credentials/${slug}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ values: { API_KEY: apiKey } }),
  });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`PUT /me/credentials/${slug} answered ${statusCode}: ${text.slice(0, 300)}`);
}

const scaleUserEmail = (index) => `scale-user-${String(index).padStart(5, '0')}@bench.example`;

/**
 * Seeds `gateway` through its admin REST API:
 *  1. `users` users, each created with a gateway API key of their own (`POST /api/v1/api-keys`, `ownerEmail`);
 *  2. each user's own credential on the per-user server `perUserSlug`, set by the user with their key at the edge
 *     (`PUT /me/credentials/{slug}`; the vault seals one value per user), and `team:everyone` may use that server;
 *  3. `fillerServers` more servers (header, global, each with its own sealed key in the vault), each with
 *     `collaboratorsPerServer` user collaborators (`POST /api/v1/servers/{slug}/collaborators`).
 * `parallel` requests are in flight at a time. Returns the users (`{ userId, token }`) and the timing of each step.
 */
async function seedScale(gateway, { users, fillerServers, collaboratorsPerServer, perUserSlug, upstreamUrl, upstreamKey, parallel, log }) {
  const seeded = new Array(users);
  const steps = {};
  log(`scale: creating ${users.toLocaleString('en-US')} users, each with an API key (POST /api/v1/api-keys), ${parallel} requests at a time`);
  steps.usersWithApiKeys = await inBatches(users, parallel, async (i) => {
    const created = await admin(gateway, 'POST', '/api/v1/api-keys', { name: `scale user ${i}`, ownerEmail: scaleUserEmail(i) });
    seeded[i] = { userId: created.apiKey.ownerUserId, token: created.token };
  });
  log(`  ${steps.usersWithApiKeys.seconds} s (${steps.usersWithApiKeys.perSecond}/s)`);

  // Only a principal with access to a server may set a value on it.
  await admin(gateway, 'POST', `/api/v1/servers/${perUserSlug}/collaborators`, { subject: 'team:everyone', role: 'user' });
  log(`scale: each user stores their own credential in the vault (PUT /me/credentials/${perUserSlug} with their API key)`);
  steps.perUserCredentials = await inBatches(users, parallel, (i) => putOwnCredential(gateway, perUserSlug, seeded[i].token, upstreamKey));
  log(`  ${steps.perUserCredentials.seconds} s (${steps.perUserCredentials.perSecond}/s)`);

  log(`scale: registering ${fillerServers.toLocaleString('en-US')} more servers (POST /api/v1/servers, header credential sealed in the vault)`);
  steps.servers = await inBatches(fillerServers, parallel, (i) =>
    admin(gateway, 'POST', '/api/v1/servers', {
      slug: `scale-${String(i).padStart(5, '0')}`,
      name: `scale server ${i}`,
      url: upstreamUrl,
      authType: 'header',
      headers: { 'X-Api-Key': `scale-${randomBytes(18).toString('base64url')}` },
    }),
  );
  log(`  ${steps.servers.seconds} s (${steps.servers.perSecond}/s)`);

  const collaborators = fillerServers * collaboratorsPerServer;
  log(`scale: adding ${collaborators.toLocaleString('en-US')} collaborators (${collaboratorsPerServer} users per server, POST /api/v1/servers/{slug}/collaborators)`);
  steps.collaborators = await inBatches(collaborators, parallel, (k) => {
    const server = Math.floor(k / collaboratorsPerServer);
    const user = k % users;
    return admin(gateway, 'POST', `/api/v1/servers/scale-${String(server).padStart(5, '0')}/collaborators`, { subject: `user:${scaleUserEmail(user)}`, role: 'user' });
  });
  log(`  ${steps.collaborators.seconds} s (${steps.collaborators.perSecond}/s)`);
  return { users: seeded, steps };
}

/**
 * One `tools/call` with a user's own token on a server; returns the latency (ms), throws on anything but the echo.
 * Used to check a sample of the seeded users really reach the upstream with the value the vault holds for them.
 */
async function callAs(pool, path, token, id) {
  const started = process.hrtime.bigint();
  const { statusCode, body } = await pool.request({
    path,
    method: 'POST',
    headers: mcpHeaders({ authorization: `Bearer ${token}` }),
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'scale check' } } }),
  });
  const text = await body.text();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (statusCode !== 200 || !text.includes('scale check')) throw new Error(`a seeded user's call answered HTTP ${statusCode}: ${text.slice(0, 300)}`);
  return ms;
}

/**
 * Opens `count` MCP sessions through the edge at `origin` + `path`, one per user in `tokens` (round robin): for
 * each, `initialize` (the edge answers with its sealed `Mcp-Session-Id`), `notifications/initialized`, and a GET
 * on the session, the server-to-client event stream, which stays open until `close()`. Every stream has its own
 * keep-alive connection (the load generator's side of 1,000 concurrent sessions); the POSTs share a small pool.
 */
async function openSessions({ origin, path, tokens, count, parallel, log }) {
  const posts = new Pool(origin, { connections: parallel, pipelining: 1 });
  const streams = new Pool(origin, { connections: count + 8, pipelining: 1, bodyTimeout: 0, headersTimeout: 30_000 });
  const sessions = [];
  const state = { open: 0, ended: 0, events: 0 };
  const started = process.hrtime.bigint();
  const timing = await inBatches(count, parallel, async (i) => {
    const headers = mcpHeaders({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    const init = await posts.request({
      path,
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'portcullis-bench-session', version: '1.0.0' } } }),
    });
    const text = await init.body.text();
    const sessionId = init.headers['mcp-session-id'];
    if (init.statusCode !== 200 || typeof sessionId !== 'string') throw new Error(`initialize of session ${i} answered HTTP ${init.statusCode} without a session id: ${text.slice(0, 300)}`);
    const withSession = { ...headers, 'mcp-session-id': sessionId };
    const note = await posts.request({ path, method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    await note.body.dump();
    if (note.statusCode !== 202 && note.statusCode !== 200) throw new Error(`notifications/initialized of session ${i} answered HTTP ${note.statusCode}`);
    const get = await streams.request({ path, method: 'GET', headers: { ...withSession, accept: 'text/event-stream' } });
    if (get.statusCode !== 200) {
      const body = await get.body.text();
      throw new Error(`the event stream of session ${i} answered HTTP ${get.statusCode}: ${body.slice(0, 300)}`);
    }
    state.open++;
    get.body.on('data', () => state.events++);
    get.body.once('end', () => (state.ended++, state.open--));
    get.body.once('error', () => undefined);
    sessions.push({ headers: withSession, body: get.body });
  });
  log(`  ${count} sessions open in ${round(Number(process.hrtime.bigint() - started) / 1e9, 1)} s`);
  return {
    timing,
    state,
    sessions,
    /** Calls `tools/call` on `sample` of the open sessions (their own session ids): they must still work. */
    async check(sample) {
      const picked = Array.from({ length: Math.min(sample, sessions.length) }, (_, k) => sessions[Math.floor((k * sessions.length) / sample)]);
      for (const [k, session] of picked.entries()) {
        const { statusCode, body } = await posts.request({
          path,
          method: 'POST',
          headers: session.headers,
          body: JSON.stringify({ jsonrpc: '2.0', id: 100 + k, method: 'tools/call', params: { name: 'echo', arguments: { message: 'session check' } } }),
        });
        const text = await body.text();
        if (statusCode !== 200 || !text.includes('session check')) throw new Error(`a call on an open session answered HTTP ${statusCode}: ${text.slice(0, 300)}`);
      }
      return picked.length;
    },
    async close() {
      for (const session of sessions) session.body.destroy();
      await Promise.allSettled([posts.destroy(), streams.destroy()]);
    },
  };
}

/** Resident memory of one process in MiB (VmRSS from /proc/<pid>/status), or null. */
function rssMiB(pid) {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? round(Number(kb) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/**
 * From the edge's Prometheus `/metrics` (prom-client's default metrics): V8 heap in use (MiB; garbage not yet
 * collected included, no GC is forced) and active libuv handles (sockets, timers). Null when not served.
 */
async function edgeRuntime(edgeUrl) {
  try {
    const { statusCode, body } = await request(`${edgeUrl}/metrics`);
    const text = await body.text();
    if (statusCode !== 200) return null;
    const value = (name) => {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
      return match ? Number(match[1]) : null;
    };
    const heap = value('nodejs_heap_size_used_bytes');
    return { heapUsedMiB: heap === null ? null : round(heap / 2 ** 20, 1), activeHandles: value('nodejs_active_handles_total') };
  } catch {
    return null;
  }
}

/**
 * The edge's cache look-ups so far (`portcullis_edge_cache_lookups_total`), as { principal: { hit, miss }, ... }:
 * read before and after a measurement, the misses show whether warm calls went to another service. Null when
 * not served.
 */
async function edgeCacheLookups(edgeUrl) {
  try {
    const { statusCode, body } = await request(`${edgeUrl}/metrics`);
    const text = await body.text();
    if (statusCode !== 200) return null;
    const lookups = {};
    for (const [, cache, result, count] of text.matchAll(/^portcullis_edge_cache_lookups_total\{cache="([a-z]+)",result="(hit|miss)"[^}]*\} ([0-9.e+]+)$/gm)) {
      lookups[cache] = { ...lookups[cache], [result]: Number(count) };
    }
    return lookups;
  } catch {
    return null;
  }
}

function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return null;
  }
}

module.exports = { inBatches, registerPerUserServer, putOwnCredential, seedScale, callAs, openSessions, rssMiB, edgeRuntime, edgeCacheLookups, loadAverage, scaleUserEmail };
