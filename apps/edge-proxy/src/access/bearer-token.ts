/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the
 * scheme is case-insensitive), or null when the request carries no bearer
 * token at all. A presented but malformed token is returned as is: identity
 * refuses it, and the challenge then says `invalid_token`.
 */
export function bearerToken(authorization: string | string[] | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  return match ? match[1] : null;
}
