import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectNats } from 'nats';
import { freePort, sleep } from './gateway-harness';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface OwnNatsServerOptions {
  /** A `nats-server` config file (users, permissions) taking its JetStream folder from `$NATS_STORE_DIR`; the port still comes from the test. */
  configFile?: string;
  /** Environment for the server, e.g. the passwords the config file reads (`$VAR`). */
  env?: Record<string, string>;
}

/**
 * A NATS server (JetStream, file storage) of the test's own, for tests that
 * stop and restart NATS: the machine's shared server is never touched.
 * `stop()` and `start()` keep the port and the store, as a restart would.
 */
export class OwnNatsServer {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly config: OwnNatsServerOptions,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(options: OwnNatsServerOptions = {}): Promise<OwnNatsServer> {
    const server = new OwnNatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'portcullis-nats-')), options);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (this.child) return;
    // With a config file, its `store_dir: $NATS_STORE_DIR` is the test's store; flags still set the test's own port.
    const args = this.config.configFile ? ['-c', this.config.configFile] : ['-js', '-sd', this.storeDir];
    const child = spawn(NATS_SERVER, [...args, '-a', '127.0.0.1', '-p', String(this.port)], {
      stdio: 'ignore',
      env: { ...process.env, ...this.config.env, NATS_STORE_DIR: this.storeDir },
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${this.port} within 10 s`);
      await sleep(50);
    }
  }

  /** Kills the server (SIGKILL unless told otherwise), as a crash or an outage would. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop('SIGTERM');
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Removes JetStream streams a test made on a shared NATS server; one already gone is fine. */
export async function deleteJetStreamStreams(natsUrl: string, streams: readonly string[]): Promise<void> {
  const nc = await connectNats({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
