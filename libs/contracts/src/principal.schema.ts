import { z } from 'zod';

/** An RFC 6749 §3.3 scope-token: one or more of %x21 / %x23-5B / %x5D-7E (visible ASCII but `"` and `\`). */
export const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;
/** Most scopes a server or virtual server may require (MCP authorization, RFC 6750 §3.1). */
export const MAX_REQUIRED_SCOPES = 32;

export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN_PATTERN.test(value);
}

/** Scopes a target requires of callers whose token is scope-limited: distinct scope-tokens, at most {@link MAX_REQUIRED_SCOPES}. */
export const RequiredScopesSchema = z
  .array(z.string().regex(SCOPE_TOKEN_PATTERN, 'must be an RFC 6749 scope-token (visible ASCII without space, " or \\)'))
  .max(MAX_REQUIRED_SCOPES)
  .refine((scopes) => new Set(scopes).size === scopes.length, 'must not repeat a scope');

export const PrincipalKinds = ['user', 'virtual_account', 'external'] as const;

/** The principal id of a gateway user (`user:<user id>`), as identity issues it and the vault keys a user's credentials by it. */
export function userPrincipalId(userId: string): string {
  return `user:${userId}`;
}

export const PrincipalRefSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(PrincipalKinds),
  sub: z.string().min(1),
  email: z.string().optional(),
});
export type PrincipalRef = z.infer<typeof PrincipalRefSchema>;

/** Who is calling, as DESIGN §4 step 2 describes it. */
export const PrincipalSchema = PrincipalRefSchema.extend({
  displayName: z.string().optional(),
  teams: z.array(z.string()),
  isAdmin: z.boolean(),
  /** May read the audit trail (compliance API), nothing more; absent means false. */
  isAuditor: z.boolean().optional(),
  idp: z.string().optional(),
  /** The gateway credential (API key id) that authenticated this call. */
  credentialId: z.string().optional(),
  actor: PrincipalRefSchema.optional(),
  /**
   * The OAuth scopes the presented token grants (`scope` or `scp` of an identity provider's JWT, carried into a
   * gateway-issued token-exchange JWT). Absent: the credential is not scope-limited (gateway API keys, virtual
   * account tokens and browser sessions are governed by roles alone); `[]` grants no scope at all.
   */
  scopes: z.array(z.string()).optional(),
});
export type Principal = z.infer<typeof PrincipalSchema>;
