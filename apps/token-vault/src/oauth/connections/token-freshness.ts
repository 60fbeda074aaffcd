import { backoffDelayMs } from '@portcullis/bus';
import type { OAuthTokenEntity } from './oauth-token.entity';

/**
 * Whether a token should be renewed now: less than min(margin, half its
 * lifetime) is left. Half the lifetime keeps short-lived tokens (seconds)
 * from being renewed on every use.
 */
export function isDue(row: Pick<OAuthTokenEntity, 'expiresAt' | 'issuedAt' | 'updatedAt'>, now: Date, marginMs: number): boolean {
  if (row.expiresAt === null) return false;
  const lifetime = row.expiresAt.getTime() - (row.issuedAt ?? row.updatedAt).getTime();
  return row.expiresAt.getTime() - Math.min(marginMs, lifetime / 2) <= now.getTime();
}

export function isExpired(row: Pick<OAuthTokenEntity, 'expiresAt'>, now: Date): boolean {
  return row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime();
}

const REFRESH_BACKOFF = { firstMs: 1_000, maxMs: 5 * 60_000 };

/**
 * Wait before the next try after `failures` consecutive transient failures:
 * steps of 1 s, 2 s, 4 s … at most 5 minutes, each jittered between half and
 * all of its step, so tokens that failed together (a provider outage) are not
 * retried together.
 */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  return backoffDelayMs(failures, REFRESH_BACKOFF, random);
}
