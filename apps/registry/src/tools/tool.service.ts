import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, NotFoundError, ServerNotFoundError } from '../errors';
import { RegistryChangeAnnouncer } from '../events/registry-change.announcer';
import { checkIfMatch } from '../http/etag';
import { ServerEntity } from '../servers/server.entity';
import {
  CreateToolPolicyBody,
  PutToolSettingBody,
  TOOL_NAME_PATTERN,
  ToolPolicyList,
  ToolPolicyView,
  ToolSettingList,
  ToolSettingView,
  toToolPolicyView,
  toToolSettingView,
  UpdateToolPolicyBody,
} from './dto/tool.dto';
import { VirtualServerEntity } from '../virtual-servers/virtual-server.entity';
import { VirtualServerNotFoundError } from '../virtual-servers/virtual-server.service';
import { ToolPolicyEntity } from './tool-policy.entity';
import { ToolSettingEntity } from './tool-setting.entity';

const UNIQUE_VIOLATION = '23505';

/** Tool policies live on a server or on a virtual server (by the names it exposes). */
export type PolicyTarget = { kind: 'server' | 'virtual-server'; slug: string };

interface Located {
  where: { serverId: string } | { virtualServerId: string };
  owner: { id: string; slug: string };
}

/** Per-tool settings of a server, and per-subject tool policies of a server or virtual server. */
@Injectable()
export class ToolService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly announcer: RegistryChangeAnnouncer,
  ) {}

  async listSettings(slug: string): Promise<ToolSettingList> {
    const server = await this.server(slug, this.dataSource.manager);
    const rows = await this.dataSource.getRepository(ToolSettingEntity).find({ where: { serverId: server.id }, order: { tool: 'ASC' } });
    return { items: rows.map(toToolSettingView) };
  }

  async putSetting(slug: string, tool: string, body: PutToolSettingBody): Promise<ToolSettingView> {
    if (!TOOL_NAME_PATTERN.test(tool)) throw new InvalidRequestError('invalid tool name', [{ path: 'tool', message: 'must be 1-128 letters, digits or _ . - / :' }]);
    const { server, row } = await this.dataSource.transaction(async (manager) => {
      const server = await this.server(slug, manager);
      const row = manager.getRepository(ToolSettingEntity).create({ serverId: server.id, tool, disabled: body.disabled, description: body.description, updatedAt: this.clock.now() });
      await manager.getRepository(ToolSettingEntity).upsert(row, ['serverId', 'tool']);
      return { server, row };
    });
    await this.announcer.announce([server], 'updated');
    return toToolSettingView(row);
  }

  async removeSetting(slug: string, tool: string): Promise<void> {
    const server = await this.dataSource.transaction(async (manager) => {
      const server = await this.server(slug, manager);
      const result = await manager.getRepository(ToolSettingEntity).delete({ serverId: server.id, tool });
      if (!result.affected) throw new NotFoundError(`tool "${tool.slice(0, 128)}" has no settings on server "${slug}"`);
      return server;
    });
    await this.announcer.announce([server], 'updated');
  }

  async listPolicies(target: PolicyTarget): Promise<ToolPolicyList> {
    const { where } = await this.locate(target, this.dataSource.manager);
    const rows = await this.dataSource.getRepository(ToolPolicyEntity).find({ where, order: { subject: 'ASC' } });
    return { items: rows.map(toToolPolicyView) };
  }

  async getPolicy(target: PolicyTarget, id: string): Promise<{ view: ToolPolicyView; version: number }> {
    const located = await this.locate(target, this.dataSource.manager);
    const row = await this.policy(located, id, this.dataSource.manager);
    return { view: toToolPolicyView(row), version: row.version };
  }

  async createPolicy(target: PolicyTarget, body: CreateToolPolicyBody): Promise<{ view: ToolPolicyView; version: number }> {
    const now = this.clock.now();
    const { owner, row } = await this.dataSource.transaction(async (manager) => {
      const { where, owner } = await this.locate(target, manager);
      try {
        const repository = manager.getRepository(ToolPolicyEntity);
        const row = await repository.save(
          repository.create({ serverId: null, virtualServerId: null, ...where, subject: body.subject, allow: body.allow, deny: body.deny, version: 1, createdAt: now, updatedAt: now }),
        );
        return { owner, row };
      } catch (error) {
        if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new ConflictError(`"${target.slug}" already has a tool policy for "${body.subject}"; change that one`, { cause: error });
        }
        throw error;
      }
    });
    await this.announcer.announce([owner], 'updated');
    return { view: toToolPolicyView(row), version: row.version };
  }

  async updatePolicy(target: PolicyTarget, id: string, body: UpdateToolPolicyBody, ifMatch: string | undefined): Promise<{ view: ToolPolicyView; version: number }> {
    const { owner, row } = await this.dataSource.transaction(async (manager) => {
      const located = await this.locate(target, manager);
      const current = await this.policy(located, id, manager, true);
      checkIfMatch(ifMatch, current.version, 'the tool policy');
      await manager.getRepository(ToolPolicyEntity).update(
        { id: current.id },
        { ...(body.allow !== undefined && { allow: body.allow }), ...(body.deny !== undefined && { deny: body.deny }), version: current.version + 1, updatedAt: this.clock.now() },
      );
      return { owner: located.owner, row: await manager.getRepository(ToolPolicyEntity).findOneByOrFail({ id: current.id }) };
    });
    await this.announcer.announce([owner], 'updated');
    return { view: toToolPolicyView(row), version: row.version };
  }

  async removePolicy(target: PolicyTarget, id: string): Promise<void> {
    const owner = await this.dataSource.transaction(async (manager) => {
      const located = await this.locate(target, manager);
      const row = await this.policy(located, id, manager, true);
      await manager.getRepository(ToolPolicyEntity).delete({ id: row.id });
      return located.owner;
    });
    await this.announcer.announce([owner], 'updated');
  }

  /** The row filter of the target's policies, and the server or virtual server a change to them is announced for. */
  private async locate(target: PolicyTarget, manager: EntityManager): Promise<Located> {
    if (target.kind === 'server') {
      const server = await this.server(target.slug, manager);
      return { where: { serverId: server.id }, owner: server };
    }
    const virtualServer = await manager.getRepository(VirtualServerEntity).findOneBy({ slug: target.slug });
    if (!virtualServer) throw new VirtualServerNotFoundError(target.slug);
    return { where: { virtualServerId: virtualServer.id }, owner: virtualServer };
  }

  private async server(slug: string, manager: EntityManager): Promise<ServerEntity> {
    const server = await manager.getRepository(ServerEntity).findOneBy({ slug });
    if (!server) throw new ServerNotFoundError(slug);
    return server;
  }

  private async policy(located: Located, id: string, manager: EntityManager, forUpdate = false): Promise<ToolPolicyEntity> {
    const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
    const row = valid
      ? await manager.getRepository(ToolPolicyEntity).findOne({ where: { id, ...located.where }, ...(forUpdate && { lock: { mode: 'pessimistic_write' as const } }) })
      : null;
    if (!row) throw new NotFoundError(`"${located.owner.slug}" has no tool policy ${id.slice(0, 40)}`);
    return row;
  }

}
