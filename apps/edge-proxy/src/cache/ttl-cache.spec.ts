import { FrozenClock } from '../../test/frozen-clock';
import { TtlCache } from './ttl-cache';

describe(TtlCache.name, () => {
  let clock: FrozenClock;
  let cache: TtlCache<string>;

  beforeEach(() => {
    clock = new FrozenClock();
    cache = new TtlCache(clock, 3);
  });

  describe('getOrLoad', () => {
    it('serves a loaded value until it expires, then loads again', async () => {
      const load = jest.fn(async () => ({ value: 'v', cacheUntil: clock.time + 1000 }));
      await cache.getOrLoad('k', load);
      clock.time += 999;
      await cache.getOrLoad('k', load);
      expect(load).toHaveBeenCalledTimes(1);
      clock.time += 1;
      await cache.getOrLoad('k', load);
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('does not store a value whose cache lifetime is already over', async () => {
      await cache.getOrLoad('k', async () => ({ value: 'v', cacheUntil: clock.time }));
      expect(cache.get('k')).toBeUndefined();
    });

    it('shares one load between concurrent misses on the same key', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const load = jest.fn(async () => {
        await gate;
        return { value: 'v', cacheUntil: clock.time + 1000 };
      });
      const both = Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);
      release();
      expect(await both).toEqual(['v', 'v']);
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('does not cache a failed load', async () => {
      await expect(cache.getOrLoad('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
      expect(await cache.getOrLoad('k', async () => ({ value: 'v', cacheUntil: clock.time + 1000 }))).toBe('v');
    });

    it('evicts the oldest entries beyond its bound', async () => {
      for (const key of ['a', 'b', 'c', 'd']) await cache.getOrLoad(key, async () => ({ value: key, cacheUntil: clock.time + 1000 }));
      expect(cache.size).toBe(3);
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('d')).toBe('d');
    });
  });

  describe('hit', () => {
    it('answers from the cache alone, counting only what it served', async () => {
      expect(cache.hit('k')).toBeUndefined();
      await cache.getOrLoad('k', async () => ({ value: 'v', cacheUntil: clock.time + 1000 }));
      expect(cache.stats).toEqual({ hits: 0, misses: 1 });
      expect(cache.hit('k')).toBe('v');
      expect(cache.hit('k', (value) => value !== 'v')).toBeUndefined(); // cached, but not usable here: not a hit
      expect(cache.stats).toEqual({ hits: 1, misses: 1 });
      clock.time += 1000;
      expect(cache.hit('k')).toBeUndefined();
    });
  });

  describe('deleteWhere', () => {
    it('drops the matching entries only', async () => {
      await cache.getOrLoad('a', async () => ({ value: 'keep', cacheUntil: clock.time + 1000 }));
      await cache.getOrLoad('b', async () => ({ value: 'drop', cacheUntil: clock.time + 1000 }));
      expect(cache.deleteWhere((value) => value === 'drop')).toBe(1);
      expect(cache.get('a')).toBe('keep');
      expect(cache.get('b')).toBeUndefined();
    });

    it('stops a revoked value loaded before the revocation from being cached afterwards', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const stale = cache.getOrLoad('k', async () => {
        await gate;
        return { value: 'stale', cacheUntil: clock.time + 1000 };
      });
      cache.deleteWhere(() => true);
      release();
      expect(await stale).toBe('stale');
      const load = jest.fn(async () => ({ value: 'fresh', cacheUntil: clock.time + 1000 }));
      expect(await cache.getOrLoad('k', load)).toBe('fresh');
      expect(load).toHaveBeenCalledTimes(1);
    });
  });
});
