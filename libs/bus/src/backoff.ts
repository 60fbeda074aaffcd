export interface BackoffOptions {
  /** The first wait, before jitter. */
  firstMs: number;
  /** No wait is longer than this. */
  maxMs: number;
}

/**
 * How long to wait before attempt `attempt + 1` after `attempt` failures:
 * exponential and capped, with "equal jitter" (half the step fixed, half
 * random), so a retry never comes at once and replicas that failed together
 * do not come back together.
 */
export function backoffDelayMs(attempt: number, { firstMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
