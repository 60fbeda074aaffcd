import type { Clock } from '../clock';

interface Entry<V> {
  value: V;
  /** Epoch milliseconds after which the entry is no longer served. */
  expiresAt: number;
}

export interface Loaded<V> {
  value: V;
  /** Epoch milliseconds until which the value may be served; at or before now means "do not cache". */
  cacheUntil: number;
}

/**
 * A bounded in-memory cache with per-entry expiry, single-flight loading and
 * invalidation that wins over loads in flight: a value fetched before an
 * invalidation arrived is returned to its caller but never stored, so a
 * revocation cannot be undone by a slow answer.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V>>();
  private generation = 0;
  /** Lookups served from the cache, and lookups that had to load (joining a load in flight counts as a miss). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.nowMs()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /**
   * The cached value when there is one and `usable` takes it, counted as a
   * hit; else undefined, not counted (the caller goes on to getOrLoad). The
   * hot path's way: no promise when the answer is at hand.
   */
  hit(key: string, usable?: (value: V) => boolean): V | undefined {
    const cached = this.get(key);
    if (cached === undefined || (usable !== undefined && !usable(cached))) return undefined;
    this.stats.hits++;
    return cached;
  }

  /** The cached value, or the one `load` produces; concurrent misses on one key share a single load. */
  async getOrLoad(key: string, load: () => Promise<Loaded<V>>): Promise<V> {
    const cached = this.hit(key);
    if (cached !== undefined) return cached;
    this.stats.misses++;
    const pending = this.inFlight.get(key);
    if (pending) return pending;

    const generation = this.generation;
    const loading: Promise<V> = load()
      .then(({ value, cacheUntil }) => {
        if (generation === this.generation && cacheUntil > this.clock.nowMs()) this.set(key, value, cacheUntil);
        return value;
      })
      .finally(() => {
        if (this.inFlight.get(key) === loading) this.inFlight.delete(key);
      });
    this.inFlight.set(key, loading);
    return loading;
  }

  /** Drops every entry `matches` selects, and keeps loads already in flight from being stored. */
  deleteWhere(matches: (value: V, key: string) => boolean): number {
    this.generation++;
    this.inFlight.clear();
    let deleted = 0;
    for (const [key, entry] of this.entries) {
      if (matches(entry.value, key)) {
        this.entries.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  get size(): number {
    return this.entries.size;
  }

  private set(key: string, value: V, expiresAt: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    // Map keeps insertion order: the first keys are the oldest writes.
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
