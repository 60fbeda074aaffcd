import { Module } from '@nestjs/common';
import { IdentityAdminModule } from '../identity-admin/identity-admin.module';
import { ServerCredentialController } from './server-credential.controller';
import { HostResolver, OutboundUrlPolicy } from './outbound-url.policy';
import { ServerVaultClient } from './server-vault.client';
import { SlugNamespace } from './slug-namespace';
import { ServerConnectionController } from './server-connection.controller';
import { ServerController } from './server.controller';
import { VaultKeyController } from './vault-key.controller';
import { ServerHandler } from './server.handler';
import { ServerRepository } from './server.repository';
import { ServerService } from './server.service';

@Module({
  imports: [IdentityAdminModule],
  controllers: [ServerController, ServerConnectionController, ServerCredentialController, VaultKeyController],
  providers: [ServerRepository, ServerService, ServerVaultClient, ServerHandler, HostResolver, OutboundUrlPolicy, SlugNamespace],
  exports: [SlugNamespace, OutboundUrlPolicy],
})
export class ServersModule {}
