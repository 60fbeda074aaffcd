import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { AuthenticationService } from './authentication.service';

/** Puts {@link AccessGuard} in front of every route of the app. */
@Module({
  providers: [AuthenticationService, { provide: APP_GUARD, useClass: AccessGuard }],
})
export class AccessModule {}
