import { isScopeToken } from '@portcullis/contracts';

/** More scopes than any real token carries; the rest are dropped rather than kept in every cached principal. */
export const MAX_TOKEN_SCOPES = 200;

/**
 * The scopes a verified access token grants: RFC 9068 / RFC 8693 `scope` (a
 * space-delimited string), else `scp` (an array, or a space-delimited string as
 * Microsoft Entra issues it). A token with neither grants none (`[]`): an
 * identity-provider token is always scope-limited. Anything that is not an RFC
 * 6749 scope-token is ignored, so a scope never breaks a quoted header later.
 */
export function tokenScopes(claims: Record<string, unknown>): string[] {
  const raw = typeof claims['scope'] === 'string' ? claims['scope'] : claims['scp'];
  const listed = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  return [...new Set(listed.filter(isScopeToken))].slice(0, MAX_TOKEN_SCOPES);
}

/**
 * The scopes a delegated token may carry: what the subject token grants,
 * narrowed to those asked for (RFC 8693 `scope`), never widened. A subject
 * whose credential is not scope-limited (a gateway API key) gets exactly what
 * was asked for, or stays unlimited when nothing was.
 */
export function delegatedScopes(subjectScopes: readonly string[] | undefined, requested: string | undefined): string[] | undefined {
  const asked = requested === undefined ? undefined : tokenScopes({ scope: requested });
  if (subjectScopes === undefined) return asked;
  return asked === undefined ? [...subjectScopes] : asked.filter((scope) => subjectScopes.includes(scope));
}
