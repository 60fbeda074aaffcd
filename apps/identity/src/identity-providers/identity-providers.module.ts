import { Module } from '@nestjs/common';
import { IdentityProviderHandler } from './identity-provider.handler';
import { IdentityProviderRepository } from './identity-provider.repository';
import { IdentityProviderService } from './identity-provider.service';

@Module({
  providers: [IdentityProviderRepository, IdentityProviderService, IdentityProviderHandler],
  exports: [IdentityProviderRepository],
})
export class IdentityProvidersModule {}
