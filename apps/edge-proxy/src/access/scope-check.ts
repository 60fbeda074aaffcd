import { Injectable } from '@nestjs/common';
import type { Principal } from '@portcullis/contracts';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { InsufficientScopeError, UnauthenticatedError, UnknownServerError } from '../errors';
import { TargetResolver } from './target-resolver.service';
import { VirtualServerResolver } from './virtual-server-resolver.service';

/** How long a slug that names nothing is remembered, so anonymous probes of made-up slugs cost one registry look-up per minute each. */
export const UNKNOWN_SLUG_TTL_MS = 60_000;
const MAX_UNKNOWN_SLUGS = 1_000;

/** What a scope check needs to know of a server or virtual server. */
export interface ScopedTarget {
  slug: string;
  requiredScopes?: readonly string[];
}

/**
 * The required scopes a principal's token does not grant, in the target's
 * order. A principal without `scopes` holds a credential that is not
 * scope-limited (a gateway API key, a virtual account's token, a browser
 * session: RBAC alone governs those) and lacks nothing.
 */
export function missingScopes(principal: Pick<Principal, 'scopes'>, target: ScopedTarget): string[] {
  const required = target.requiredScopes;
  if (!required || required.length === 0 || principal.scopes === undefined) return [];
  const granted = principal.scopes;
  return required.filter((scope) => !granted.includes(scope));
}

/** RFC 6750 §3.1: the refusal for a token that lacks a scope the target requires, or null when it lacks none. */
export function insufficientScope(principal: Pick<Principal, 'scopes'>, target: ScopedTarget): InsufficientScopeError | null {
  const missing = missingScopes(principal, target);
  return missing.length === 0 ? null : new InsufficientScopeError(target.slug, target.requiredScopes ?? [], missing);
}

/**
 * The scopes `/mcp/{slug}` requires, for its RFC 9728 metadata
 * (`scopes_supported`) and the `scope` of its 401 challenge (the MCP scope
 * selection strategy). Read through the edge's target caches; a slug that
 * names nothing, or a registry that does not answer, requires none here: the
 * request itself is still checked against the real target.
 */
@Injectable()
export class RequiredScopes {
  private readonly unknown: TtlCache<true>;

  constructor(
    private readonly targets: TargetResolver,
    private readonly virtualServers: VirtualServerResolver,
    private readonly clock: Clock,
  ) {
    this.unknown = new TtlCache(clock, MAX_UNKNOWN_SLUGS);
  }

  async of(slug: string): Promise<readonly string[]> {
    try {
      const virtualServer = await this.virtualServers.find(slug);
      if (virtualServer) return virtualServer.requiredScopes ?? [];
      if (this.unknown.get(slug)) return [];
      return (await this.targets.resolve(slug)).requiredScopes ?? [];
    } catch (error) {
      if (error instanceof UnknownServerError) await this.unknown.getOrLoad(slug, async () => ({ value: true, cacheUntil: this.clock.nowMs() + UNKNOWN_SLUG_TTL_MS }));
      return [];
    }
  }

  /** Rethrows a refused authentication with the scopes of `slug`, for its challenge; anything else unchanged. */
  async challenge(error: unknown, slug: string): Promise<never> {
    if (!(error instanceof UnauthenticatedError)) throw error;
    throw error.withRequiredScopes(await this.of(slug));
  }
}
