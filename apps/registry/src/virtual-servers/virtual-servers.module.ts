import { Module } from '@nestjs/common';
import { ServersModule } from '../servers/servers.module';
import { VirtualServerController } from './virtual-server.controller';
import { VirtualServerHandler } from './virtual-server.handler';
import { VirtualServerService } from './virtual-server.service';

@Module({
  imports: [ServersModule],
  controllers: [VirtualServerController],
  providers: [VirtualServerService, VirtualServerHandler],
})
export class VirtualServersModule {}
