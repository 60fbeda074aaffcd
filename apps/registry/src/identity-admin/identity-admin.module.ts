import { Module } from '@nestjs/common';
import { IdentityAdminClient } from './identity-admin.client';
import { TeamController } from './team.controller';
import { TeamService } from './team.service';
import { UserController } from './user.controller';
import { UserService } from './user.service';
import { VirtualAccountController } from './virtual-account.controller';
import { VirtualAccountService } from './virtual-account.service';

/** `/api/v1/users`, `/api/v1/teams`, `/api/v1/virtual-accounts`: admin routes over identity's `identity.admin.*` subjects. */
@Module({
  controllers: [UserController, TeamController, VirtualAccountController],
  providers: [IdentityAdminClient, UserService, TeamService, VirtualAccountService],
  exports: [IdentityAdminClient],
})
export class IdentityAdminModule {}
