import type { ClaimRule } from '@portcullis/contracts';

type Claims = Record<string, unknown>;

/** A claim by name; a dotted name (`realm_access.roles`) walks into objects when no claim has the literal name. */
export function claimValue(claims: Claims, name: string): unknown {
  if (name in claims) return claims[name];
  let current: unknown = claims;
  for (const part of name.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Claims)[part];
  }
  return current;
}

function matches(rule: ClaimRule, claims: Claims): boolean {
  const value = claimValue(claims, rule.claim);
  const accepted = 'equals' in rule ? [rule.equals] : rule.in;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => accepted.some((a) => a === v));
}

/**
 * How many rules the claims match, or null when one does not match (a
 * provider accepts a token only when all its rules hold). A provider with no
 * rules matches every token with 0.
 */
export function countMatchingRules(rules: readonly ClaimRule[], claims: Claims): number | null {
  return rules.every((rule) => matches(rule, claims)) ? rules.length : null;
}

/**
 * Among providers sharing an issuer, the one whose rules match the most
 * claims; ties go to the first (the list is sorted by name). None when no
 * provider's rules all hold.
 */
export function selectProvider<P extends { settings: { claimRules: readonly ClaimRule[] } }>(providers: readonly P[], claims: Claims): P | undefined {
  let best: { provider: P; score: number } | undefined;
  for (const provider of providers) {
    const score = countMatchingRules(provider.settings.claimRules, claims);
    if (score !== null && (best === undefined || score > best.score)) best = { provider, score };
  }
  return best?.provider;
}
