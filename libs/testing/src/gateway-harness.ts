import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

const repoRoot = join(__dirname, '../../..');

/** Ports freePort() has handed out in this process: once closed, the kernel may find the same one again. */
const handedOut = new Set<number>();

/**
 * A port nobody listens on right now, on loopback, and never one this process
 * was given before: a test that asks for several ports before anything binds
 * them must not get the same one twice (the replica that loses the race exits,
 * and another process answers on its port).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, 'close');
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** A built Portcullis process (`dist/apps/<name>/main.js`) with its output captured. */
export class ServiceProcess {
  private output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(app: string, env: Record<string, string>): ServiceProcess {
    const main = join(repoRoot, 'dist/apps', app, 'main.js');
    const child = spawn(process.execPath, [main], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(app, child);
  }

  /** Everything the process printed so far (stdout and stderr). */
  logs(): string {
    return this.output;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(100);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers 200, or fails with the process output for diagnosis. */
export async function waitForReady(url: string, process: ServiceProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    const exited = await Promise.race([process.exited.then(() => true), sleep(250).then(() => false)]);
    if (exited) throw new Error(`${process.name} exited before ${url} was ready:\n${process.logs()}`);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last}):\n${process.logs()}`);
}

export function randomSecret(label: string): string {
  return `${label}-${randomBytes(24).toString('base64url')}`;
}

/** A `VAULT_KEYS` value with one fresh key. */
export function generateVaultKeys(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` holds: events, audit and cache drops are delivered asynchronously. */
export async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
