import { z } from 'zod';
import { PrincipalSchema } from './principal.schema';

/** What a principal wants to do with a server: see it and its tools, call its tools, or configure it. */
export const AccessActions = ['list', 'call', 'manage'] as const;
export type AccessAction = (typeof AccessActions)[number];

/** Roles of DESIGN §9, weakest first; `admin` is the global administrator. */
export const AccessRoles = ['viewer', 'user', 'manager', 'admin'] as const;
export type AccessRole = (typeof AccessRoles)[number];

/** The weakest role that may perform each action. */
export const MinimumRoleFor = { list: 'viewer', call: 'user', manage: 'manager' } as const satisfies Record<AccessAction, AccessRole>;

export function roleRank(role: AccessRole | null): number {
  return role === null ? -1 : AccessRoles.indexOf(role);
}

/** A tool name glob: letters, digits, `_ - . / :`, with `*` (any run) and `?` (one character). */
export const TOOL_GLOB_PATTERN = /^[A-Za-z0-9_.\-/:*?]{1,200}$/;

/**
 * One restriction on the tools a principal sees: a tool passes when it matches
 * one `allow` glob (or `allow` is null: no allow-list) and no `deny` glob.
 */
export const ToolRuleSchema = z.object({
  allow: z.array(z.string()).nullable(),
  deny: z.array(z.string()),
});
export type ToolRule = z.infer<typeof ToolRuleSchema>;

export const AuthorizeRequestSchema = z.object({
  principal: PrincipalSchema,
  slug: z.string().min(1).max(100),
  action: z.enum(AccessActions),
});
export type AuthorizeRequest = z.infer<typeof AuthorizeRequestSchema>;

/**
 * `registry.authorize`: the decision for (principal, target, action).
 * `isToolVisible(decision, name)` is the authoritative reading of the tool
 * fields; `visibleTools` lists the names when the rules reduce to literal
 * names, and is null when every tool not hidden or denied is visible or the
 * rules use globs.
 */
export const AuthorizeResponseSchema = z.object({
  allowed: z.boolean(),
  /** The principal's effective role on the target (for on-behalf-of: the weaker of user and actor); null = none. */
  role: z.enum(AccessRoles).nullable(),
  reason: z.string(),
  visibleTools: z.array(z.string()).nullable(),
  /** Every rule must pass (on-behalf-of adds the actor's rules to the user's). */
  toolRules: z.array(ToolRuleSchema),
  /** Disabled tools: invisible to everyone, admins included. */
  hiddenTools: z.array(z.string()),
  /** Description overrides by tool name, applied to `tools/list`. */
  descriptions: z.record(z.string(), z.string()),
});
export type AuthorizeResponse = z.infer<typeof AuthorizeResponseSchema>;
export type AccessDecision = AuthorizeResponse;

/** Whether `name` matches `glob` (`*` any run of characters, `?` one character, everything else literal). */
export function toolGlobMatches(glob: string, name: string): boolean {
  // Iterative wildcard match: linear in practice, no regex built from input.
  let g = 0;
  let n = 0;
  let starG = -1;
  let starN = 0;
  while (n < name.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === name[n])) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      starG = g++;
      starN = n;
    } else if (starG !== -1) {
      g = starG + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** Whether a decision lets its principal see (and, with role user or above, call) the tool `name`. */
export function isToolVisible(decision: Pick<AccessDecision, 'toolRules' | 'hiddenTools'>, name: string): boolean {
  if (decision.hiddenTools.includes(name)) return false;
  return decision.toolRules.every(
    (rule) => (rule.allow === null || rule.allow.some((glob) => toolGlobMatches(glob, name))) && !rule.deny.some((glob) => toolGlobMatches(glob, name)),
  );
}
