import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { ConnectionView, HeaderMode, Principal, OAuthSettings, OAuthSettingsView, RequestOf, RequestSubject, RequestSubjects, ResponseOf, VaultServer } from '@portcullis/contracts';
import { fromBusError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';

/** The token vault's admin operations on a server's credentials, over the bus. */
@Injectable()
export class ServerVaultClient {
  constructor(
    private readonly bus: Bus,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  /** Replaces the server's header set (values, or per-user templates). The values go to the vault and nowhere else. */
  async putHeaders(serverId: string, headers: Record<string, string>, mode: HeaderMode): Promise<void> {
    await this.ask(RequestSubjects.vaultAdminServerHeadersPut, { serverId, headers, mode });
  }

  /** Replaces the server's OAuth settings; the client secret goes to the vault and nowhere else. */
  async putOAuth(server: VaultServer, settings: OAuthSettings): Promise<OAuthSettingsView> {
    return (await this.ask(RequestSubjects.vaultAdminServerOAuthPut, { server, settings })).settings;
  }

  /** Deletes every credential the vault holds for the server. */
  async deleteCredentials(serverId: string): Promise<void> {
    await this.ask(RequestSubjects.vaultAdminServerCredentialsDelete, { serverId });
  }

  /** Every user's connection to the server: status, scopes, expiry — never a token. */
  async listConnections(serverId: string): Promise<ConnectionView[]> {
    return (await this.ask(RequestSubjects.vaultConnectionList, { serverId })).connections;
  }

  /** Disconnects one user from the server, revoking at the provider where it can. */
  async deleteConnection(serverId: string, principalId: string): Promise<ResponseOf<typeof RequestSubjects.vaultConnectionDelete>> {
    return this.ask(RequestSubjects.vaultConnectionDelete, { serverId, principalId });
  }

  /** A user's values for a per-user header server's template variables. */
  async putUserValues(principal: Principal, server: VaultServer, values: Record<string, string>): Promise<{ variables: string[] }> {
    return this.ask(RequestSubjects.vaultUserCredentialPut, { principal, server, values });
  }

  /** Forgets a user's values on a server; returns how many were stored. */
  async deleteUserValues(principalId: string, serverId: string): Promise<number> {
    return (await this.ask(RequestSubjects.vaultUserCredentialDelete, { principalId, serverId })).deleted;
  }

  /** Re-wraps every sealed value under the active key; can take a while on a large vault. */
  async rotateKeys(): Promise<ResponseOf<typeof RequestSubjects.vaultAdminKeysRotate>> {
    return this.ask(RequestSubjects.vaultAdminKeysRotate, { batchSize: 500 }, 10 * 60_000);
  }

  private async ask<S extends RequestSubject>(subject: S, payload: RequestOf<S>, timeoutMs = this.settings.dependencyTimeoutMs): Promise<ResponseOf<S>> {
    try {
      return await this.bus.request(subject, payload, { timeoutMs });
    } catch (error) {
      throw fromBusError('token-vault', error);
    }
  }
}
