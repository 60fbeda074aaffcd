import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort } from './gateway-harness';

export interface ServerEverything {
  /** `http://127.0.0.1:<port>/mcp`, or `http://127.0.0.1:<port>/sse` for the legacy HTTP+SSE transport */
  url: string;
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;
const OUTPUT_TAIL_CHARS = 4000;

/**
 * Runs the reference MCP server `@modelcontextprotocol/server-everything` in
 * its own process over streamable HTTP, or the legacy HTTP+SSE transport of
 * MCP 2024-11-05 (it reads the transport from its first argument and the port
 * from `PORT`), and resolves once it answers HTTP.
 */
export async function startServerEverything(transport: 'streamableHttp' | 'sse' = 'streamableHttp'): Promise<ServerEverything> {
  const port = await freePort();
  const child = spawn(process.execPath, [serverEverythingBin(), transport], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The pipes must be drained or the child blocks once their buffers fill.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const url = `http://127.0.0.1:${port}/${transport === 'sse' ? 'sse' : 'mcp'}`;
  try {
    await waitUntilAnswering(url, child);
  } catch (error) {
    await stop(child);
    throw new Error(`server-everything did not start: ${(error as Error).message}\n${output}`);
  }
  return { url, close: () => stop(child) };
}

function serverEverythingBin(): string {
  const manifestPath = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin['mcp-server-everything'];
  return join(dirname(manifestPath), bin);
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  while (Date.now() < deadline) {
    if (exited) throw new Error(exited);
    try {
      // Any HTTP answer (it is 400 without a session) means the server is up.
      const response = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`no answer at ${url} within ${STARTUP_TIMEOUT_MS} ms`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
