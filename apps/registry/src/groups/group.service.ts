import { Injectable } from '@nestjs/common';
import { Principal } from '@portcullis/contracts';
import { DataSource, EntityManager, In, QueryFailedError } from 'typeorm';
import { subjectsOf, partyOf, actorPartyOf } from '../authorization/subject';
import { Clock } from '../clock';
import { ConflictError, GroupNotFoundError, InvalidRequestError } from '../errors';
import { RegistryChangeAnnouncer } from '../events/registry-change.announcer';
import { checkIfMatch } from '../http/etag';
import { containsPattern, ListQuery } from '../http/list-query';
import { ServerEntity } from '../servers/server.entity';
import { CreateGroupBody, GroupPage, GroupView, toGroupView, UpdateGroupBody } from './dto/group.dto';
import { GroupEntity } from './group.entity';

const UNIQUE_VIOLATION = '23505';

export interface Versioned<T> {
  view: T;
  version: number;
}

/** Groups and their servers. Each change is one transaction; servers are locked while they move. */
@Injectable()
export class GroupService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly announcer: RegistryChangeAnnouncer,
  ) {}

  async create(body: CreateGroupBody): Promise<Versioned<GroupView>> {
    const now = this.clock.now();
    const { group, servers } = await this.dataSource.transaction(async (manager) => {
      let group: GroupEntity;
      try {
        group = await manager.getRepository(GroupEntity).save(manager.getRepository(GroupEntity).create({ name: body.name, version: 1, createdAt: now, updatedAt: now }));
      } catch (error) {
        if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new ConflictError(`a group named "${body.name}" already exists`, { cause: error });
        }
        throw error;
      }
      const servers = await this.assignServers(group, body.servers, manager);
      return { group, servers };
    });
    await this.announcer.announce(servers, 'updated');
    return { view: toGroupView(group, servers.map((s) => s.slug)), version: group.version };
  }

  async get(name: string): Promise<Versioned<GroupView>> {
    const group = await this.dataSource.getRepository(GroupEntity).findOneBy({ name });
    if (!group) throw new GroupNotFoundError(name);
    const servers = await this.dataSource.getRepository(ServerEntity).findBy({ groupId: group.id });
    return { view: toGroupView(group, servers.map((s) => s.slug)), version: group.version };
  }

  /** Admins see every group; anyone else only the groups they (and their actor) hold a role on. */
  async list(query: ListQuery, principal: Principal): Promise<GroupPage> {
    const builder = this.dataSource.getRepository(GroupEntity).createQueryBuilder('g').orderBy('g.name', 'ASC').take(query.limit).skip(query.offset);
    if (query.name) builder.andWhere(`g.name ILIKE :name`, { name: containsPattern(query.name) });
    if (!principal.isAdmin || principal.actor) {
      builder.andWhere(`EXISTS (SELECT 1 FROM registry.collaborators c WHERE c.group_id = g.id AND c.subject = ANY(:subjects))`, { subjects: [...subjectsOf(partyOf(principal))] });
    }
    if (principal.actor) {
      builder.andWhere(`EXISTS (SELECT 1 FROM registry.collaborators a WHERE a.group_id = g.id AND a.subject = ANY(:actorSubjects))`, {
        actorSubjects: [...subjectsOf(actorPartyOf(principal.actor))],
      });
    }
    const [groups, total] = await builder.getManyAndCount();
    const servers = groups.length === 0 ? [] : await this.dataSource.getRepository(ServerEntity).findBy({ groupId: In(groups.map((g) => g.id)) });
    const items = groups.map((group) => toGroupView(group, servers.filter((s) => s.groupId === group.id).map((s) => s.slug)));
    return { items, total, limit: query.limit, offset: query.offset };
  }

  /** Replaces the group's servers. @throws PreconditionFailedError when `ifMatch` is stale. */
  async update(name: string, body: UpdateGroupBody, ifMatch: string | undefined): Promise<Versioned<GroupView>> {
    const { group, touched, servers } = await this.dataSource.transaction(async (manager) => {
      const current = await manager.getRepository(GroupEntity).findOne({ where: { name }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new GroupNotFoundError(name);
      checkIfMatch(ifMatch, current.version, `group "${name}"`);
      const before = await manager.getRepository(ServerEntity).find({ where: { groupId: current.id }, lock: { mode: 'pessimistic_write' } });
      const leaving = before.filter((s) => !body.servers.includes(s.slug));
      if (leaving.length > 0) await manager.getRepository(ServerEntity).update({ id: In(leaving.map((s) => s.id)) }, { groupId: null });
      const servers = await this.assignServers(current, body.servers, manager);
      await manager.getRepository(GroupEntity).update({ id: current.id }, { version: current.version + 1, updatedAt: this.clock.now() });
      const group = await manager.getRepository(GroupEntity).findOneByOrFail({ id: current.id });
      return { group, servers, touched: [...leaving, ...servers] };
    });
    await this.announcer.announce(touched, 'updated');
    return { view: toGroupView(group, servers.map((s) => s.slug)), version: group.version };
  }

  /** Deletes the group and its collaborators; its servers stay, without a group. */
  async remove(name: string): Promise<void> {
    const servers = await this.dataSource.transaction(async (manager) => {
      const group = await manager.getRepository(GroupEntity).findOne({ where: { name }, lock: { mode: 'pessimistic_write' } });
      if (!group) throw new GroupNotFoundError(name);
      const servers = await manager.getRepository(ServerEntity).findBy({ groupId: group.id });
      await manager.getRepository(GroupEntity).delete({ id: group.id });
      return servers;
    });
    await this.announcer.announce(servers, 'updated');
  }

  /** Puts the named servers in the group. Every slug must exist and be in no other group. */
  private async assignServers(group: GroupEntity, slugs: readonly string[], manager: EntityManager): Promise<ServerEntity[]> {
    if (slugs.length === 0) return [];
    const found = await manager.getRepository(ServerEntity).find({ where: { slug: In([...slugs]) }, lock: { mode: 'pessimistic_write' } });
    const missing = slugs.map((slug, index) => ({ slug, index })).filter(({ slug }) => !found.some((s) => s.slug === slug));
    if (missing.length > 0) {
      throw new InvalidRequestError(
        `invalid group: no server with slug ${missing.map((m) => `"${m.slug}"`).join(', ')}`,
        missing.map(({ slug, index }) => ({ path: `servers.${index}`, message: `no server with slug "${slug}"` })),
      );
    }
    const elsewhere = found.filter((s) => s.groupId !== null && s.groupId !== group.id);
    if (elsewhere.length > 0) throw new ConflictError(`server "${elsewhere[0].slug}" already belongs to another group; remove it there first`);
    await manager.getRepository(ServerEntity).update({ id: In(found.map((s) => s.id)) }, { groupId: group.id });
    return found;
  }
}
