import { AccessAction, AccessDecision, AccessRole, isToolVisible, MinimumRoleFor, Principal, roleRank, ToolRule } from '@portcullis/contracts';
import { actorPartyOf, Party, partyOf, subjectsOf } from './subject';

export type CollaboratorRole = Exclude<AccessRole, 'admin'>;

/** Everything that decides access to one target, loaded in one go. */
export interface TargetRules {
  slug: string;
  /** Collaborators of the target and of its group. */
  collaborators: readonly { subject: string; role: CollaboratorRole }[];
  tools: readonly { tool: string; disabled: boolean; description: string | null }[];
  policies: readonly { subject: string; allow: readonly string[] | null; deny: readonly string[] }[];
}

interface Side {
  role: AccessRole | null;
  rule: ToolRule | null;
  via: string | null;
}

const GLOB_CHARS = /[*?]/;

/**
 * Pure access decisions (DESIGN §9). Deny by default: no matching
 * collaborator, no role. A global admin holds every role and no tool policy
 * applies to them; disabled tools are hidden from everyone. With an actor
 * (on-behalf-of) the decision is the intersection: the weaker role, and both
 * sides' tool rules.
 */
export class PolicyEvaluator {
  evaluate(principal: Principal, rules: TargetRules, action: AccessAction): AccessDecision {
    const user = this.side(partyOf(principal), principal.isAdmin, rules);
    const actor = principal.actor ? this.side(actorPartyOf(principal.actor), false, rules) : null;
    const role = actor === null ? user.role : roleRank(actor.role) < roleRank(user.role) ? actor.role : user.role;
    const toolRules = [user.rule, actor?.rule ?? null].filter((rule): rule is ToolRule => rule !== null);
    const hiddenTools = rules.tools.filter((tool) => tool.disabled).map((tool) => tool.tool);
    const descriptions = Object.fromEntries(rules.tools.filter((tool) => !tool.disabled && tool.description !== null).map((tool) => [tool.tool, tool.description as string]));
    const allowed = roleRank(role) >= roleRank(MinimumRoleFor[action]);
    return {
      allowed,
      role,
      reason: this.reason(rules.slug, action, allowed, role, user, actor),
      visibleTools: this.visibleTools(toolRules, hiddenTools),
      toolRules,
      hiddenTools,
      descriptions,
    };
  }

  /** The role of a party on the target: the strongest role any of its subjects holds. */
  roleOf(party: Party, isAdmin: boolean, collaborators: TargetRules['collaborators']): { role: AccessRole | null; via: string | null } {
    if (isAdmin) return { role: 'admin', via: 'admin' };
    const subjects = subjectsOf(party);
    let best: { role: AccessRole | null; via: string | null } = { role: null, via: null };
    for (const collaborator of collaborators) {
      if (subjects.has(collaborator.subject) && roleRank(collaborator.role) > roleRank(best.role)) best = { role: collaborator.role, via: collaborator.subject };
    }
    return best;
  }

  private side(party: Party, isAdmin: boolean, rules: TargetRules): Side {
    const { role, via } = this.roleOf(party, isAdmin, rules.collaborators);
    if (isAdmin) return { role, via, rule: null };
    const subjects = subjectsOf(party);
    const matching = rules.policies.filter((policy) => subjects.has(policy.subject));
    if (matching.length === 0) return { role, via, rule: null };
    // An allow-list restricts as soon as one matching policy has one; several allow-lists add up. Every deny counts.
    const allowLists = matching.filter((policy) => policy.allow !== null).map((policy) => policy.allow as readonly string[]);
    return {
      role,
      via,
      rule: { allow: allowLists.length === 0 ? null : [...new Set(allowLists.flat())], deny: [...new Set(matching.flatMap((policy) => policy.deny))] },
    };
  }

  /** Explicit names when every allow-list is literal names; null when all tools pass or globs make the set open-ended. */
  private visibleTools(toolRules: ToolRule[], hiddenTools: string[]): string[] | null {
    const allowLists = toolRules.filter((rule) => rule.allow !== null).map((rule) => rule.allow as string[]);
    if (allowLists.length === 0 || allowLists.some((list) => list.some((glob) => GLOB_CHARS.test(glob)))) return null;
    const candidates = allowLists.reduce((acc, list) => acc.filter((name) => list.includes(name)));
    return [...new Set(candidates)].filter((name) => isToolVisible({ toolRules, hiddenTools }, name)).sort();
  }

  private reason(slug: string, action: AccessAction, allowed: boolean, role: AccessRole | null, user: Side, actor: Side | null): string {
    if (actor !== null && actor.role === null) return `the actor has no role on "${slug}"`;
    if (role === null) return `no role on "${slug}"`;
    const via = actor !== null && roleRank(actor.role) < roleRank(user.role) ? `the actor's role (via ${actor.via})` : `via ${user.via}`;
    return allowed ? `${action} allowed as ${role} ${via}` : `${action} needs the ${MinimumRoleFor[action]} role; ${role} ${via}`;
  }
}
