import { Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { Principal, ReadyCredential, RequestOf, RequestSubjects, ResolvedCredential, ServerTarget, vaultServerOf } from '@portcullis/contracts';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { ConsentRequiredError, CredentialUnavailableError, PassthroughRefusedError, UserValueRequiredError } from '../errors';
import { checkInjectedHeaders } from '../mcp/forwarded-headers';
import { PublicUrls } from '../public-urls';
import { isServiceFailure, requestIdempotent, serviceUnavailable } from './bus-failures';
import { PairKeys } from './pair-keys';

type RejectedCredential = NonNullable<RequestOf<typeof RequestSubjects.vaultCredentialResolve>['rejected']>;

/** Longest a credential is served from cache when it does not expire sooner. */
export const CREDENTIAL_CACHE_TTL_MS = 5 * 60_000;
/** A credential leaves the cache this long before it expires, so none is used at the edge of its life. */
export const CREDENTIAL_EXPIRY_SKEW_MS = 30_000;

interface CachedCredential {
  principalId: string;
  serverId: string;
  credential: ResolvedCredential;
}

/** Compact JWS (three base64url parts): the only token shape an identity provider's access token has here. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The caller's bearer token when it is their identity provider's own JWT:
 * the principal was authenticated by an IdP (`idp`) and acts for nobody
 * (`actor` marks a token the gateway issued by token exchange, which carries
 * the subject's `idp` but is a gateway credential). Null otherwise: a gateway
 * API key, session or gateway JWT must never leave the gateway.
 */
function identityProviderToken(principal: Principal, callerToken: string | null): string | null {
  if (principal.idp === undefined || principal.actor !== undefined || callerToken === null) return null;
  return JWT_SHAPE.test(callerToken) ? callerToken : null;
}

/**
 * Asks token-vault which headers to inject upstream for (principal, server).
 * Only `ready` answers are cached (until shortly before they expire), keyed by
 * principal and server: a consent or value still missing is asked again on
 * the next call, so the retry after consent succeeds. The caller's token is
 * not part of the key; it is only needed on a miss (`token_exchange`).
 */
@Injectable()
export class CredentialResolver {
  private readonly cache: TtlCache<CachedCredential>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly urls: PublicUrls,
  ) {
    this.cache = new TtlCache(clock);
  }

  /**
   * @param callerToken the bearer token the principal was authenticated with: forwarded only for `passthrough`, and sent to
   *   the vault only for `token_exchange`, in both cases only when it is the caller's identity-provider JWT.
   * @throws ConsentRequiredError, UserValueRequiredError, PassthroughRefusedError when the user must act first;
   *   CredentialUnavailableError when the vault has none to give; DependencyUnavailableError when it is down.
   */
  /** The credential for `principal` on `target` when a ready one is cached (never for passthrough), else undefined (then {@link resolve}). */
  cached(principal: Principal, target: ServerTarget): ReadyCredential | undefined {
    if (target.authType === 'passthrough') return undefined;
    const entry = this.cache.hit(credentialKeys.of(principal, target), (cached) => cached.credential.status === 'ready');
    return entry?.credential as ReadyCredential | undefined;
  }

  async resolve(principal: Principal, target: ServerTarget, callerToken: string | null): Promise<ReadyCredential> {
    if (target.authType === 'passthrough') return this.passthrough(principal, target, callerToken);
    return this.resolveFromVault(principal, target, callerToken, null);
  }

  /**
   * After the upstream refused `rejected` (HTTP 401): the vault renews that
   * token once, however many callers report it, or asks for consent again.
   * @returns null when there is nothing to renew (no vault-issued OAuth token)
   */
  async renew(principal: Principal, target: ServerTarget, callerToken: string | null, rejected: ReadyCredential): Promise<ReadyCredential | null> {
    this.forgetServer(target.id, principal.id);
    if (rejected.credentialKind !== 'oauth2' || rejected.credentialId === null) return null;
    return this.resolveFromVault(principal, target, callerToken, { credentialId: rejected.credentialId, expiresAt: rejected.expiresAt });
  }

  private async resolveFromVault(principal: Principal, target: ServerTarget, callerToken: string | null, rejected: RejectedCredential | null): Promise<ReadyCredential> {
    let credential: ResolvedCredential;
    try {
      const cached = await this.cache.getOrLoad(credentialKeys.of(principal, target), () => this.load(principal, target, callerToken, rejected));
      credential = cached.credential;
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('token-vault', error);
      throw new CredentialUnavailableError(target.slug, { cause: error });
    }
    switch (credential.status) {
      case 'ready':
        return credential;
      case 'consent_required':
        throw new ConsentRequiredError([{ slug: target.slug, flowId: credential.flowId, url: this.urls.connect(credential.flowId) }]);
      case 'value_required':
        throw new UserValueRequiredError(target.slug, credential.variables, this.urls.userCredentials(target.slug));
    }
  }

  private async load(principal: Principal, target: ServerTarget, callerToken: string | null, rejected: RejectedCredential | null) {
    const subjectToken = target.authType === 'oauth2' && target.oauthGrantType === 'token_exchange' ? identityProviderToken(principal, callerToken) : null;
    const credential = await requestIdempotent(this.bus, RequestSubjects.vaultCredentialResolve, {
      principal,
      server: vaultServerOf(target),
      ...(subjectToken !== null ? { subjectToken } : {}),
      ...(rejected !== null ? { rejected } : {}),
    });
    // A consent or value still missing is never cached: the user may provide it any moment.
    if (credential.status !== 'ready') return { value: { principalId: principal.id, serverId: target.id, credential }, cacheUntil: 0 };
    // Frozen and checked once here, so calls served from this entry reuse the check (the headers cannot change under it).
    Object.freeze(credential.headers);
    checkInjectedHeaders(credential.headers);
    const maxAge = this.clock.nowMs() + CREDENTIAL_CACHE_TTL_MS;
    const cacheUntil = credential.expiresAt === null ? maxAge : Math.min(maxAge, Date.parse(credential.expiresAt) - CREDENTIAL_EXPIRY_SKEW_MS);
    return { value: { principalId: principal.id, serverId: target.id, credential }, cacheUntil };
  }

  /** The caller's own IdP JWT, unchanged (DESIGN §5); nothing is stored, so nothing is asked of the vault. */
  private passthrough(principal: Principal, target: ServerTarget, callerToken: string | null): ReadyCredential {
    const token = identityProviderToken(principal, callerToken);
    if (token === null) throw new PassthroughRefusedError(target.slug);
    return { status: 'ready', credentialKind: 'passthrough', credentialId: null, headers: { Authorization: `Bearer ${token}` }, expiresAt: null };
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

const credentialKeys = new PairKeys((principal, target) => `${principal.id}\n${target.id}`);
