import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { ApiKeyHandler } from './api-key.handler';
import { ApiKeyRepository } from './api-key.repository';
import { ApiKeyService } from './api-key.service';

@Module({
  imports: [UsersModule],
  providers: [ApiKeyRepository, ApiKeyService, ApiKeyHandler],
  exports: [ApiKeyRepository],
})
export class ApiKeysModule {}
