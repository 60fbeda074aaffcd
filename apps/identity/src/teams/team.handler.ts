import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus, BusSubscription } from '@portcullis/bus';
import { RequestSubjects, ServiceQueues, TeamView } from '@portcullis/contracts';
import { toBusError } from '../errors';
import { TeamService } from './team.service';

/** Admin operations on teams. The registry has already checked that the caller is an admin. */
@Injectable()
export class TeamHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private subscriptions: BusSubscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly teams: TeamService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = ServiceQueues.identity;
    const team = (work: Promise<TeamView>) => work.then((view) => ({ team: view }), rethrow);
    this.subscriptions = [
      this.bus.reply(RequestSubjects.identityAdminTeamList, queue, async () => ({ items: await this.teams.list() })),
      this.bus.reply(RequestSubjects.identityAdminTeamCreate, queue, ({ name }) => team(this.teams.create(name))),
      this.bus.reply(RequestSubjects.identityAdminTeamGet, queue, ({ name }) => team(this.teams.get(name))),
      this.bus.reply(RequestSubjects.identityAdminTeamDelete, queue, ({ name }) => team(this.teams.delete(name))),
      this.bus.reply(RequestSubjects.identityAdminTeamMemberAdd, queue, (request) => team(this.teams.addMember(request))),
      this.bus.reply(RequestSubjects.identityAdminTeamMemberRemove, queue, (request) => team(this.teams.removeMember(request))),
    ];
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    this.subscriptions = [];
  }
}

function rethrow(error: unknown): never {
  throw toBusError(error);
}
