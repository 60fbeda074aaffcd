import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, type OAuthSettings, type OAuthSettingsView, type VaultServer } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../../clock';
import { CredentialUnreadableError, OAuthNotConfiguredError } from '../../errors';
import { OAuthDiscoveryError, OAuthDiscoveryService } from '../discovery/oauth-discovery.service';
import type { OAuthClientConfig } from '../http/token-endpoint.client';
import { OAUTH_OPTIONS, type OAuthOptions } from '../oauth.options';
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
    private readonly discovery: OAuthDiscoveryService,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthOptions,
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

  /**
   * The server's settings, completed by discovery and registration (once,
   * then stored) when the admin left out endpoints or the client; else
   * OAuthNotConfiguredError.
   */
  async require(serverId: string, serverSlug: string): Promise<OAuthSettingsEntity> {
    const stored = await this.repository.find(serverId);
    if (!stored) throw new OAuthNotConfiguredError(serverSlug, 'no OAuth settings');
    return missingFor(stored).length === 0 ? stored : this.completeByDiscovery(serverId, serverSlug);
  }

  private async completeByDiscovery(serverId: string, serverSlug: string): Promise<OAuthSettingsEntity> {
    const completed = await this.repository.inServerTransaction(serverId, async (manager) => {
      const current = await this.repository.findIn(manager, serverId);
      if (!current) throw new OAuthNotConfiguredError(serverSlug, 'no OAuth settings');
      // Another caller or replica may have completed them while this one waited for the lock.
      if (missingFor(current).length === 0) return current;
      try {
        // An admin-given issuer is trusted as is; otherwise the upstream names its AS (and the scopes it wants).
        const upstream = current.issuer === null ? await this.discovery.protectedResourceOf(current.resource) : null;
        const issuer = current.issuer ?? upstream!.issuer;
        const metadata = await this.discovery.metadataOf(issuer);
        if (current.scopes.length === 0 && upstream) current.scopes = upstream.scopes;
        current.issuer ??= issuer;
        current.authorizationUrl ??= metadata.authorizationUrl;
        current.tokenUrl ??= metadata.tokenUrl;
        current.revocationUrl ??= metadata.revocationUrl;
        if (!current.clientId) {
          if (current.grantType === 'authorization_code' && !this.options.publicUrl) throw new OAuthNotConfiguredError(serverSlug, 'PUBLIC_URL is not set on token-vault');
          const client = await this.discovery.clientFor(metadata, {
            grantType: current.grantType,
            redirectUri: current.grantType === 'authorization_code' ? `${this.options.publicUrl}/oauth/callback` : null,
            scopes: current.scopes,
          });
          current.clientId = client.clientId;
          current.tokenEndpointAuthMethod = client.authMethod;
          current.sealedClientSecret = client.clientSecret === null ? null : this.cipher.encrypt(client.clientSecret, OAuthBindings.clientSecret(serverId));
          current.keyId = client.clientSecret === null ? null : this.keyring.activeKid;
        }
      } catch (error) {
        if (error instanceof OAuthDiscoveryError) throw new OAuthNotConfiguredError(serverSlug, error.reason, { cause: error });
        throw error;
      }
      const missing = missingFor(current);
      if (missing.length > 0) throw new OAuthNotConfiguredError(serverSlug, `${missing.join(', ')} not found by discovery`);
      current.updatedAt = this.clock.now();
      await this.repository.saveIn(manager, current);
      return current;
    });
    this.log.info({ serverId, issuer: completed.issuer, clientId: completed.clientId }, 'server OAuth settings completed by discovery');
    return completed;
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

/** What a grant cannot work without; discovery and registration fill these in. */
function missingFor(settings: OAuthSettingsEntity): string[] {
  const missing: string[] = [];
  if (!settings.clientId) missing.push('client id');
  if (!settings.tokenUrl) missing.push('token URL');
  if (settings.grantType === 'authorization_code' && !settings.authorizationUrl) missing.push('authorization URL');
  return missing;
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
