import { Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventOf, EventSubjects, Principal, RequestSubjects } from '@portcullis/contracts';
import { hashToken } from '@portcullis/crypto';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { UnauthenticatedError } from '../errors';
import { isServiceFailure, requestIdempotent, serviceUnavailable } from './bus-failures';

/** Longest a principal is served from cache, however long its token lives (DESIGN §4 step 2). */
export const PRINCIPAL_CACHE_TTL_MS = 60_000;

/** Turns a gateway bearer token into a principal (`identity.authenticate`), cached by the token's SHA-256. */
@Injectable()
export class PrincipalResolver {
  private readonly cache: TtlCache<Principal>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {
    this.cache = new TtlCache(clock);
  }

  /** The principal of `token` when it is cached, else undefined (then {@link authenticate}). */
  cached(token: string | null): Principal | undefined {
    return token === null ? undefined : this.cache.hit(hashToken(token));
  }

  /** @throws UnauthenticatedError when there is no token or identity refuses it; DependencyUnavailableError when identity is down. */
  async authenticate(token: string | null): Promise<Principal> {
    if (token === null) throw new UnauthenticatedError(false);
    try {
      // Only the hash is kept as a key, so a heap dump of the cache holds no usable token.
      return await this.cache.getOrLoad(hashToken(token), async () => {
        const { principal, expiresAt } = await requestIdempotent(this.bus, RequestSubjects.identityAuthenticate, { token });
        const maxAge = this.clock.nowMs() + PRINCIPAL_CACHE_TTL_MS;
        return { value: principal, cacheUntil: expiresAt === null ? maxAge : Math.min(maxAge, Date.parse(expiresAt)) };
      });
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('identity', error);
      throw new UnauthenticatedError(true, { cause: error });
    }
  }

  /** Drops every cached principal a revocation touches: by the key that authenticated it, by who it is, or by who acts for it. */
  forget(revoked: EventOf<typeof EventSubjects.identityRevoked>): number {
    const credentialIds = new Set(revoked.credentialIds);
    const principalIds = new Set(revoked.principalIds);
    const identityProviders = new Set(revoked.identityProviders ?? []);
    return this.cache.deleteWhere(
      (principal) =>
        principalIds.has(principal.id) ||
        (principal.idp !== undefined && identityProviders.has(principal.idp)) ||
        (principal.credentialId !== undefined && credentialIds.has(principal.credentialId)) ||
        (principal.actor !== undefined && principalIds.has(principal.actor.id)),
    );
  }

  /** Hit and miss counts of this resolver's cache, for metrics. */
  cacheStats(): Readonly<{ hits: number; misses: number }> {
    return this.cache.stats;
  }
}
