import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, type OAuthSettings, type OAuthSettingsView, type VaultServer } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../../clock';
import { CredentialUnreadableError, OAuthNotConfiguredError } from '../../errors';
import type { OAuthClientConfig } from '../http/token-endpoint.client';
import { OAuthBindings } from '../oauth-binding';
import { OAuthSettingsEntity } from './oauth-settings.entity';
import { OAuthSettingsRepository } from './oauth-settings.repository';

/** Settings whose change makes existing connections belong to something else. */
const IDENTITY_FIELDS = ['grantType', 'clientId', 'authorizationUrl', 'tokenUrl', 'resource'] as const;

/** Per-server upstream OAuth settings; the client secret is write-only and sealed. */
@Injectable()
export class OAuthSettingsService {
  constructor(
    private readonly repository: OAuthSettingsRepository,
    private readonly cipher: EnvelopeCipher,
    private readonly keyring: Keyring,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Replaces the server's settings. A client secret left out keeps the stored
   * one. Changing the grant, client, endpoints or resource drops the server's
   * connections, which the new settings could not refresh anyway.
   */
  async put(server: VaultServer, settings: OAuthSettings): Promise<OAuthSettingsView> {
    const { stored, forgotten } = await this.repository.inServerTransaction(server.id, async (manager) => {
      const current = await this.repository.findIn(manager, server.id);
      const now = this.clock.now();
      const next = Object.assign(new OAuthSettingsEntity(), {
        serverId: server.id,
        serverSlug: server.slug,
        resource: server.url,
        grantType: settings.grantType,
        clientId: settings.clientId ?? null,
        sealedClientSecret: current?.sealedClientSecret ?? null,
        keyId: current?.keyId ?? null,
        authorizationUrl: settings.authorizationUrl ?? null,
        tokenUrl: settings.tokenUrl ?? null,
        revocationUrl: settings.revocationUrl ?? null,
        issuer: settings.issuer ?? null,
        scopes: settings.scopes,
        tokenEndpointAuthMethod: settings.tokenEndpointAuthMethod,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      } satisfies OAuthSettingsEntity);
      if (settings.clientSecret !== undefined) {
        next.sealedClientSecret = this.cipher.encrypt(settings.clientSecret, OAuthBindings.clientSecret(server.id));
        next.keyId = this.keyring.activeKid;
      }
      const changed = current !== null && IDENTITY_FIELDS.some((field) => current[field] !== next[field]);
      const forgotten = changed ? await this.repository.forgetConnectionsIn(manager, server.id) : 0;
      await this.repository.saveIn(manager, next);
      return { stored: next, forgotten };
    });
    this.log.info({ serverId: server.id, grantType: settings.grantType, forgottenConnections: forgotten }, 'server OAuth settings replaced');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId: server.id, principalId: null });
    return viewOf(stored);
  }

  /** Forgets a deleted server: its settings, pending flows and connections (tokens are not revoked). Returns the connections dropped. */
  async deleteServer(serverId: string): Promise<number> {
    const dropped = await this.repository.inServerTransaction(serverId, async (manager) => {
      const connections = await this.repository.forgetConnectionsIn(manager, serverId);
      await this.repository.deleteIn(manager, serverId);
      return connections;
    });
    this.log.info({ serverId, droppedConnections: dropped }, 'server OAuth settings and connections deleted');
    return dropped;
  }

  async view(serverId: string): Promise<OAuthSettingsView | null> {
    const stored = await this.repository.find(serverId);
    return stored && viewOf(stored);
  }

  /** The server's settings, or OAuthNotConfiguredError. */
  async require(serverId: string, serverSlug: string): Promise<OAuthSettingsEntity> {
    const stored = await this.repository.find(serverId);
    if (!stored) throw new OAuthNotConfiguredError(serverSlug, 'no OAuth settings');
    return stored;
  }

  /** The client to call the token endpoint with; the secret is opened here and lives only in the returned object. */
  clientOf(settings: OAuthSettingsEntity): OAuthClientConfig {
    if (!settings.clientId) throw new OAuthNotConfiguredError(settings.serverSlug, 'client id');
    if (!settings.tokenUrl) throw new OAuthNotConfiguredError(settings.serverSlug, 'token URL');
    if (settings.tokenEndpointAuthMethod !== 'none' && !settings.sealedClientSecret) throw new OAuthNotConfiguredError(settings.serverSlug, 'client secret');
    return {
      clientId: settings.clientId,
      clientSecret: settings.sealedClientSecret === null ? null : this.openSecret(settings),
      tokenUrl: settings.tokenUrl,
      revocationUrl: settings.revocationUrl,
      authMethod: settings.tokenEndpointAuthMethod,
    };
  }

  private openSecret(settings: OAuthSettingsEntity): string {
    try {
      return this.cipher.decrypt(settings.sealedClientSecret!, OAuthBindings.clientSecret(settings.serverId));
    } catch (error) {
      this.log.error({ serverId: settings.serverId, keyId: settings.keyId, code: (error as { code?: unknown }).code }, 'stored OAuth client secret does not decrypt');
      throw new CredentialUnreadableError(settings.serverSlug, settings.serverId, { cause: error });
    }
  }
}

function viewOf(stored: OAuthSettingsEntity): OAuthSettingsView {
  return {
    grantType: stored.grantType,
    ...(stored.clientId !== null && { clientId: stored.clientId }),
    ...(stored.authorizationUrl !== null && { authorizationUrl: stored.authorizationUrl }),
    ...(stored.tokenUrl !== null && { tokenUrl: stored.tokenUrl }),
    ...(stored.revocationUrl !== null && { revocationUrl: stored.revocationUrl }),
    ...(stored.issuer !== null && { issuer: stored.issuer }),
    scopes: stored.scopes,
    tokenEndpointAuthMethod: stored.tokenEndpointAuthMethod,
    hasClientSecret: stored.sealedClientSecret !== null,
  };
}
