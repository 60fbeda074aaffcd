import { Inject, Injectable } from '@nestjs/common';
import { Principal, RequestSubjects, TeamView } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { NotFoundError } from '../errors';
import { AddTeamMemberBody, UuidSchema } from './dto/identity-admin.dto';
import { IdentityAdminClient } from './identity-admin.client';

@Injectable()
export class TeamService {
  constructor(
    private readonly identity: IdentityAdminClient,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  list(): Promise<{ items: TeamView[] }> {
    return this.identity.request(RequestSubjects.identityAdminTeamList, {});
  }

  async get(name: string): Promise<TeamView> {
    return (await this.identity.request(RequestSubjects.identityAdminTeamGet, { name: teamName(name) })).team;
  }

  async create(name: string, actor: Principal): Promise<TeamView> {
    const { team } = await this.identity.request(RequestSubjects.identityAdminTeamCreate, { name });
    this.log.info({ team: name, actor: actor.id }, 'team created');
    return team;
  }

  async delete(name: string, actor: Principal): Promise<TeamView> {
    const { team } = await this.identity.request(RequestSubjects.identityAdminTeamDelete, { name: teamName(name) });
    this.log.info({ team: name, actor: actor.id }, 'team deleted');
    return team;
  }

  async addMember(name: string, member: AddTeamMemberBody, actor: Principal): Promise<TeamView> {
    const { team } = await this.identity.request(RequestSubjects.identityAdminTeamMemberAdd, { name: teamName(name), ...member });
    this.log.info({ team: name, actor: actor.id }, 'team member added');
    return team;
  }

  async removeMember(name: string, userId: string, actor: Principal): Promise<TeamView> {
    if (!UuidSchema.safeParse(userId).success) throw new NotFoundError('that user is not a member of this team');
    const { team } = await this.identity.request(RequestSubjects.identityAdminTeamMemberRemove, { name: teamName(name), userId });
    this.log.info({ team: name, userId, actor: actor.id }, 'team member removed');
    return team;
  }
}

function teamName(name: string): string {
  if (name.length === 0 || name.length > 128) throw new NotFoundError('no such team');
  return name;
}
