import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuthenticationHandler } from './authentication.handler';
import { AuthenticationService } from './authentication.service';

@Module({
  imports: [ApiKeysModule],
  providers: [AuthenticationService, AuthenticationHandler],
})
export class AuthenticationModule {}
