import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BrowserLoginModule } from '../browser-login/browser-login.module';
import { ConnectionsService } from './connections.service';
import { ConsentController } from './consent.controller';
import { MyConnectionsController } from './my-connections.controller';

/** Upstream consent pages (`/connect`, `/oauth/callback`) and the caller's own connections and values (`/me/connections`, `/me/credentials`). */
@Module({
  imports: [AccessModule, BrowserLoginModule],
  controllers: [ConsentController, MyConnectionsController],
  providers: [ConnectionsService],
})
export class ConnectionsModule {}
