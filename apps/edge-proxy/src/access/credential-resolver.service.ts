import { Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { Principal, RequestSubjects, ResolvedCredential, ServerTarget } from '@portcullis/contracts';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { CredentialUnavailableError } from '../errors';
import { checkInjectedHeaders } from '../mcp/forwarded-headers';
import { BUS_REQUEST_TIMEOUT_MS, isServiceFailure, serviceUnavailable } from './bus-failures';

/** Longest a credential is served from cache when it does not expire sooner. */
export const CREDENTIAL_CACHE_TTL_MS = 5 * 60_000;
/** A credential leaves the cache this long before it expires, so none is used at the edge of its life. */
export const CREDENTIAL_EXPIRY_SKEW_MS = 30_000;

interface CachedCredential {
  principalId: string;
  serverId: string;
  credential: ResolvedCredential;
}

/** Asks token-vault which headers to inject upstream for (principal, server), cached until shortly before they expire. */
@Injectable()
export class CredentialResolver {
  private readonly cache: TtlCache<CachedCredential>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {
    this.cache = new TtlCache(clock);
  }

  /** @throws CredentialUnavailableError when the vault has none to give; DependencyUnavailableError when it is down. */
  async resolve(principal: Principal, target: ServerTarget): Promise<ResolvedCredential> {
    try {
      const cached = await this.cache.getOrLoad(`${principal.id}\n${target.id}`, async () => {
        const credential = await this.bus.request(
          RequestSubjects.vaultCredentialResolve,
          { principal, server: { id: target.id, slug: target.slug, authType: target.authType } },
          { timeoutMs: BUS_REQUEST_TIMEOUT_MS },
        );
        // Frozen and checked once here, so calls served from this entry reuse the check (the headers cannot change under it).
        Object.freeze(credential.headers);
        checkInjectedHeaders(credential.headers);
        const maxAge = this.clock.now().getTime() + CREDENTIAL_CACHE_TTL_MS;
        const cacheUntil = credential.expiresAt === null ? maxAge : Math.min(maxAge, Date.parse(credential.expiresAt) - CREDENTIAL_EXPIRY_SKEW_MS);
        return { value: { principalId: principal.id, serverId: target.id, credential }, cacheUntil };
      });
      return cached.credential;
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('token-vault', error);
      throw new CredentialUnavailableError(target.slug, { cause: error });
    }
  }

  /** Drops the credentials of one server: every principal's when `principalId` is null (a shared credential changed). */
  forgetServer(serverId: string, principalId: string | null): number {
    return this.cache.deleteWhere((entry) => entry.serverId === serverId && (principalId === null || entry.principalId === principalId));
  }

  forgetPrincipals(principalIds: readonly string[]): number {
    const ids = new Set(principalIds);
    return this.cache.deleteWhere((entry) => ids.has(entry.principalId));
  }

  /** Hit and miss counts of this resolver's cache, for metrics. */
  cacheStats(): Readonly<{ hits: number; misses: number }> {
    return this.cache.stats;
  }
}
