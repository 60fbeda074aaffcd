import { Inject, Injectable } from '@nestjs/common';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { CredentialUnreadableError } from '../../errors';
import type { IssuedTokens } from '../http/token-endpoint.client';
import { OAuthBindings } from '../oauth-binding';
import type { OAuthTokenEntity } from './oauth-token.entity';

/** Seals tokens into their row and opens them again; the only place OAuth tokens exist in clear. */
@Injectable()
export class TokenSealer {
  constructor(
    private readonly cipher: EnvelopeCipher,
    private readonly keyring: Keyring,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Puts freshly issued tokens into the row. On a refresh, a provider that
   * sent no new refresh token keeps the old one valid (RFC 6749 §6), so it is
   * kept; a new consent (`keepRefreshToken: false`) replaces the pair whole.
   */
  store(row: OAuthTokenEntity, tokens: IssuedTokens, requestedScopes: string[], now: Date, { keepRefreshToken = true } = {}): void {
    row.sealedAccessToken = this.cipher.encrypt(tokens.accessToken, OAuthBindings.token(row, 'access_token'));
    if (tokens.refreshToken !== null) row.sealedRefreshToken = this.cipher.encrypt(tokens.refreshToken, OAuthBindings.token(row, 'refresh_token'));
    else if (!keepRefreshToken || row.sealedRefreshToken === null) row.sealedRefreshToken = null;
    // Re-wrapped so it sits under the active key, like the new access token (the row has one key id).
    else row.sealedRefreshToken = this.cipher.rewrap(row.sealedRefreshToken, OAuthBindings.token(row, 'refresh_token'));
    row.keyId = this.keyring.activeKid;
    row.status = 'active';
    row.scopes = tokens.scopes ?? requestedScopes;
    row.issuedAt = now;
    row.expiresAt = tokens.expiresIn === null ? null : new Date(now.getTime() + tokens.expiresIn * 1000);
    row.refreshFailures = 0;
    row.retryAfter = null;
    row.updatedAt = now;
  }

  /** The provider refused the refresh token: the tokens are of no more use. */
  markNeedsConsent(row: OAuthTokenEntity, now: Date): void {
    row.status = 'needs_consent';
    row.sealedAccessToken = null;
    row.sealedRefreshToken = null;
    row.keyId = null;
    row.expiresAt = null;
    row.refreshFailures = 0;
    row.retryAfter = null;
    row.updatedAt = now;
  }

  accessToken(row: OAuthTokenEntity, serverSlug: string): string {
    return this.open(row, 'access_token', row.sealedAccessToken, serverSlug);
  }

  refreshToken(row: OAuthTokenEntity, serverSlug: string): string {
    return this.open(row, 'refresh_token', row.sealedRefreshToken, serverSlug);
  }

  private open(row: OAuthTokenEntity, which: 'access_token' | 'refresh_token', sealed: string | null, serverSlug: string): string {
    try {
      if (sealed === null) throw new TypeError(`row has no ${which}`);
      return this.cipher.decrypt(sealed, OAuthBindings.token(row, which));
    } catch (error) {
      this.log.error({ credentialId: row.id, serverId: row.serverId, keyId: row.keyId, tokenKind: which, code: (error as { code?: unknown }).code }, 'stored OAuth token does not decrypt');
      throw new CredentialUnreadableError(serverSlug, row.id, { cause: error });
    }
  }
}
