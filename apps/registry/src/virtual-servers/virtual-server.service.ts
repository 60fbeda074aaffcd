import { Injectable } from '@nestjs/common';
import { VirtualServerTarget } from '@portcullis/contracts';
import { DataSource, EntityManager, In } from 'typeorm';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors';
import { RegistryChangeAnnouncer } from '../events/registry-change.announcer';
import { checkIfMatch } from '../http/etag';
import { containsPattern, ListQuery } from '../http/list-query';
import { toServerTarget } from '../servers/dto/server.dto';
import { ServerEntity } from '../servers/server.entity';
import { SlugNamespace } from '../servers/slug-namespace';
import { ToolSettingEntity } from '../tools/tool-setting.entity';
import { CreateVirtualServerBody, UpdateVirtualServerBody, VirtualServerPage, VirtualServerView } from './dto/virtual-server.dto';
import { VirtualServerToolEntity } from './virtual-server-tool.entity';
import { VirtualServerEntity } from './virtual-server.entity';

type ToolRef = CreateVirtualServerBody['tools'][number];

export class VirtualServerNotFoundError extends NotFoundError {
  constructor(slug: string) {
    super(`no virtual server with slug "${slug.slice(0, 100)}"`);
  }
}

/**
 * Virtual servers: chosen tools of several servers under one slug. A save
 * checks every referenced server exists, no tool is disabled there, and no
 * two entries expose the same name — all in one transaction.
 */
