import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BrowserLoginController } from './browser-login.controller';
import { BrowserLoginService } from './browser-login.service';

/** `/login`, `/logout` and `/me`: the session cookie of the gateway's own browser pages. */
@Module({
  imports: [AccessModule],
  controllers: [BrowserLoginController],
  providers: [BrowserLoginService],
  exports: [BrowserLoginService],
})
export class BrowserLoginModule {}
