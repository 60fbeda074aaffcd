import { Module } from '@nestjs/common';
import { AuthenticationModule } from '../authentication/authentication.module';
import { VirtualAccountsModule } from '../virtual-accounts/virtual-accounts.module';
import { GatewayTokensModule } from './gateway-tokens.module';
import { TokenExchangeHandler } from './token-exchange.handler';
import { TokenExchangeService } from './token-exchange.service';

/** `identity.exchange` (RFC 8693) and `identity.jwks`. */
@Module({
  imports: [AuthenticationModule, GatewayTokensModule, VirtualAccountsModule],
  providers: [TokenExchangeService, TokenExchangeHandler],
})
export class TokenExchangeModule {}
