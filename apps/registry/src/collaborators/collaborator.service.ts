import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { parseSubject } from '../authorization/subject';
import { Clock } from '../clock';
import { ConflictError, GroupNotFoundError, InvalidRequestError, NotFoundError, ServerNotFoundError } from '../errors';
import { RegistryChangeAnnouncer } from '../events/registry-change.announcer';
import { GroupEntity } from '../groups/group.entity';
import { ServerEntity } from '../servers/server.entity';
import { VirtualServerEntity } from '../virtual-servers/virtual-server.entity';
import { VirtualServerNotFoundError } from '../virtual-servers/virtual-server.service';
import { CollaboratorEntity } from './collaborator.entity';
import { CollaboratorList, CreateCollaboratorBody, CollaboratorView, toCollaboratorView } from './dto/collaborator.dto';

export type CollaboratorTarget = { kind: 'server'; slug: string } | { kind: 'group'; name: string } | { kind: 'virtual-server'; slug: string };

const UNIQUE_VIOLATION = '23505';

/** Collaborators of a server or a group. A change to a group's collaborators touches every server of the group. */
@Injectable()
export class CollaboratorService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly announcer: RegistryChangeAnnouncer,
  ) {}

  async list(target: CollaboratorTarget): Promise<CollaboratorList> {
    const { where } = await this.locate(target, this.dataSource.manager);
    const rows = await this.dataSource.getRepository(CollaboratorEntity).find({ where, order: { subject: 'ASC' } });
    return { items: rows.map(toCollaboratorView) };
  }

  async add(target: CollaboratorTarget, body: CreateCollaboratorBody): Promise<CollaboratorView> {
    const { row, servers } = await this.dataSource.transaction(async (manager) => {
      const { where, servers } = await this.locate(target, manager);
      try {
        const row = await manager.getRepository(CollaboratorEntity).save(
          manager.getRepository(CollaboratorEntity).create({ serverId: null, groupId: null, virtualServerId: null, ...where, subject: body.subject, role: body.role, createdAt: this.clock.now() }),
        );
        return { row, servers };
      } catch (error) {
        if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new ConflictError(`"${body.subject}" is already a collaborator; remove it first to change its role`, { cause: error });
        }
        throw error;
      }
    });
    await this.announcer.announce(servers, 'updated');
    return toCollaboratorView(row);
  }

  /** Sets the role of `rawSubject` (URL-decoded path segment), adding the collaborator when absent. */
  async setRole(target: CollaboratorTarget, rawSubject: string, role: CollaboratorEntity['role']): Promise<CollaboratorView> {
    const subject = parseSubject(rawSubject);
    if (subject === null) {
      throw new InvalidRequestError('invalid collaborator: subject must be user:<email>, team:<name>, virtualaccount:<name> or external:<provider>/<sub>', [
        { path: 'subject', message: 'must be user:<email>, team:<name>, virtualaccount:<name> or external:<provider>/<sub>' },
      ]);
    }
    const { row, servers } = await this.dataSource.transaction(async (manager) => {
      const { where, servers } = await this.locate(target, manager);
      const repository = manager.getRepository(CollaboratorEntity);
      const current = await repository.findOne({ where: { ...where, subject }, lock: { mode: 'pessimistic_write' } });
      if (current) {
        await repository.update({ id: current.id }, { role });
        return { row: { ...current, role }, servers };
      }
      const row = await repository.save(repository.create({ serverId: null, groupId: null, virtualServerId: null, ...where, subject, role, createdAt: this.clock.now() }));
      return { row, servers };
    });
    await this.announcer.announce(servers, 'updated');
    return toCollaboratorView(row);
  }

  async remove(target: CollaboratorTarget, rawSubject: string): Promise<void> {
    const subject = parseSubject(rawSubject) ?? rawSubject;
    const servers = await this.dataSource.transaction(async (manager) => {
      const { where, servers } = await this.locate(target, manager);
      const result = await manager.getRepository(CollaboratorEntity).delete({ ...where, subject });
      if (!result.affected) throw new NotFoundError(`"${subject.slice(0, 400)}" is not a collaborator`);
      return servers;
    });
    await this.announcer.announce(servers, 'updated');
  }

  /** The row filter of the target's collaborators, and the servers a change to them touches. */
  private async locate(
    target: CollaboratorTarget,
    manager: EntityManager,
  ): Promise<{ where: { serverId: string } | { groupId: string } | { virtualServerId: string }; servers: { id: string; slug: string }[] }> {
    if (target.kind === 'virtual-server') {
      const virtualServer = await manager.getRepository(VirtualServerEntity).findOneBy({ slug: target.slug });
      if (!virtualServer) throw new VirtualServerNotFoundError(target.slug);
      return { where: { virtualServerId: virtualServer.id }, servers: [virtualServer] };
    }
    if (target.kind === 'server') {
      const server = await manager.getRepository(ServerEntity).findOneBy({ slug: target.slug });
      if (!server) throw new ServerNotFoundError(target.slug);
      return { where: { serverId: server.id }, servers: [server] };
    }
    const group = await manager.getRepository(GroupEntity).findOneBy({ name: target.name });
    if (!group) throw new GroupNotFoundError(target.name);
    return { where: { groupId: group.id }, servers: await manager.getRepository(ServerEntity).findBy({ groupId: group.id }) };
  }
}
