import * as crypto from 'node:crypto';
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** Node's one-shot `crypto.hash` (Node >= 20.12): no Hash object per call. Absent on older Node, where `createHash` is used. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Random bytes in a token's secret part. */
export const TOKEN_SECRET_BYTES = 32;
/** Characters of the random, displayable id after the scheme prefix. */
export const TOKEN_ID_LENGTH = 8;

const SCHEME = /^[a-z][a-z0-9]{0,15}$/;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID = new RegExp(`^[A-Za-z0-9]{${TOKEN_ID_LENGTH}}$`);

export interface GeneratedToken {
  /** Shown to the user once, never stored. */
  token: string;
  /** `<scheme>_<id>`: not secret, store it to list and look tokens up. */
  prefix: string;
  /** {@link hashToken} of the token: what is stored. */
  hash: string;
}

/** SHA-256 hex of a bearer token, the form tokens are stored in. */
export function hashToken(token: string): string {
  if (typeof token !== 'string') throw new TypeError('token must be a string');
  // Both hash the UTF-8 bytes of the string.
  return oneShotHash ? oneShotHash('sha256', token, 'hex') : createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares equal-length SHA-256 digests in constant time, so neither content nor length leaks. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') throw new TypeError('constantTimeEqual compares strings');
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * A new bearer token `<scheme>_<id>_<secret>`, e.g. `pcl_Xk3f9QaZ_<43 chars>`:
 * `id` is 8 random alphanumerics that listings may show, `secret` 256 random
 * bits in base64url. `scheme` is a short lowercase tag such as `pcl`.
 */
export function generateToken(scheme: string): GeneratedToken {
  if (typeof scheme !== 'string' || !SCHEME.test(scheme)) {
    throw new TypeError('token scheme must be 1-16 lowercase letters or digits, starting with a letter');
  }
  let id = '';
  for (let i = 0; i < TOKEN_ID_LENGTH; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  const token = `${scheme}_${id}_${randomBytes(TOKEN_SECRET_BYTES).toString('base64url')}`;
  return { token, prefix: `${scheme}_${id}`, hash: hashToken(token) };
}

/** The displayable `<scheme>_<id>` of a presented token, or undefined when it is not shaped like one. */
export function tokenPrefix(token: string): string | undefined {
  if (typeof token !== 'string') return undefined;
  const first = token.indexOf('_');
  const second = token.indexOf('_', first + 1);
  if (first < 0 || second < 0 || second === token.length - 1) return undefined;
  const scheme = token.slice(0, first);
  const id = token.slice(first + 1, second);
  return SCHEME.test(scheme) && ID.test(id) ? `${scheme}_${id}` : undefined;
}
