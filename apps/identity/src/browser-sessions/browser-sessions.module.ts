import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { UsersModule } from '../users/users.module';
import { BrowserSessionHandler } from './browser-session.handler';
import { BrowserSessionRepository } from './browser-session.repository';
import { BrowserSessionService } from './browser-session.service';

/** Browser sessions (`pcs_…` tokens) behind the edge's login page and session cookie. */
@Module({
  imports: [ApiKeysModule, UsersModule],
  providers: [BrowserSessionRepository, BrowserSessionService, BrowserSessionHandler],
  exports: [BrowserSessionService],
})
export class BrowserSessionsModule {}
