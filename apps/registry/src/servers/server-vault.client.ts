import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { RequestSubjects } from '@portcullis/contracts';
import { fromBusError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';

/** The token vault's admin operations on a server's credentials, over the bus. */
@Injectable()
export class ServerVaultClient {
  constructor(
    private readonly bus: Bus,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  /** Replaces the server's shared header credential. The values go to the vault and nowhere else. */
  async putHeaders(serverId: string, headers: Record<string, string>): Promise<void> {
    try {
      await this.bus.request(RequestSubjects.vaultAdminServerHeadersPut, { serverId, headers }, { timeoutMs: this.settings.dependencyTimeoutMs });
    } catch (error) {
      throw fromBusError('token-vault', error);
    }
  }

  /** Deletes every credential the vault holds for the server. */
  async deleteCredentials(serverId: string): Promise<void> {
    try {
      await this.bus.request(RequestSubjects.vaultAdminServerCredentialsDelete, { serverId }, { timeoutMs: this.settings.dependencyTimeoutMs });
    } catch (error) {
      throw fromBusError('token-vault', error);
    }
  }
}
