import { Inject, Injectable } from '@nestjs/common';
import { TOKEN_EXCHANGE_GRANT_TYPE } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import type { EntityManager } from 'typeorm';
import { OAuthProviderRefusedError, OAuthProviderUnavailableError, VaultError } from '../../errors';
import { TokenEndpointClient } from '../http/token-endpoint.client';
import { OAuthAudit, type OAuthAuditEntry } from '../oauth-audit';
import type { OAuthSettingsEntity } from '../settings/oauth-settings.entity';
import { OAuthSettingsService } from '../settings/oauth-settings.service';
import type { OAuthTokenEntity } from './oauth-token.entity';
import { OAuthTokenRepository } from './oauth-token.repository';
import { TokenSealer } from './token-sealer';
import { backoffMs, isExpired } from './token-freshness';

export type RenewalOutcome =
  /** New tokens stored (and committed with the transaction). */
  | { kind: 'renewed'; row: OAuthTokenEntity }
  /** `invalid_grant` on a refresh token: the user must consent again. */
  | { kind: 'needs_consent'; row: OAuthTokenEntity }
  /** A transient failure (or backoff): the current token is still good to serve. */
  | { kind: 'kept'; row: OAuthTokenEntity }
  /** A transient failure and the current token has expired. */
  | { kind: 'failed'; error: Error };


/** The token request that renews a row: refresh_token for user connections, or the grant that fetched it. */
export type RenewalGrant = Record<string, string>;

/**
 * Renews one token row while the caller holds its lock. The rotated refresh
 * token is written in the caller's transaction, so it commits with the lock
 * released and is never lost to a concurrent refresh.
 */
@Injectable()
export class TokenRefresher {
  constructor(
    private readonly tokens: OAuthTokenRepository,
    private readonly endpoint: TokenEndpointClient,
    private readonly settingsService: OAuthSettingsService,
    private readonly sealer: TokenSealer,
    private readonly audit: OAuthAudit,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** The refresh_token request of a user connection. */
  refreshGrantOf(row: OAuthTokenEntity, settings: OAuthSettingsEntity): RenewalGrant {
    return { grant_type: 'refresh_token', refresh_token: this.sealer.refreshToken(row, settings.serverSlug), resource: settings.resource };
  }

  /** The client_credentials request of a server's own token. */
  clientCredentialsGrantOf(settings: OAuthSettingsEntity): RenewalGrant {
    return { grant_type: 'client_credentials', resource: settings.resource, ...(settings.scopes.length > 0 && { scope: settings.scopes.join(' ') }) };
  }

  /**
   * A row holding no token yet (a placeholder) has nothing to fall back on:
   * failures are thrown and the caller's transaction rolls back.
   */
  async renewLocked(manager: EntityManager, row: OAuthTokenEntity, settings: OAuthSettingsEntity, grant: RenewalGrant, now: Date): Promise<RenewalOutcome> {
    const hasToken = row.sealedAccessToken !== null;
    if (hasToken && row.retryAfter !== null && row.retryAfter.getTime() > now.getTime()) return this.fallBack(row, now, new OAuthProviderUnavailableError('backing off after a failed refresh'));
    const audit = (outcome: OAuthAuditEntry['outcome'], reason: string | null) =>
      this.audit.record({
        action: grant['grant_type'] === TOKEN_EXCHANGE_GRANT_TYPE ? 'token.exchange' : 'token.refresh',
        outcome,
        principal: row.principalId === null ? null : { id: row.principalId, kind: row.principalKind },
        server: settings.serverSlug,
        credentialId: row.id,
        reason,
      });
    try {
      const issued = await this.endpoint.requestToken(this.settingsService.clientOf(settings), grant);
      this.sealer.store(row, issued, settings.scopes, now);
      await this.tokens.saveIn(manager, row);
      this.log.info({ credentialId: row.id, serverId: row.serverId, principalId: row.principalId, grant: grant['grant_type'], rotated: issued.refreshToken !== null }, 'OAuth token renewed');
      audit('success', null);
      return { kind: 'renewed', row };
    } catch (error) {
      audit(error instanceof OAuthProviderRefusedError ? 'denied' : 'error', error instanceof VaultError ? error.message : 'unexpected error');
      if (!hasToken) throw error;
      if (error instanceof OAuthProviderRefusedError && error.error === 'invalid_grant' && grant['grant_type'] === 'refresh_token') {
        this.sealer.markNeedsConsent(row, now);
        await this.tokens.saveIn(manager, row);
        this.log.info({ credentialId: row.id, serverId: row.serverId, principalId: row.principalId }, 'refresh token refused (invalid_grant): connection needs consent');
        return { kind: 'needs_consent', row };
      }
      if (!(error instanceof OAuthProviderRefusedError || error instanceof OAuthProviderUnavailableError)) throw error;
      row.refreshFailures += 1;
      row.retryAfter = new Date(now.getTime() + backoffMs(row.refreshFailures));
      await this.tokens.saveIn(manager, row);
      this.log.warn({ credentialId: row.id, serverId: row.serverId, code: error.code, failures: row.refreshFailures, retryAfter: row.retryAfter }, 'OAuth token renewal failed; backing off');
      return this.fallBack(row, now, error);
    }
  }

  private fallBack(row: OAuthTokenEntity, now: Date, error: Error): RenewalOutcome {
    return isExpired(row, now) ? { kind: 'failed', error } : { kind: 'kept', row };
  }
}
