import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { Principal, TeamView } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { AddTeamMemberBody, AddTeamMemberBodySchema, CreateTeamBody, CreateTeamBodySchema } from './dto/identity-admin.dto';
import { TeamService } from './team.service';

@Controller('api/v1/teams')
export class TeamController {
  constructor(private readonly teams: TeamService) {}

  @Get()
  @RequirePermission('teams:read')
  list(): Promise<{ items: TeamView[] }> {
    return this.teams.list();
  }

  @Post()
  @RequirePermission('teams:write')
  create(@Body(new ZodValidationPipe(CreateTeamBodySchema, 'team')) body: CreateTeamBody, @CurrentPrincipal() actor: Principal): Promise<TeamView> {
    return this.teams.create(body.name, actor);
  }

  @Get(':name')
  @RequirePermission('teams:read')
  get(@Param('name') name: string): Promise<TeamView> {
    return this.teams.get(name);
  }

  @Delete(':name')
  @HttpCode(200)
  @RequirePermission('teams:write')
  delete(@Param('name') name: string, @CurrentPrincipal() actor: Principal): Promise<TeamView> {
    return this.teams.delete(name, actor);
  }

  @Post(':name/members')
  @HttpCode(200)
  @RequirePermission('teams:write')
  addMember(@Param('name') name: string, @Body(new ZodValidationPipe(AddTeamMemberBodySchema, 'team member')) body: AddTeamMemberBody, @CurrentPrincipal() actor: Principal): Promise<TeamView> {
    return this.teams.addMember(name, body, actor);
  }

  @Delete(':name/members/:userId')
  @HttpCode(200)
  @RequirePermission('teams:write')
  removeMember(@Param('name') name: string, @Param('userId') userId: string, @CurrentPrincipal() actor: Principal): Promise<TeamView> {
    return this.teams.removeMember(name, userId, actor);
  }
}
