import { Module } from '@nestjs/common';
import { AuthenticationModule } from '../authentication/authentication.module';
import { GatewayTokensModule } from './gateway-tokens.module';
import { TokenExchangeHandler } from './token-exchange.handler';
import { TokenExchangeService } from './token-exchange.service';

/** `identity.exchange` (RFC 8693) and `identity.jwks`. */
@Module({
  imports: [AuthenticationModule, GatewayTokensModule],
  providers: [TokenExchangeService, TokenExchangeHandler],
})
export class TokenExchangeModule {}
