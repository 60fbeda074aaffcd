import { Module } from '@nestjs/common';
import { AccessGuard } from './access.guard';
import { AuthenticationService } from './authentication.service';

@Module({
  providers: [AuthenticationService, AccessGuard],
  exports: [AuthenticationService, AccessGuard],
})
export class AccessModule {}
