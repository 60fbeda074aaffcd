import { Module } from '@nestjs/common';
import { IdentityAdminClient } from '../identity-admin/identity-admin.client';
import { ApiKeyController } from './api-key.controller';
import { ApiKeyService } from './api-key.service';

@Module({
  controllers: [ApiKeyController],
  providers: [IdentityAdminClient, ApiKeyService],
})
export class ApiKeysModule {}
