import type { Principal, ServerTarget } from '@portcullis/contracts';

/**
 * Cache keys of (principal, target) pairs, built once per pair of objects.
 * The resolvers serve the same principal and target objects for as long as
 * they cache them, so a warm call finds its key here instead of building a
 * new string, which the key's cache would then flatten and hash again on every
 * call (docs/performance.md). Held weakly: a principal or target dropped from
 * its cache takes its keys with it.
 */
export class PairKeys<Target extends object = ServerTarget> {
  private readonly keys = new WeakMap<Principal, WeakMap<Target, string>>();

  /** `build` must depend on nothing but what a cached principal and target hold (they do not change). */
  constructor(private readonly build: (principal: Principal, target: Target) => string) {}

  of(principal: Principal, target: Target): string {
    let byTarget = this.keys.get(principal);
    if (byTarget === undefined) {
      byTarget = new WeakMap();
      this.keys.set(principal, byTarget);
    }
    let key = byTarget.get(target);
    if (key === undefined) {
      key = this.build(principal, target);
      byTarget.set(target, key);
    }
    return key;
  }
}
