import { Module } from '@nestjs/common';
import { ServersModule } from '../servers/servers.module';
import { UpstreamToolsClient } from './upstream-tools.client';
import { VirtualServerController } from './virtual-server.controller';
import { VirtualServerHandler } from './virtual-server.handler';
import { VirtualServerService } from './virtual-server.service';

@Module({
  imports: [ServersModule],
  controllers: [VirtualServerController],
  providers: [VirtualServerService, VirtualServerHandler, UpstreamToolsClient],
})
export class VirtualServersModule {}
