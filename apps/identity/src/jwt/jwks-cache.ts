import { Injectable } from '@nestjs/common';
import { createRemoteJWKSet, JWTVerifyGetKey } from 'jose';
import { Clock } from '../clock';
import { IdentityProviderUnavailableError } from '../errors';
import type { IdentityProviderEntity } from '../identity-providers/identity-provider.entity';

/**
 * Unknown `kid`s refetch the JWKS at most once per this long, so a flood of
 * forged tokens cannot turn the gateway into a traffic amplifier at the IdP.
 */
export const JWKS_COOLDOWN_MS = 30_000;
/** A JWKS is refetched after this long even when every kid is known (picks up revoked keys). */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
/** How long a discovery document is trusted before it is read again. */
export const DISCOVERY_MAX_AGE_MS = 60 * 60_000;
const FETCH_TIMEOUT_MS = 5_000;

/** Reads OpenID discovery documents; the only place identity calls out over HTTP itself (jose fetches the JWKS). */
@Injectable()
export class OidcDiscoveryClient {
  async jwksUri(discoveryUrl: string, expectedIssuer: string): Promise<string> {
    const response = await fetch(discoveryUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' }, redirect: 'error' });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery §4.3: the document must name the issuer we expect.
    if (document.issuer !== expectedIssuer) throw new Error('discovery document names another issuer');
    if (typeof document.jwks_uri !== 'string' || !/^https?:\/\//.test(document.jwks_uri)) throw new Error('discovery document has no usable jwks_uri');
    return document.jwks_uri;
  }
}

interface Entry {
  /** Provider id + settings version: an edited provider gets a fresh key set. */
  version: string;
  uri: string;
  keys: JWTVerifyGetKey;
  resolvedAt: number;
}

/** One remote key set per identity provider (per replica), built with jose's cooldown and cache. */
@Injectable()
export class JwksCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly discovery: OidcDiscoveryClient,
    private readonly clock: Clock,
  ) {}

  /** @throws IdentityProviderUnavailableError when the discovery document cannot be read. */
  async keysOf(provider: IdentityProviderEntity): Promise<JWTVerifyGetKey> {
    const version = `${provider.id}@${provider.updatedAt.toISOString()}`;
    const now = this.clock.now().getTime();
    const cached = this.entries.get(provider.id);
    if (cached && cached.version === version && (provider.settings.jwksUri !== null || now - cached.resolvedAt < DISCOVERY_MAX_AGE_MS)) {
      return cached.keys;
    }
    let jwksUri = provider.settings.jwksUri;
    if (jwksUri === null) {
      try {
        jwksUri = await this.discovery.jwksUri(provider.settings.discoveryUrl!, provider.settings.issuer);
      } catch (error) {
        throw new IdentityProviderUnavailableError(provider.name, { cause: error });
      }
    }
    // Rediscovering the same JWKS URI keeps the key set (and its cooldown).
    const keys =
      cached && cached.version === version && cached.uri === jwksUri
        ? cached.keys
        : createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: JWKS_COOLDOWN_MS, cacheMaxAge: JWKS_MAX_AGE_MS, timeoutDuration: FETCH_TIMEOUT_MS });
    this.entries.set(provider.id, { version, uri: jwksUri, keys, resolvedAt: now });
    return keys;
  }
}
