'use strict';
// `--topology distributed`: the gateway as it runs in production (DESIGN §2), the five services as separate
// processes (`node dist/apps/<svc>/main.js`) over the machine's NATS and PostgreSQL, with the env
// libs/testing `startDistributedGateway` gives them (replicated here: the bench needs each process's pid, its
// own node flags for `--cpu-prof` and LOG_LEVEL=warn). A throwaway database and a unique bus subject prefix;
// both (and the audit JetStream stream of that prefix) are removed on stop.
//
// CPU is read per process, so the edge's own cost per call is reported apart from identity, vault, registry,
// audit, and the PostgreSQL backends serving this run's database (nothing is hidden; NATS, a shared server, is not
// counted).
const { mkdtemp, rm } = require('node:fs/promises');
const { existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { request } = require('undici');
const { Child, freePort, processCpuUs, sleep } = require('./processes');
const { repoRoot, testingKit } = require('./gateway');

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
/** The services other than the edge, in the order the report lists them. */
const OTHER_SERVICES = ['identity', 'token-vault', 'registry', 'audit'];

async function waitForReady(url, child, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running()) throw new Error(`${child.name} exited:\n${child.output.slice(-4000)}`);
    try {
      const { statusCode, body } = await request(url);
      await body.dump();
      if (statusCode === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${child.name} did not become ready at ${url}:\n${child.output.slice(-4000)}`);
    await sleep(100);
  }
}

/**
 * Starts identity, token-vault, registry, audit and edge-proxy. `nodeArgsFor(app)` gives each its node flags
 * (e.g. `--cpu-prof` for the edge only), `launcherFor(app)` a command line to run node under (e.g. valgrind for the
 * edge in bench/instructions.js; the pid stays the service's), `envFor(app)` settings of its own (e.g. `AUDIT_BATCH_LINGER_MS`); `root` the
 * checkout whose dist/ runs (this one unless told otherwise: `--baseline` runs another commit's build). Returns the same shape as `startGateway` (pid = the edge's), plus
 * `services` ({ app, pid, child }) and `postgresBackends` (CPU of this database's backends).
 */
async function startDistributedGateway({ nodeArgsFor = () => [], launcherFor = () => [], envFor = () => ({}), logLevel = 'warn', root = repoRoot }) {
  const testing = testingKit();
  if (!testing?.createTestDatabase) throw new Error('dist/libs/testing is missing: run `npx tsc -b tsconfig.build.json` first');
  for (const app of ['edge-proxy', ...OTHER_SERVICES]) {
    const main = join(root, 'dist', 'apps', app, 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npx tsc -b tsconfig.build.json\` first`);
  }
  const database = await testing.createTestDatabase('bench');
  const subjectPrefix = testing.uniqueSubjectPrefix();
  const spoolDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-spool-'));
  const adminToken = testing.randomSecret('bench-admin');
  const [edgePort, registryPort, auditPort, identityPort, vaultPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const common = { DATABASE_URL: database.url, NATS_URL, BUS_SUBJECT_PREFIX: subjectPrefix, HOST: '127.0.0.1', LOG_LEVEL: logLevel };
  const specs = [
    { app: 'identity', env: { IDENTITY_PORT: String(identityPort), PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: adminToken, IDENTITY_KEYS: testing.generateVaultKeys(), PUBLIC_URL: edgeUrl }, port: identityPort },
    // Beyond libs/testing's env: OAuth consent needs the vault's PUBLIC_URL, and the loopback IdP's token endpoint
    // needs OUTBOUND_ALLOW_PRIVATE (the full-auth scenario).
    { app: 'token-vault', env: { VAULT_PORT: String(vaultPort), VAULT_KEYS: testing.generateVaultKeys(), PUBLIC_URL: edgeUrl, OUTBOUND_ALLOW_PRIVATE: 'true' }, port: vaultPort },
    // The registry's SSRF guard refuses loopback upstreams unless told otherwise; the benchmark is loopback only.
    { app: 'registry', env: { REGISTRY_PORT: String(registryPort), OUTBOUND_ALLOW_PRIVATE: 'true' }, port: registryPort },
    { app: 'audit', env: { AUDIT_PORT: String(auditPort) }, port: auditPort },
    { app: 'edge-proxy', env: { EDGE_PORT: String(edgePort), PUBLIC_URL: edgeUrl, SESSION_KEYS: testing.generateVaultKeys(), OUTBOUND_ALLOW_PRIVATE: 'true', AUDIT_SPOOL_DIR: spoolDir }, port: edgePort },
  ];
  const services = specs.map((spec) => {
    const [command, ...args] = [...launcherFor(spec.app), process.execPath, ...nodeArgsFor(spec.app), join(root, 'dist', 'apps', spec.app, 'main.js')];
    const child = new Child(spec.app, command, args, { ...common, ...spec.env, ...envFor(spec.app) }, { cwd: root });
    return { app: spec.app, pid: child.pid, child, port: spec.port };
  });
  const postgresBackends = new PostgresBackends(database.name);
  // One stopping for every caller (the watchdog and a failing main may both stop it): each waits for the database drop.
  let stopping = null;
  const stop = () => (stopping ??= stopAll());
  const stopAll = async () => {
    postgresBackends.close();
    // The edge first, so that nothing it still sends finds its peers gone.
    const edge = services.find((s) => s.app === 'edge-proxy');
    await edge.child.stop('SIGTERM', 30_000);
    await Promise.allSettled(services.filter((s) => s !== edge).map((s) => s.child.stop('SIGTERM', 30_000)));
    await database.drop().catch(() => undefined);
    await testing.deleteJetStreamStreams(NATS_URL, [`AUDIT_${subjectPrefix.replace(/[^A-Za-z0-9_-]/g, '_')}`]).catch(() => undefined);
    await rm(spoolDir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await Promise.all(services.map((s) => waitForReady(`http://127.0.0.1:${s.port}/readyz`, s.child)));
    await postgresBackends.start();
  } catch (error) {
    await stop();
    throw error;
  }
  const edge = services.find((s) => s.app === 'edge-proxy');
  return {
    topology: 'distributed',
    child: edge.child,
    pid: edge.pid,
    edgeUrl,
    registryUrl: `http://127.0.0.1:${registryPort}`,
    auditUrl: `http://127.0.0.1:${auditPort}`,
    adminToken,
    services,
    postgresBackends,
    databaseName: database.name,
    subjectPrefix,
    stop,
  };
}

/**
 * CPU of the PostgreSQL backends serving one database (pg_stat_activity, refreshed every 250 ms): a backend's
 * time is kept at its last reading once it exits, so the total never goes down (it may miss the last ≤ 250 ms
 * of a backend that exits mid-run; the services' pools keep theirs open while busy).
 */
class PostgresBackends {
  constructor(databaseName) {
    this.databaseName = databaseName;
    this.lastSeen = new Map();
    this.timer = null;
    this.client = null;
  }

  async start() {
    const { Client } = require(require.resolve('pg', { paths: [repoRoot] }));
    this.client = new Client({ connectionString: process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await this.client.connect();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), 250);
    this.timer.unref();
  }

  async refresh() {
    if (!this.client) return;
    const { rows } = await this.client.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.databaseName]);
    for (const { pid } of rows) if (!this.lastSeen.has(pid)) this.lastSeen.set(pid, 0);
  }

  /** Sum over every backend ever seen (synchronous: /proc only). */
  cpuUs() {
    let total = 0;
    for (const [pid, last] of this.lastSeen) {
      const now = processCpuUs(pid);
      const value = now > 0 ? now : last;
      this.lastSeen.set(pid, value);
      total += value;
    }
    return total;
  }

  close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    client?.end().catch(() => undefined);
  }
}

/** The CPU entries (see load.js `measure`) of the services other than the edge, and of this run's PostgreSQL backends. */
function otherServiceCpu(gateway) {
  return [
    ...OTHER_SERVICES.map((app) => ({ label: app, pid: gateway.services.find((s) => s.app === app).pid, tree: false })),
    { label: 'postgres', read: () => gateway.postgresBackends.cpuUs() },
  ];
}

module.exports = { startDistributedGateway, otherServiceCpu, OTHER_SERVICES };
