import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, type ConnectionStatus, type ConnectionView, type Principal, type VaultServer } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../../clock';
import { ConsentFlowService } from '../consent/consent-flow.service';
import { TokenEndpointClient } from '../http/token-endpoint.client';
import { OAuthAudit } from '../oauth-audit';
import { OAuthSettingsRepository } from '../settings/oauth-settings.repository';
import { OAuthSettingsService } from '../settings/oauth-settings.service';
import type { OAuthTokenEntity } from './oauth-token.entity';
import { OAuthTokenRepository } from './oauth-token.repository';
import { TokenSealer } from './token-sealer';
import { isExpired } from './token-freshness';

/** Users' connections (principal, server): status, listing and disconnection. Never returns a token. */
@Injectable()
export class ConnectionsService {
  constructor(
    private readonly tokens: OAuthTokenRepository,
    private readonly settingsRepository: OAuthSettingsRepository,
    private readonly settingsService: OAuthSettingsService,
    private readonly consent: ConsentFlowService,
    private readonly endpoint: TokenEndpointClient,
    private readonly sealer: TokenSealer,
    private readonly audit: OAuthAudit,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** `GET /me/connections/{slug}/authorize`: whether the user must consent, and the flow to do it with. */
  async status(principal: Principal, server: VaultServer): Promise<{ status: ConnectionStatus; flowId: string | null }> {
    if (server.authType !== 'oauth2') return { status: 'authentication_not_required', flowId: null };
    const settings = await this.settingsRepository.find(server.id);
    if (settings?.grantType !== 'authorization_code') return { status: 'authentication_not_required', flowId: null };
    const row = await this.tokens.find(server.id, principal.id);
    if (row && isUsable(row, this.clock.now())) return { status: 'authenticated', flowId: null };
    const { flowId } = await this.consent.start(principal, server);
    return { status: 'authentication_required', flowId };
  }

  async list(filter: { principalId: string } | { serverId: string }): Promise<ConnectionView[]> {
    return (await this.tokens.listBy(filter)).map((row) => ({
      serverId: row.serverId,
      principalId: row.principalId!,
      status: row.status,
      scopes: row.scopes,
      expiresAt: row.expiresAt?.toISOString() ?? null,
      updatedAt: row.updatedAt.toISOString(),
    }));
  }

  /**
   * Deletes the connection, then revokes (RFC 7009) its refresh token and
   * access token where the provider has a revocation endpoint. The row is
   * gone whatever the provider answers.
   */
  async delete(principalId: string, serverId: string): Promise<{ deleted: boolean; revokedAtProvider: boolean }> {
    const row = await this.tokens.deletePair(serverId, principalId);
    if (!row) return { deleted: false, revokedAtProvider: false };
    const revokedAtProvider = await this.revoke(row);
    this.log.info({ credentialId: row.id, serverId, principalId, revokedAtProvider }, 'connection deleted');
    this.audit.record({
      action: 'credential.revoked',
      outcome: 'success',
      principal: { id: principalId, kind: row.principalKind },
      server: (await this.settingsRepository.find(serverId))?.serverSlug ?? serverId,
      credentialId: row.id,
      reason: revokedAtProvider ? 'connection deleted; revoked at the provider' : 'connection deleted; not revoked at the provider',
    });
    await this.bus.emit(EventSubjects.vaultChanged, { serverId, principalId });
    return { deleted: true, revokedAtProvider };
  }

  private async revoke(row: OAuthTokenEntity): Promise<boolean> {
    const settings = await this.settingsRepository.find(row.serverId);
    if (!settings?.revocationUrl || row.sealedAccessToken === null) return false;
    try {
      const client = this.settingsService.clientOf(settings);
      // The refresh token first: revoking it ends the grant, so no new access token can be minted meanwhile.
      let revoked = false;
      if (row.sealedRefreshToken !== null) revoked = await this.endpoint.revoke(client, this.sealer.refreshToken(row, settings.serverSlug), 'refresh_token');
      // A provider may refuse to revoke self-contained (JWT) access tokens; the refresh token was what mattered.
      const accessRevoked = await this.endpoint.revoke(client, this.sealer.accessToken(row, settings.serverSlug), 'access_token');
      return revoked || accessRevoked;
    } catch (error) {
      this.log.warn({ credentialId: row.id, serverId: row.serverId, code: (error as { code?: unknown }).code }, 'revocation at the provider failed');
      return false;
    }
  }
}

function isUsable(row: OAuthTokenEntity, now: Date): boolean {
  return row.status === 'active' && row.sealedAccessToken !== null && (row.sealedRefreshToken !== null || !isExpired(row, now));
}
