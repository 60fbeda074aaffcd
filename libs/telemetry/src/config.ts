import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors';

/**
 * Validates `env` against `schema` once at boot and returns the typed result.
 * On failure throws {@link ConfigError} whose message is one line naming every
 * bad or missing variable. Values are never echoed: they may be secrets.
 */
export function loadConfig<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, service: string): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;

  const reasons = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(config)';
    const value = issue.path.length > 0 ? env[String(issue.path[0])] : undefined;
    const reason =
      issue.path.length > 0 && (value === undefined || value === '') ? 'is missing' : `is invalid (${describe(issue.message, value)})`;
    const list = reasons.get(variable) ?? [];
    if (!list.includes(reason)) list.push(reason);
    reasons.set(variable, list);
  }
  const issues: ConfigIssue[] = [...reasons].map(([variable, list]) => ({ variable, reason: list.join(', ') }));
  throw new ConfigError(service, issues);
}

// zod's stock messages do not quote the input, but a custom refinement might:
// scrub the value out, and keep the line a line.
function describe(message: string, value: string | undefined): string {
  let text = message.replace(/\s+/g, ' ').trim();
  if (value !== undefined && value.length >= 4) text = text.split(value).join('[redacted]');
  return text;
}

/**
 * Boot helper: `try { cfg = loadConfig(...) } catch (e) { exitOnConfigError(e, 'edge-proxy') }`.
 * Prints a {@link ConfigError} as its one line on stderr and exits 1; anything
 * else is a bug, not a bad setting, and is rethrown with its stack.
 */
export function exitOnConfigError(error: unknown, service: string): never {
  if (!(error instanceof ConfigError)) throw error;
  const line = error.service === service ? error.message : `${service}: ${error.message}`;
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

/**
 * Runs a service's start-up; any failure (a bad setting, an unreachable NATS
 * or database) stops the process with one line on stderr and exit code 1.
 */
export function runService(service: string, start: () => Promise<void>): void {
  start().catch((error: unknown) => {
    if (error instanceof ConfigError) exitOnConfigError(error, service);
    const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
    process.stderr.write(`${service}: failed to start: ${reason}\n`);
    process.exit(1);
  });
}
