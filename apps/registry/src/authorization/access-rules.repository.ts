import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { CollaboratorEntity } from '../collaborators/collaborator.entity';
import { GroupEntity } from '../groups/group.entity';
import { ServerEntity } from '../servers/server.entity';
import { ToolPolicyEntity } from '../tools/tool-policy.entity';
import { ToolSettingEntity } from '../tools/tool-setting.entity';
import type { TargetRules } from './policy-evaluator';

/** Reads everything that decides access to a server or a group, in one consistent snapshot. */
@Injectable()
export class AccessRulesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The rules of the server `slug`, or null when there is no such server. */
  async forServer(slug: string, manager: EntityManager = this.dataSource.manager): Promise<TargetRules | null> {
    const server = await manager.getRepository(ServerEntity).findOneBy({ slug });
    if (!server) return null;
    const [collaborators, tools, policies] = await Promise.all([
      manager.getRepository(CollaboratorEntity).find({ where: server.groupId ? [{ serverId: server.id }, { groupId: server.groupId }] : [{ serverId: server.id }] }),
      manager.getRepository(ToolSettingEntity).findBy({ serverId: server.id }),
      manager.getRepository(ToolPolicyEntity).findBy({ serverId: server.id }),
    ]);
    return {
      slug,
      collaborators: collaborators.map(({ subject, role }) => ({ subject, role })),
      tools: tools.map(({ tool, disabled, description }) => ({ tool, disabled, description })),
      policies: policies.map(({ subject, allow, deny }) => ({ subject, allow, deny })),
    };
  }

  /** The rules of the group `name` (its collaborators only), or null when there is no such group. */
  async forGroup(name: string): Promise<TargetRules | null> {
    const group = await this.dataSource.getRepository(GroupEntity).findOneBy({ name });
    if (!group) return null;
    const collaborators = await this.dataSource.getRepository(CollaboratorEntity).findBy({ groupId: group.id });
    return { slug: name, collaborators: collaborators.map(({ subject, role }) => ({ subject, role })), tools: [], policies: [] };
  }
}
