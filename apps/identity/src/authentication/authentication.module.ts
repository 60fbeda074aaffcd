import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { JwtModule } from '../jwt/jwt.module';
import { AuthenticationHandler } from './authentication.handler';
import { AuthenticationService } from './authentication.service';

@Module({
  imports: [ApiKeysModule, JwtModule],
  providers: [AuthenticationService, AuthenticationHandler],
})
export class AuthenticationModule {}
