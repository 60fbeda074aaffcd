import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from './test-database';
import { freePort, generateVaultKeys, randomSecret, ServiceProcess, waitForReady } from './gateway-harness';

/** A whole running gateway as a user sees it: three public URLs and an admin key. */
export interface GatewayUnderTest {
  edgeUrl: string;
  /** Every edge replica's URL, `edgeUrl` first (one unless more were asked for). */
  edgeUrls: string[];
  /** The URL the gateway names itself by (`PUBLIC_URL`, or its default). */
  publicUrl: string;
  registryUrl: string;
  auditUrl: string;
  adminToken: string;
  processes: ServiceProcess[];
  /** Everything every process printed, for greps. */
  logs(): string;
  stop(): Promise<void>;
}

const natsUrl = () => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export interface DistributedGatewayOptions {
  /** Edge-proxy processes sharing one SESSION_KEYS, as behind a load balancer (default 1). */
  edgeReplicas?: number;
}

/** The five services as separate processes over real NATS and PostgreSQL. */
export async function startDistributedGateway(options: DistributedGatewayOptions = {}): Promise<GatewayUnderTest> {
  const database: TestDatabase = await createTestDatabase('e2e');
  const adminToken = randomSecret('bootstrap-admin');
  const [edgePort, registryPort, auditPort, identityPort, vaultPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const sessionKeys = generateVaultKeys();
  const extraEdgePorts = await Promise.all(Array.from({ length: Math.max(0, (options.edgeReplicas ?? 1) - 1) }, () => freePort()));
  const common = {
    DATABASE_URL: database.url,
    NATS_URL: natsUrl(),
    BUS_SUBJECT_PREFIX: uniqueSubjectPrefix(),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
  };
  const specs: { app: string; env: Record<string, string>; health: string }[] = [
    { app: 'identity', env: { IDENTITY_PORT: String(identityPort), PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: adminToken, IDENTITY_KEYS: generateVaultKeys(), PUBLIC_URL: edgeUrl }, health: `http://127.0.0.1:${identityPort}` },
    // The e2e OAuth providers listen on loopback too; PUBLIC_URL names the consent callback.
    { app: 'token-vault', env: { VAULT_PORT: String(vaultPort), VAULT_KEYS: generateVaultKeys(), PUBLIC_URL: edgeUrl, OUTBOUND_ALLOW_PRIVATE: 'true' }, health: `http://127.0.0.1:${vaultPort}` },
    // The e2e upstreams listen on loopback, which the SSRF guard refuses by default.
    { app: 'registry', env: { REGISTRY_PORT: String(registryPort), OUTBOUND_ALLOW_PRIVATE: 'true' }, health: `http://127.0.0.1:${registryPort}` },
    { app: 'audit', env: { AUDIT_PORT: String(auditPort) }, health: `http://127.0.0.1:${auditPort}` },
    // Its own audit spool: a spool left by another run would be replayed onto this run's bus.
    { app: 'edge-proxy', env: { EDGE_PORT: String(edgePort), PUBLIC_URL: edgeUrl, SESSION_KEYS: sessionKeys, OUTBOUND_ALLOW_PRIVATE: 'true', AUDIT_SPOOL_DIR: await mkdtemp(join(tmpdir(), 'portcullis-spool-')) }, health: edgeUrl },
  ];
  // Further replicas answer under the same public URL, as behind a load balancer.
  for (const port of extraEdgePorts) {
    specs.push({ app: 'edge-proxy', env: { EDGE_PORT: String(port), PUBLIC_URL: edgeUrl, SESSION_KEYS: sessionKeys, OUTBOUND_ALLOW_PRIVATE: 'true', AUDIT_SPOOL_DIR: await mkdtemp(join(tmpdir(), 'portcullis-spool-')) }, health: `http://127.0.0.1:${port}` });
  }
  const processes = specs.map((spec) => ServiceProcess.start(spec.app, { ...common, ...spec.env }));
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await database.drop();
  };
  try {
    await Promise.all(specs.map((spec, i) => waitForReady(`${spec.health}/readyz`, processes[i])));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    edgeUrl,
    edgeUrls: [edgeUrl, ...extraEdgePorts.map((port) => `http://127.0.0.1:${port}`)],
    publicUrl: edgeUrl,
    registryUrl: `http://127.0.0.1:${registryPort}`,
    auditUrl: `http://127.0.0.1:${auditPort}`,
    adminToken,
    processes,
    logs: () => processes.map((p) => p.logs()).join('\n'),
    stop,
  };
}

export interface AllInOneOptions {
  /** Reuse a data folder (a second start); a fresh temporary one otherwise. */
  dataDir?: string;
  bootstrapAdminToken?: string | null;
}

export interface AllInOneUnderTest extends GatewayUnderTest {
  dataDir: string;
  /** Removes the data folder as well. */
  destroy(): Promise<void>;
}

/** `dist/apps/all-in-one/main.js` with nothing configured but ports, a data folder and (optionally) the bootstrap token. */
export async function startAllInOne(options: AllInOneOptions = {}): Promise<AllInOneUnderTest> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'portcullis-aio-')));
  const adminToken = options.bootstrapAdminToken === undefined ? randomSecret('bootstrap-admin') : options.bootstrapAdminToken;
  const [edgePort, registryPort, auditPort, pgPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: Record<string, string> = {
    PORTCULLIS_DATA_DIR: dataDir,
    EDGE_PORT: String(edgePort),
    REGISTRY_PORT: String(registryPort),
    AUDIT_PORT: String(auditPort),
    EMBEDDED_POSTGRES_PORT: String(pgPort),
    LOG_LEVEL: 'debug',
    OUTBOUND_ALLOW_PRIVATE: 'true',
  };
  if (adminToken) env.PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN = adminToken;
  const process = ServiceProcess.start('all-in-one', env);
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  try {
    await process.waitForOutput(/Portcullis is running/, 120_000);
    await waitForReady(`http://127.0.0.1:${edgePort}/readyz`, process);
  } catch (error) {
    await process.stop();
    throw error;
  }
  const printedKey = process.logs().match(/Admin API key \(shown only this once[^\n]*\n\s+(\S+)/)?.[1];
  const stop = () => process.stop();
  return {
    edgeUrl,
    edgeUrls: [edgeUrl],
    // Nothing configured: all-in-one names itself by its default PUBLIC_URL.
    publicUrl: `http://localhost:${edgePort}`,
    registryUrl: `http://127.0.0.1:${registryPort}`,
    auditUrl: `http://127.0.0.1:${auditPort}`,
    adminToken: adminToken ?? printedKey ?? '',
    processes: [process],
    logs: () => process.logs(),
    stop,
    dataDir,
    destroy: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
