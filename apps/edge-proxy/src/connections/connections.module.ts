import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BrowserLoginModule } from '../browser-login/browser-login.module';
import { ClientMetadataController } from './client-metadata.controller';
import { ConnectionsService } from './connections.service';
import { ConsentController } from './consent.controller';
import { MyConnectionsController } from './my-connections.controller';

/** Upstream consent pages (`/connect`, `/oauth/callback`), the gateway's OAuth client metadata (`/oauth/client-metadata.json`) and the caller's own connections and values (`/me/connections`, `/me/credentials`). */
@Module({
  imports: [AccessModule, BrowserLoginModule],
  controllers: [ConsentController, ClientMetadataController, MyConnectionsController],
  providers: [ConnectionsService],
})
export class ConnectionsModule {}
