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
import { ToolPolicyEntity } from './tool-policy.entity';
import { ToolSettingEntity } from './tool-setting.entity';

const UNIQUE_VIOLATION = '23505';

/** Per-tool settings and per-subject tool policies of a server. */
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

  async listPolicies(slug: string): Promise<ToolPolicyList> {
    const server = await this.server(slug, this.dataSource.manager);
    const rows = await this.dataSource.getRepository(ToolPolicyEntity).find({ where: { serverId: server.id }, order: { subject: 'ASC' } });
    return { items: rows.map(toToolPolicyView) };
  }

  async getPolicy(slug: string, id: string): Promise<{ view: ToolPolicyView; version: number }> {
    const server = await this.server(slug, this.dataSource.manager);
    const row = await this.policy(server, id, this.dataSource.manager);
    return { view: toToolPolicyView(row), version: row.version };
  }

  async createPolicy(slug: string, body: CreateToolPolicyBody): Promise<{ view: ToolPolicyView; version: number }> {
    const now = this.clock.now();
    const { server, row } = await this.dataSource.transaction(async (manager) => {
      const server = await this.server(slug, manager);
      try {
        const row = await manager
          .getRepository(ToolPolicyEntity)
          .save(manager.getRepository(ToolPolicyEntity).create({ serverId: server.id, subject: body.subject, allow: body.allow, deny: body.deny, version: 1, createdAt: now, updatedAt: now }));
        return { server, row };
      } catch (error) {
        if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new ConflictError(`server "${slug}" already has a tool policy for "${body.subject}"; change that one`, { cause: error });
        }
        throw error;
      }
    });
    await this.announcer.announce([server], 'updated');
    return { view: toToolPolicyView(row), version: row.version };
  }

  async updatePolicy(slug: string, id: string, body: UpdateToolPolicyBody, ifMatch: string | undefined): Promise<{ view: ToolPolicyView; version: number }> {
    const { server, row } = await this.dataSource.transaction(async (manager) => {
      const server = await this.server(slug, manager);
      const current = await this.policy(server, id, manager, true);
      checkIfMatch(ifMatch, current.version, 'the tool policy');
      await manager.getRepository(ToolPolicyEntity).update(
        { id: current.id },
        { ...(body.allow !== undefined && { allow: body.allow }), ...(body.deny !== undefined && { deny: body.deny }), version: current.version + 1, updatedAt: this.clock.now() },
      );
      return { server, row: await manager.getRepository(ToolPolicyEntity).findOneByOrFail({ id: current.id }) };
    });
    await this.announcer.announce([server], 'updated');
    return { view: toToolPolicyView(row), version: row.version };
  }

  async removePolicy(slug: string, id: string): Promise<void> {
    const server = await this.dataSource.transaction(async (manager) => {
      const server = await this.server(slug, manager);
      const row = await this.policy(server, id, manager, true);
      await manager.getRepository(ToolPolicyEntity).delete({ id: row.id });
      return server;
    });
    await this.announcer.announce([server], 'updated');
  }

  private async server(slug: string, manager: EntityManager): Promise<ServerEntity> {
    const server = await manager.getRepository(ServerEntity).findOneBy({ slug });
    if (!server) throw new ServerNotFoundError(slug);
    return server;
  }

  private async policy(server: ServerEntity, id: string, manager: EntityManager, forUpdate = false): Promise<ToolPolicyEntity> {
    const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
    const row = valid
      ? await manager.getRepository(ToolPolicyEntity).findOne({ where: { id, serverId: server.id }, ...(forUpdate && { lock: { mode: 'pessimistic_write' as const } }) })
      : null;
    if (!row) throw new NotFoundError(`server "${server.slug}" has no tool policy ${id.slice(0, 40)}`);
    return row;
  }
}
