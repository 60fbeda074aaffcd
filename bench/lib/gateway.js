'use strict';
// The gateway under test: the all-in-one build (`dist/apps/all-in-one/main.js`) as a child process with
// its own temporary data folder (embedded PostgreSQL), ports and bootstrap admin key; and the admin API
// calls that set up the scenarios.
const { randomBytes } = require('node:crypto');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { request } = require('undici');
const { Child, freePort } = require('./processes');

const repoRoot = join(__dirname, '..', '..');
const MAIN = join(repoRoot, 'dist', 'apps', 'all-in-one', 'main.js');

const AGENT_EMAIL = 'bench-agent@example.com';

function secret(prefix) {
  return `${prefix}-${randomBytes(24).toString('base64url')}`;
}

/**
 * Starts all-in-one. `nodeArgs` (e.g. `--cpu-prof`) go before the script.
 * Resolves once it printed its banner and the edge answers `/readyz`.
 */
async function startGateway({ dataDir, nodeArgs = [], logLevel = 'warn' }) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b tsconfig.build.json\` first`);
  const adminToken = secret('bench-admin');
  const [edgePort, registryPort, auditPort, pgPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const env = {
    PORTCULLIS_DATA_DIR: dataDir,
    // Consent and login redirects (`/connect/…`, `/oauth/callback`, `/login/callback`) are built from it.
    PUBLIC_URL: edgeUrl,
    EDGE_PORT: String(edgePort),
    REGISTRY_PORT: String(registryPort),
    AUDIT_PORT: String(auditPort),
    EMBEDDED_POSTGRES_PORT: String(pgPort),
    PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: adminToken,
    // The registry's SSRF guard refuses loopback upstreams unless told otherwise; the benchmark is loopback only.
    OUTBOUND_ALLOW_PRIVATE: 'true',
    HOST: '127.0.0.1',
    LOG_LEVEL: logLevel,
  };
  const child = new Child('all-in-one', process.execPath, [...nodeArgs, MAIN], env, { cwd: repoRoot });
  await child.waitFor(/Portcullis is running/, 180_000);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { statusCode, body } = await request(`${edgeUrl}/readyz`);
      await body.dump();
      if (statusCode === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`the edge did not become ready:\n${child.output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    pid: child.pid,
    edgeUrl,
    registryUrl: `http://127.0.0.1:${registryPort}`,
    auditUrl: `http://127.0.0.1:${auditPort}`,
    adminToken,
    stop: () => child.stop('SIGTERM', 30_000),
  };
}

/** One admin API call; throws with the answer on a non-2xx status. */
async function admin(gateway, method, path, body) {
  const { statusCode, body: answer } = await request(`${gateway.registryUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  if (statusCode < 200 || statusCode >= 300) {
    const hint = /OUTBOUND_ALLOW_PRIVATE/.test(text)
      ? ' (the registry refused a loopback upstream: all-in-one must pass OUTBOUND_ALLOW_PRIVATE to the registry)'
      : '';
    throw new Error(`${method} ${path} answered ${statusCode}: ${text.slice(0, 500)}${hint}`);
  }
  return text ? JSON.parse(text) : null;
}

/** Registers an upstream with a shared API key header (authType `header`). */
function registerHeaderServer(gateway, slug, upstreamUrl, headerValue = secret('upstream-key')) {
  return admin(gateway, 'POST', '/api/v1/servers', {
    slug,
    name: `bench ${slug}`,
    url: upstreamUrl,
    authType: 'header',
    headers: { 'X-Api-Key': headerValue },
  });
}

/** A non-admin gateway API key for the benchmark's agent. */
async function createAgentKey(gateway) {
  const created = await admin(gateway, 'POST', '/api/v1/api-keys', { name: 'bench agent', ownerEmail: AGENT_EMAIL });
  return created.token;
}

/** RBAC is on: the agent (an API key's principal is `user:<ownerEmail>`) gets the `user` role on the server. */
function grantUse(gateway, slug, ownerEmail = AGENT_EMAIL) {
  return admin(gateway, 'POST', `/api/v1/servers/${slug}/collaborators`, { subject: `user:${ownerEmail}`, role: 'user' });
}

/**
 * Whether this tree can run the "full auth" scenario (IdP JWT caller, oauth2 upstream credential from the
 * vault, RBAC on, audit on). Asks the running gateway rather than guessing: the registry's OpenAPI document
 * must offer identity providers with browser login and servers with `authType: oauth2` and `oauth` settings
 * (issues 3 and 5), the edge must serve the consent routes, and the built test kit (`dist/libs/testing`) must
 * offer the real test IdP. `reason` names what is missing.
 */
async function fullAuthSupport(gateway) {
  let openapi = '';
  try {
    const { statusCode, body } = await request(`${gateway.registryUrl}/api/openapi.json`);
    openapi = statusCode === 200 ? await body.text() : (await body.dump(), '');
  } catch {
    openapi = '';
  }
  const edgeRoute = async (path) => {
    try {
      const { statusCode, body } = await request(`${gateway.edgeUrl}${path}`);
      await body.dump();
      return statusCode !== 404;
    } catch {
      return false;
    }
  };
  const missing = [];
  if (!/\/api\/v1\/identity-providers/.test(openapi)) missing.push('identity providers in the admin API (issue 3)');
  else if (!/"browserLogin"/.test(openapi)) missing.push('browser login settings on identity providers');
  if (!/"oauth2"/.test(openapi) || !/"grantType"/.test(openapi)) missing.push('servers with authType oauth2 and oauth settings (issue 5)');
  // Without credentials the authorize route answers 401 and the callback 400; 404 means the route is not there.
  if (!(await edgeRoute('/me/connections/bench-probe/authorize'))) missing.push('the edge route /me/connections/{slug}/authorize');
  if (!(await edgeRoute('/oauth/callback'))) missing.push('the edge route /oauth/callback');
  const testing = testingKit();
  if (typeof testing?.startOidcProvider !== 'function' || typeof testing?.followAuthorization !== 'function') {
    missing.push('startOidcProvider and followAuthorization in dist/libs/testing (build libs/testing)');
  }
  return { available: missing.length === 0, reason: missing.length === 0 ? null : `needs ${missing.join('; ')}` };
}

/** The built test kit (`dist/libs/testing/index.js`): the real test IdP and a minimal browser; null when absent. */
function testingKit() {
  try {
    return require(join(repoRoot, 'dist', 'libs', 'testing', 'index.js'));
  } catch {
    return null;
  }
}

/** Registers `count` more header-auth servers (each with its own vault credential), `parallel` at a time. */
async function registerFillerServers(gateway, count, upstreamUrl, parallel = 8) {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= count) return;
      await registerHeaderServer(gateway, `filler-${String(index).padStart(5, '0')}`, upstreamUrl);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

module.exports = { startGateway, admin, registerHeaderServer, createAgentKey, grantUse, fullAuthSupport, testingKit, registerFillerServers, repoRoot };
