import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { VirtualAccountsModule } from '../virtual-accounts/virtual-accounts.module';
import { GatewayJwtService } from './gateway-jwt.service';
import { SigningKeyService } from './signing-key.service';

/** identity's own signing keys and the JWTs it signs with them. */
@Module({
  imports: [UsersModule, VirtualAccountsModule],
  providers: [SigningKeyService, GatewayJwtService],
  exports: [SigningKeyService, GatewayJwtService],
})
export class GatewayTokensModule {}
