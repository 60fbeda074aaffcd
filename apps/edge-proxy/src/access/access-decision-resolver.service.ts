import { Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { AccessDecision, Principal, RequestSubjects, ServerTarget } from '@portcullis/contracts';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { UnknownServerError } from '../errors';
import { isServiceFailure, requestIdempotent, serviceUnavailable } from './bus-failures';
import { PairKeys } from './pair-keys';

/** Longest a decision is served from cache; `events.registry.changed` drops them all sooner. */
export const DECISION_CACHE_TTL_MS = 60_000;

interface CachedDecision {
  principalIds: string[];
  decision: AccessDecision;
}

/**
 * Asks the registry what a principal may do on a target (`registry.authorize`),
 * cached per (principal, actor, teams, admin flag, target). The teams and the
 * admin flag are part of the key, so a principal whose identity changed never
 * gets a decision made for its old self.
 */
@Injectable()
export class AccessDecisionResolver {
  private readonly cache: TtlCache<CachedDecision>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {
    this.cache = new TtlCache(clock);
  }

  /** The decision for `principal` on `target` when it is cached, else undefined (then {@link decide}). */
  cached(principal: Principal, target: Pick<ServerTarget, 'id' | 'slug'>): AccessDecision | undefined {
    return this.cache.hit(decisionKeys.of(principal, target))?.decision;
  }

  /** @throws UnknownServerError when the registry no longer knows the target; DependencyUnavailableError when it is down. */
  async decide(principal: Principal, target: Pick<ServerTarget, 'id' | 'slug'>): Promise<AccessDecision> {
    const key = decisionKeys.of(principal, target);
    try {
      const cached = await this.cache.getOrLoad(key, async () => {
        // `list` is the weakest action: the answer's role then tells the edge what else is allowed.
        const decision = await requestIdempotent(this.bus, RequestSubjects.registryAuthorize, { principal, slug: target.slug, action: 'list' });
        const principalIds = principal.actor ? [principal.id, principal.actor.id] : [principal.id];
        return { value: { principalIds, decision }, cacheUntil: this.clock.nowMs() + DECISION_CACHE_TTL_MS };
      });
      return cached.decision;
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('registry', error);
      throw new UnknownServerError(target.slug, { cause: error });
    }
  }

  /** A collaborator, group, policy or tool setting changed: any decision may be stale. */
  forgetAll(): number {
    return this.cache.deleteWhere(() => true);
  }

  forgetPrincipals(principalIds: readonly string[]): number {
    const ids = new Set(principalIds);
    return this.cache.deleteWhere((entry) => entry.principalIds.some((id) => ids.has(id)));
  }

  /** Hit and miss counts of this resolver's cache, for metrics. */
  cacheStats(): Readonly<{ hits: number; misses: number }> {
    return this.cache.stats;
  }
}

/** What a decision depends on: who asks (and for whom, in which teams, admin or not) and which server. */
const decisionKeys = new PairKeys<Pick<ServerTarget, 'id' | 'slug'>>((principal, target) =>
  JSON.stringify([principal.id, principal.actor?.id ?? null, [...principal.teams].sort(), principal.isAdmin, target.id, target.slug]),
);
