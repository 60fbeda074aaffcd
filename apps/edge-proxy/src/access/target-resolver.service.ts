import { Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { RequestSubjects, ServerTarget } from '@portcullis/contracts';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { UnknownServerError } from '../errors';
import { isServiceFailure, requestIdempotent, serviceUnavailable } from './bus-failures';

export const TARGET_CACHE_TTL_MS = 60_000;
/** Longest slug the registry accepts; longer ones are unknown without asking. */
const MAX_SLUG_LENGTH = 100;

/** Resolves `/mcp/{slug}` to the upstream it names (`registry.resolve`), cached per slug. */
@Injectable()
export class TargetResolver {
  private readonly cache: TtlCache<ServerTarget>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {
    this.cache = new TtlCache(clock);
  }

  /** The target at `slug` when it is cached, else undefined (then {@link resolve}). */
  cached(slug: string): ServerTarget | undefined {
    return this.cache.hit(slug);
  }

  /** @throws UnknownServerError when the registry knows no such slug; DependencyUnavailableError when it is down. */
  async resolve(slug: string): Promise<ServerTarget> {
    if (slug.length === 0 || slug.length > MAX_SLUG_LENGTH) throw new UnknownServerError(slug);
    try {
      return await this.cache.getOrLoad(slug, async () => {
        const { target } = await requestIdempotent(this.bus, RequestSubjects.registryResolve, { slug });
        return { value: target, cacheUntil: this.clock.nowMs() + TARGET_CACHE_TTL_MS };
      });
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('registry', error);
      throw new UnknownServerError(slug, { cause: error });
    }
  }

  /** Drops a changed server, whether it is cached under its slug or (after a rename) under its old one. */
  forget(slug: string, serverId: string): number {
    return this.cache.deleteWhere((target, key) => key === slug || target.slug === slug || target.id === serverId);
  }

  /** Hit and miss counts of this resolver's cache, for metrics. */
  cacheStats(): Readonly<{ hits: number; misses: number }> {
    return this.cache.stats;
  }
}
