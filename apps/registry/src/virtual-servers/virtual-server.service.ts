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
import { UpstreamToolsClient } from './upstream-tools.client';
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
 * two entries expose the same name — all in one transaction — and, before
 * it, that every tool exists upstream (where the gateway can list them).
 */
@Injectable()
export class VirtualServerService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly slugs: SlugNamespace,
    private readonly announcer: RegistryChangeAnnouncer,
    private readonly upstreamTools: UpstreamToolsClient,
  ) {}

  async create(body: CreateVirtualServerBody): Promise<{ view: VirtualServerView; version: number }> {
    await this.checkUpstreams(body.tools);
    const now = this.clock.now();
    const saved = await this.dataSource.transaction(async (manager) => {
      await this.slugs.claim(body.slug, manager);
      const row = await manager.getRepository(VirtualServerEntity).save(manager.getRepository(VirtualServerEntity).create({ slug: body.slug, name: body.name, requiredScopes: body.requiredScopes, version: 1, createdAt: now, updatedAt: now }));
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
    if (body.tools) {
      // 404 before talking to any upstream; the transaction below checks again.
      if (!(await this.dataSource.getRepository(VirtualServerEntity).existsBy({ slug }))) throw new VirtualServerNotFoundError(slug);
      await this.checkUpstreams(body.tools);
    }
    const row = await this.dataSource.transaction(async (manager) => {
      const current = await manager.getRepository(VirtualServerEntity).findOne({ where: { slug }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new VirtualServerNotFoundError(slug);
      checkIfMatch(ifMatch, current.version, `virtual server "${slug}"`);
      if (body.tools) {
        await manager.getRepository(VirtualServerToolEntity).delete({ virtualServerId: current.id });
        await this.writeTools(current, body.tools, manager);
      }
      await manager.getRepository(VirtualServerEntity).update({ id: current.id }, { ...(body.name !== undefined && { name: body.name }), ...(body.requiredScopes !== undefined && { requiredScopes: body.requiredScopes }), version: current.version + 1, updatedAt: this.clock.now() });
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
      requiredScopes: [...row.requiredScopes],
    };
  }

  /**
   * Before any transaction (no lock held across the network): the referenced
   * servers' own rules, then every tool must exist upstream. Servers whose tools
   * the gateway cannot list without a user are not checked.
   */
  private async checkUpstreams(refs: readonly ToolRef[]): Promise<void> {
    const servers = await this.checkRefs(refs, this.dataSource.manager, false);
    const listed = new Map<string, Promise<string[] | null>>();
    refs.forEach((ref, index) => {
      if (!listed.has(ref.server)) listed.set(ref.server, this.upstreamTools.listTools(servers.find((s) => s.slug === ref.server) as ServerEntity, `tools.${index}.server`));
    });
    const tools = new Map<string, string[] | null>();
    // Every listing settles before the first failure is reported, so none is left running.
    const settled = await Promise.allSettled([...listed.values()]);
    [...listed.keys()].forEach((slug, i) => {
      const outcome = settled[i];
      if (outcome.status === 'rejected') throw outcome.reason;
      tools.set(slug, outcome.value);
    });
    const absent = refs.map((ref, index) => ({ ref, index })).filter(({ ref }) => {
      const names = tools.get(ref.server);
      return names != null && !names.includes(ref.tool);
    });
    if (absent.length > 0) {
      throw new InvalidRequestError(
        `invalid virtual server: ${absent.map(({ ref, index }) => `tools[${index}].tool "${ref.tool}" does not exist on server "${ref.server}"`).join('; ')}`,
        absent.map(({ ref, index }) => ({ path: `tools.${index}.tool`, message: `no tool "${ref.tool}" on server "${ref.server}"` })),
      );
    }
  }

  private async writeTools(row: VirtualServerEntity, refs: readonly ToolRef[], manager: EntityManager): Promise<void> {
    const servers = await this.checkRefs(refs, manager, true);
    const serverOf = (ref: ToolRef) => servers.find((s) => s.slug === ref.server) as ServerEntity;
    await manager.getRepository(VirtualServerToolEntity).insert(
      refs.map((ref, position) => ({ virtualServerId: row.id, position, serverId: serverOf(ref).id, tool: ref.tool, alias: ref.alias ?? ref.tool })),
    );
  }

  /** Every referenced server exists, no listed tool is disabled there, no two entries expose one name; answers the servers. */
  private async checkRefs(refs: readonly ToolRef[], manager: EntityManager, lock: boolean): Promise<ServerEntity[]> {
    const slugs = [...new Set(refs.map((ref) => ref.server))];
    const servers = await manager.getRepository(ServerEntity).find({ where: { slug: In(slugs) }, ...(lock && { lock: { mode: 'pessimistic_read' as const } }) });
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
    return servers;
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
      requiredScopes: [...row.requiredScopes],
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    }));
  }
}
