import { Module } from '@nestjs/common';
import { AuditSpoolModule } from '../audit-spool/audit-spool.module';
import { TokenExchangeController } from './token-exchange.controller';
import { EdgeTokenExchangeService } from './token-exchange.service';

/** `POST /oauth/token` (RFC 8693) and `GET /.well-known/jwks.json`, both answered by identity over the bus. */
@Module({
  imports: [AuditSpoolModule],
  controllers: [TokenExchangeController],
  providers: [EdgeTokenExchangeService],
})
export class TokenExchangeModule {}
