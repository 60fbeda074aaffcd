import { Injectable } from '@nestjs/common';
import { Bus, BusError } from '@portcullis/bus';
import { RequestSubjects, VirtualServerTarget } from '@portcullis/contracts';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { isServiceFailure, requestIdempotent, serviceUnavailable } from './bus-failures';

export const VIRTUAL_SERVER_CACHE_TTL_MS = 60_000;
const MAX_SLUG_LENGTH = 100;

/**
 * Whether `/mcp/{slug}` names a virtual server (`registry.virtual.resolve`),
 * cached per slug — the "no" answers too, so a warm plain server costs no
 * extra bus round trip. Any `events.registry.changed` drops everything.
 */
@Injectable()
export class VirtualServerResolver {
  private readonly cache: TtlCache<{ virtualServer: VirtualServerTarget | null }>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {
    this.cache = new TtlCache(clock);
  }

  /** What {@link find} would answer when it is cached (a virtual server, or null: not one), else undefined. */
  cached(slug: string): VirtualServerTarget | null | undefined {
    return this.cache.hit(slug)?.virtualServer;
  }

  /** The virtual server at `slug`, or null when the slug is not one. @throws DependencyUnavailableError when the registry is down. */
  async find(slug: string): Promise<VirtualServerTarget | null> {
    if (slug.length === 0 || slug.length > MAX_SLUG_LENGTH) return null;
    try {
      const entry = await this.cache.getOrLoad(slug, async () => {
        const cacheUntil = this.clock.nowMs() + VIRTUAL_SERVER_CACHE_TTL_MS;
        try {
          const { virtualServer } = await requestIdempotent(this.bus, RequestSubjects.registryResolveVirtual, { slug });
          return { value: { virtualServer }, cacheUntil };
        } catch (error) {
          if (error instanceof BusError && error.code === 'NOT_FOUND') return { value: { virtualServer: null }, cacheUntil };
          throw error;
        }
      });
      return entry.virtualServer;
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('registry', error);
      return null;
    }
  }

  forgetAll(): number {
    return this.cache.deleteWhere(() => true);
  }
}
