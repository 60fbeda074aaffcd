import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { CollaboratorEntity } from '../collaborators/collaborator.entity';
import { GroupEntity } from '../groups/group.entity';
import { ServerEntity } from '../servers/server.entity';
import { ToolPolicyEntity } from '../tools/tool-policy.entity';
import { ToolSettingEntity } from '../tools/tool-setting.entity';
import { VirtualServerToolEntity } from '../virtual-servers/virtual-server-tool.entity';
import { VirtualServerEntity } from '../virtual-servers/virtual-server.entity';
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

  /**
   * The rules of the virtual server `slug`: its own collaborators and tool
   * policies (by the names it exposes); the tool
   * settings of the tools it exposes (a tool disabled on its server stays
   * hidden), by the names it exposes them under. Null when there is none.
   */
  async forVirtualServer(slug: string): Promise<TargetRules | null> {
    const virtualServer = await this.dataSource.getRepository(VirtualServerEntity).findOneBy({ slug });
    if (!virtualServer) return null;
    const [collaborators, tools, policies] = await Promise.all([
      this.dataSource.getRepository(CollaboratorEntity).findBy({ virtualServerId: virtualServer.id }),
      this.dataSource.getRepository(VirtualServerToolEntity).findBy({ virtualServerId: virtualServer.id }),
      this.dataSource.getRepository(ToolPolicyEntity).findBy({ virtualServerId: virtualServer.id }),
    ]);
    const settings = tools.length === 0 ? [] : await this.dataSource.getRepository(ToolSettingEntity).findBy(tools.map((t) => ({ serverId: t.serverId, tool: t.tool })));
    return {
      slug,
      collaborators: collaborators.map(({ subject, role }) => ({ subject, role })),
      tools: tools.flatMap((t) => {
        const setting = settings.find((s) => s.serverId === t.serverId && s.tool === t.tool);
        return setting ? [{ tool: t.alias, disabled: setting.disabled, description: setting.description }] : [];
      }),
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
