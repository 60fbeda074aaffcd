import { PreconditionFailedError } from '../errors';

/** The ETag of a versioned resource: a strong tag over its version counter. */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

/**
 * RFC 9110 §13.1.1: with `If-Match`, a change applies only when one listed
 * tag (or `*`) matches the current one. No header: the change applies
 * (clients opt in to the check).
 * @throws PreconditionFailedError naming `what` when no tag matches.
 */
export function checkIfMatch(header: string | undefined, version: number, what: string): void {
  if (header === undefined) return;
  const current = etagOf(version);
  const tags = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!tags.some((tag) => tag === '*' || tag === current)) throw new PreconditionFailedError(what);
}
