import { Module } from '@nestjs/common';
import { IdentityAdminClient } from '../identity-admin/identity-admin.client';
import { IdentityProviderController } from './identity-provider.controller';
import { IdentityProviderService } from './identity-provider.service';

@Module({
  controllers: [IdentityProviderController],
  providers: [IdentityAdminClient, IdentityProviderService],
})
export class IdentityProvidersModule {}
