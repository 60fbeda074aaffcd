import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { BrowserSessionsModule } from '../browser-sessions/browser-sessions.module';
import { JwtModule } from '../jwt/jwt.module';
import { GatewayTokensModule } from '../token-exchange/gateway-tokens.module';
import { UsersModule } from '../users/users.module';
import { VirtualAccountsModule } from '../virtual-accounts/virtual-accounts.module';
import { AuthenticationHandler } from './authentication.handler';
import { AuthenticationService } from './authentication.service';

@Module({
  imports: [ApiKeysModule, JwtModule, UsersModule, VirtualAccountsModule, GatewayTokensModule, BrowserSessionsModule],
  providers: [AuthenticationService, AuthenticationHandler],
  exports: [AuthenticationService],
})
export class AuthenticationModule {}
