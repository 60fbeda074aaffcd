import { Module } from '@nestjs/common';
import { ServerVaultClient } from './server-vault.client';
import { ServerController } from './server.controller';
import { ServerHandler } from './server.handler';
import { ServerRepository } from './server.repository';
import { ServerService } from './server.service';

@Module({
  controllers: [ServerController],
  providers: [ServerRepository, ServerService, ServerVaultClient, ServerHandler],
})
export class ServersModule {}
