import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { TeamHandler } from './team.handler';
import { TeamService } from './team.service';

@Module({
  imports: [UsersModule],
  providers: [TeamService, TeamHandler],
})
export class TeamsModule {}
