import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, TeamMemberRequest, TeamView, userPrincipalId } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors';
import { UserDirectoryRepository } from '../users/user-directory.repository';

interface TeamRow {
  id: string;
  name: string;
  created_at: Date;
  members: { userId: string; email: string | null; source: 'idp' | 'admin' }[] | null;
}

const TEAM_ROWS = `
  SELECT t.id, t.name, t.created_at,
    (SELECT json_agg(json_build_object('userId', u.id, 'email', u.email, 'source', m.source) ORDER BY u.email, u.id)
       FROM "identity"."team_members" m JOIN "identity"."users" u ON u.id = m.user_id WHERE m.team_id = t.id) AS members
  FROM "identity"."teams" t`;

/**
 * Teams: made by admins here, or on first sight in a groups claim. A
 * membership change changes principals' `teams`, so every edge is told to
 * forget the members it cached.
 */
@Injectable()
export class TeamService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UserDirectoryRepository,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async list(): Promise<TeamView[]> {
    return ((await this.dataSource.query(`${TEAM_ROWS} ORDER BY t.name`)) as TeamRow[]).map(toTeamView);
  }

  async get(name: string): Promise<TeamView> {
    return toTeamView(await this.row(name));
  }

  async create(name: string): Promise<TeamView> {
    const inserted = (await this.dataSource.query(`INSERT INTO "identity"."teams" (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id`, [
      name,
      this.clock.now(),
    ])) as unknown[];
    if (inserted.length === 0) throw new ConflictError(`a team named "${name}" exists`);
    this.log.info({ team: name }, 'team created');
    return this.get(name);
  }

  async delete(name: string): Promise<TeamView> {
    const team = await this.row(name);
    await this.dataSource.query(`DELETE FROM "identity"."teams" WHERE id = $1`, [team.id]);
    await this.forget((team.members ?? []).map((m) => m.userId));
    this.log.info({ team: name }, 'team deleted');
    return toTeamView(team);
  }

  /** An admin-made membership; it stays whatever the groups claim says later. */
  async addMember(request: TeamMemberRequest): Promise<TeamView> {
    const team = await this.row(request.name);
    const userId = await this.userIdOf(request);
    await this.dataSource.query(
      `INSERT INTO "identity"."team_members" (team_id, user_id, source) VALUES ($1, $2, 'admin') ON CONFLICT (team_id, user_id) DO UPDATE SET source = 'admin'`,
      [team.id, userId],
    );
    await this.forget([userId]);
    this.log.info({ team: request.name, userId }, 'team member added');
    return this.get(request.name);
  }

  /** Removes any membership (an IdP-sourced one comes back with the user's next token if the claim still names the team). */
  async removeMember(request: TeamMemberRequest): Promise<TeamView> {
    const team = await this.row(request.name);
    const userId = await this.userIdOf(request);
    const [, removed] = (await this.dataSource.query(`DELETE FROM "identity"."team_members" WHERE team_id = $1 AND user_id = $2`, [team.id, userId])) as [unknown, number];
    if (removed === 0) throw new NotFoundError('that user is not a member of this team');
    await this.forget([userId]);
    this.log.info({ team: request.name, userId }, 'team member removed');
    return this.get(request.name);
  }

  private async row(name: string, manager: EntityManager = this.dataSource.manager): Promise<TeamRow> {
    const row = ((await manager.query(`${TEAM_ROWS} WHERE t.name = $1`, [name])) as TeamRow[])[0];
    if (!row) throw new NotFoundError(`no team named "${name}"`);
    return row;
  }

  private async userIdOf(request: TeamMemberRequest): Promise<string> {
    if ((request.userId === undefined) === (request.email === undefined)) {
      throw new InvalidRequestError('name the member by userId or email', [{ path: 'userId', message: 'exactly one of userId and email' }]);
    }
    const user = request.userId !== undefined ? await this.users.findById(request.userId) : await this.users.findByEmail(request.email!);
    if (!user) throw new NotFoundError('no such user');
    return user.id;
  }

  private async forget(userIds: string[]): Promise<void> {
    if (userIds.length > 0) await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: [], principalIds: userIds.map(userPrincipalId) });
  }
}

function toTeamView(row: TeamRow): TeamView {
  return { name: row.name, createdAt: row.created_at.toISOString(), members: row.members ?? [] };
}