@Injectable()
export class VirtualServerService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly slugs: SlugNamespace,
    private readonly announcer: RegistryChangeAnnouncer,
  ) {}

  async create(body: CreateVirtualServerBody): Promise<{ view: VirtualServerView; version: number }> {
    const now = this.clock.now();
    const saved = await this.dataSource.transaction(async (manager) => {
      await this.slugs.claim(body.slug, manager);
      const row = await manager.getRepository(VirtualServerEntity).save(manager.getRepository(VirtualServerEntity).create({ slug: body.slug, name: body.name, version: 1, createdAt: now, updatedAt: now }));
      await this.writeTools(row, body.tools, manager);
      return row;
    });
    await this.announcer.announce([saved], 'created');
    return this.get(saved.slug);
  }

  async get(slug: string): Promise<{ view: VirtualServerView; version: number }> {
    const row = await this.dataSource.getRepository(VirtualServerEntity).findOneBy({ slug });
    if (!row) throw new VirtualServerNotFoundError(slug);
    return { view: (await this.views([row]))[0], version: row.version };
  }

  async list(query: ListQuery): Promise<VirtualServerPage> {
    const builder = this.dataSource.getRepository(VirtualServerEntity).createQueryBuilder('v').orderBy('v.slug', 'ASC').take(query.limit).skip(query.offset);
    if (query.name) builder.where('(v.slug ILIKE :name OR v.name ILIKE :name)', { name: containsPattern(query.name) });
    const [rows, total] = await builder.getManyAndCount();
    return { items: await this.views(rows), total, limit: query.limit, offset: query.offset };
  }

  async update(slug: string, body: UpdateVirtualServerBody, ifMatch: string | undefined): Promise<{ view: VirtualServerView; version: number }> {
    const row = await this.dataSource.transaction(async (manager) => {
      const current = await manager.getRepository(VirtualServerEntity).findOne({ where: { slug }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new VirtualServerNotFoundError(slug);
      checkIfMatch(ifMatch, current.version, `virtual server "${slug}"`);
      if (body.tools) {
        await manager.getRepository(VirtualServerToolEntity).delete({ virtualServerId: current.id });
        await this.writeTools(current, body.tools, manager);
      }
      await manager.getRepository(VirtualServerEntity).update({ id: current.id }, { ...(body.name !== undefined && { name: body.name }), version: current.version + 1, updatedAt: this.clock.now() });
      return current;
    });
    await this.announcer.announce([row], 'updated');
    return this.get(slug);
  }

  async remove(slug: string): Promise<void> {
    const row = await this.dataSource.transaction(async (manager) => {
      const current = await manager.getRepository(VirtualServerEntity).findOne({ where: { slug }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new VirtualServerNotFoundError(slug);
      await manager.getRepository(VirtualServerEntity).delete({ id: current.id });
      return current;
    });
    await this.announcer.announce([row], 'deleted');
  }

  /** What the edge serves at `/mcp/{slug}` (`registry.virtual.resolve`). */
  async resolve(slug: string): Promise<VirtualServerTarget> {
    const row = await this.dataSource.getRepository(VirtualServerEntity).findOneBy({ slug });
    if (!row) throw new VirtualServerNotFoundError(slug);
    const tools = await this.dataSource.getRepository(VirtualServerToolEntity).find({ where: { virtualServerId: row.id }, order: { position: 'ASC' } });
    const servers = await this.dataSource.getRepository(ServerEntity).findBy({ id: In([...new Set(tools.map((t) => t.serverId))]) });
    return {
      id: row.id,
      slug: row.slug,
      name: row.name,
      tools: tools.map((t) => ({ name: t.alias, tool: t.tool, server: toServerTarget(servers.find((s) => s.id === t.serverId) as ServerEntity) })),
    };
  }

  private async writeTools(row: VirtualServerEntity, refs: readonly ToolRef[], manager: EntityManager): Promise<void> {
    const slugs = [...new Set(refs.map((ref) => ref.server))];
    const servers = await manager.getRepository(ServerEntity).find({ where: { slug: In(slugs) }, lock: { mode: 'pessimistic_read' } });
    const missing = refs.map((ref, index) => ({ ref, index })).filter(({ ref }) => !servers.some((s) => s.slug === ref.server));
    if (missing.length > 0) {
      throw new InvalidRequestError(
        `invalid virtual server: no server with slug ${[...new Set(missing.map((m) => `"${m.ref.server}"`))].join(', ')}`,
        missing.map(({ ref, index }) => ({ path: `tools.${index}.server`, message: `no server with slug "${ref.server}"` })),
      );
    }
    const serverOf = (ref: ToolRef) => servers.find((s) => s.slug === ref.server) as ServerEntity;
    const disabled = await manager.getRepository(ToolSettingEntity).findBy({ serverId: In(servers.map((s) => s.id)), disabled: true });
    const off = refs.map((ref, index) => ({ ref, index })).filter(({ ref }) => disabled.some((d) => d.serverId === serverOf(ref).id && d.tool === ref.tool));
    if (off.length > 0) {
      throw new InvalidRequestError(
        'invalid virtual server: a listed tool is disabled on its server',
        off.map(({ ref, index }) => ({ path: `tools.${index}.tool`, message: `is disabled on server "${ref.server}"` })),
      );
    }
    const seen = new Map<string, number>();
    refs.forEach((ref, index) => {
      const name = ref.alias ?? ref.tool;
      const first = seen.get(name);
      if (first !== undefined) throw new ConflictError(`tool name "${name}" clashes: tools.${first} and tools.${index} both expose it; give one an alias`);
      seen.set(name, index);
    });
    await manager.getRepository(VirtualServerToolEntity).insert(
      refs.map((ref, position) => ({ virtualServerId: row.id, position, serverId: serverOf(ref).id, tool: ref.tool, alias: ref.alias ?? ref.tool })),
    );
  }

  private async views(rows: VirtualServerEntity[]): Promise<VirtualServerView[]> {
    if (rows.length === 0) return [];
    const tools = await this.dataSource.getRepository(VirtualServerToolEntity).find({ where: { virtualServerId: In(rows.map((r) => r.id)) }, order: { position: 'ASC' } });
    const servers = await this.dataSource.getRepository(ServerEntity).findBy({ id: In([...new Set(tools.map((t) => t.serverId))]) });
    return rows.map((row) => ({
      id: row.id,
      slug: row.slug,
      name: row.name,
      tools: tools.filter((t) => t.virtualServerId === row.id).map((t) => ({ server: servers.find((s) => s.id === t.serverId)?.slug ?? '', tool: t.tool, alias: t.alias })),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    }));
  }
}
