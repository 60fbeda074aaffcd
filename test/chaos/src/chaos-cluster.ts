import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, generateVaultKeys, OwnNatsServer, randomSecret, sleep, uniqueSubjectPrefix } from '@portcullis/testing';
import { PrivatePostgres } from './private-postgres';

const repoRoot = join(__dirname, '../../..');

export const SERVICES = ['identity', 'registry', 'token-vault', 'audit', 'edge-proxy'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** One replica of a service: `node dist/apps/<app>/main.js`, killable and restartable on the same port and environment. */
export class Replica {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(
    readonly app: ServiceName,
    readonly index: number,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get name(): string {
    return `${this.app}#${this.index}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): string {
    return this.output;
  }

  start(): void {
    if (this.running()) return;
    const child = spawn(process.execPath, [join(repoRoot, 'dist/apps', this.app, 'main.js')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
  }

  /** Polls `/readyz` until it answers 200. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (!this.running()) throw new Error(`${this.name} exited before it was ready:\n${this.output.slice(-4000)}`);
      try {
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        // Answered by this replica only if it still runs (a replica that lost its port exits while another answers there).
        if (response.ok && this.running()) return;
        last = `${response.status} ${await response.text()}`;
      } catch (error) {
        last = String(error);
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms (last: ${last}):\n${this.output.slice(-4000)}`);
  }

  /** SIGKILL now, without waiting (for the test process's own exit). */
  killNow(): void {
    if (this.running()) this.child?.kill('SIGKILL');
  }

  /** Sends `signal` and waits for the exit (SIGKILL: a crash; nothing of the process runs after it). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Two replicas of every service as separate processes from dist, over a NATS
 * server and a PostgreSQL server of the suite's own (both stoppable), all on
 * loopback. Replicas of one service share their keys, as a deployment's would.
 */
export class ChaosCluster {
  private constructor(
    readonly nats: OwnNatsServer,
    readonly postgres: PrivatePostgres,
    readonly replicas: Replica[],
    readonly adminToken: string,
    private readonly spoolDirs: string[],
  ) {}

  static async start(replicasPerService = 2): Promise<ChaosCluster> {
    const [natsStarted, postgresStarted] = await Promise.allSettled([OwnNatsServer.start(), PrivatePostgres.start()]);
    if (natsStarted.status === 'rejected' || postgresStarted.status === 'rejected') {
      await Promise.allSettled([natsStarted.status === 'fulfilled' && natsStarted.value.destroy(), postgresStarted.status === 'fulfilled' && postgresStarted.value.destroy()]);
      throw natsStarted.status === 'rejected' ? natsStarted.reason : (postgresStarted as PromiseRejectedResult).reason;
    }
    const [nats, postgres] = [natsStarted.value, postgresStarted.value];
    const adminToken = randomSecret('chaos-admin');
    const ports = new Map<ServiceName, number[]>();
    for (const app of SERVICES) ports.set(app, await Promise.all(Array.from({ length: replicasPerService }, () => freePort())));
    const publicUrl = `http://127.0.0.1:${ports.get('edge-proxy')![0]}`;
    const common = { DATABASE_URL: postgres.url, NATS_URL: nats.url, BUS_SUBJECT_PREFIX: uniqueSubjectPrefix(), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const keys = { identity: generateVaultKeys(), vault: generateVaultKeys(), session: generateVaultKeys() };
    const spoolDirs: string[] = [];
    const replicas: Replica[] = [];
    for (const app of SERVICES) {
      for (const [index, port] of ports.get(app)!.entries()) {
        let env: Record<string, string>;
        switch (app) {
          case 'identity':
            env = { IDENTITY_PORT: String(port), PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: adminToken, IDENTITY_KEYS: keys.identity, PUBLIC_URL: publicUrl };
            break;
          case 'token-vault':
            env = { VAULT_PORT: String(port), VAULT_KEYS: keys.vault, PUBLIC_URL: publicUrl, OUTBOUND_ALLOW_PRIVATE: 'true' };
            break;
          case 'registry':
            env = { REGISTRY_PORT: String(port), OUTBOUND_ALLOW_PRIVATE: 'true' };
            break;
          case 'audit':
            env = { AUDIT_PORT: String(port) };
            break;
          case 'edge-proxy': {
            // Each edge its own spool, kept across its restarts (what it spooled before a crash is replayed after).
            const spool = await mkdtemp(join(tmpdir(), 'portcullis-chaos-spool-'));
            spoolDirs.push(spool);
            env = { EDGE_PORT: String(port), PUBLIC_URL: publicUrl, SESSION_KEYS: keys.session, OUTBOUND_ALLOW_PRIVATE: 'true', AUDIT_SPOOL_DIR: spool };
            break;
          }
        }
        replicas.push(new Replica(app, index + 1, port, { ...common, ...env }));
      }
    }
    const cluster = new ChaosCluster(nats, postgres, replicas, adminToken, spoolDirs);
    // Should the test process end without afterAll (a crash, Ctrl-C), no service outlives it.
    process.once('exit', cluster.killOnExit);
    try {
      for (const replica of replicas) replica.start();
      await Promise.all(replicas.map((replica) => replica.ready(55_000)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  replicasOf(app: ServiceName): Replica[] {
    return this.replicas.filter((replica) => replica.app === app);
  }

  get edgeUrls(): string[] {
    return this.replicasOf('edge-proxy').map((replica) => replica.url);
  }

  get publicUrl(): string {
    return this.edgeUrls[0]!;
  }

  get registryUrl(): string {
    return this.replicasOf('registry')[0]!.url;
  }

  get auditUrl(): string {
    return this.replicasOf('audit')[0]!.url;
  }

  logs(): string {
    return this.replicas.map((replica) => `===== ${replica.name}\n${replica.logs()}`).join('\n');
  }

  private readonly killOnExit = (): void => {
    for (const replica of this.replicas) replica.killNow();
    this.postgres.killNow();
  };

  /** Kills every replica, then the private NATS and PostgreSQL, and removes their folders. Safe to call twice. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    await Promise.allSettled(this.replicas.map((replica) => replica.kill('SIGTERM', 5000)));
    await Promise.allSettled([this.nats.destroy(), this.postgres.destroy()]);
    await Promise.allSettled(this.spoolDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/**
 * The pid of the process with a TCP connection from loopback port `port` to
 * loopback port `peerPort` (as root `ss -p` names it), or null. Both ends are
 * needed: one ephemeral port may serve connections to different peers.
 */
export async function pidOfConnection(port: number, peerPort: number): Promise<number | null> {
  const { stdout } = await promisify(execFile)('ss', ['-tnpH', 'src', `127.0.0.1:${port}`, 'dst', `127.0.0.1:${peerPort}`]);
  const match = stdout.match(/pid=(\d+)/);
  return match ? Number(match[1]) : null;
}
