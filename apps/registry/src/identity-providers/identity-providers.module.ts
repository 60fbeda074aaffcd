import { Module } from '@nestjs/common';
import { IdentityProviderController } from './identity-provider.controller';
import { IdentityProviderService } from './identity-provider.service';

@Module({
  controllers: [IdentityProviderController],
  providers: [IdentityProviderService],
})
export class IdentityProvidersModule {}
