import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, Principal, ServerTarget } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, ServerNotFoundError } from '../errors';
import { CreateServerBody, ServerPage, ServerView, SLUG_PATTERN, toServerTarget, toServerView, UpdateServerBody } from './dto/server.dto';
import { actorPartyOf, partyOf, subjectsOf } from '../authorization/subject';
import { checkIfMatch } from '../http/etag';
import { OutboundUrlPolicy } from './outbound-url.policy';
import { ServerVaultClient } from './server-vault.client';
import { SlugNamespace } from './slug-namespace';
import { ServerEntity } from './server.entity';
import { ServerChanges, ServerRepository } from './server.repository';

type Change = 'created' | 'updated' | 'deleted';

/**
 * Servers and their credentials. A server row and its vault credentials
 * change together: the vault is called inside the database transaction, so
 * a vault failure rolls the row back and nothing is half-written.
 */
@Injectable()
export class ServerService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly servers: ServerRepository,
    private readonly vault: ServerVaultClient,
    private readonly outbound: OutboundUrlPolicy,
    private readonly slugs: SlugNamespace,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(body: CreateServerBody, actor: Principal): Promise<ServerView> {
    await this.outbound.check(body.url);
    const now = this.clock.now();
    const vaultWritten: { serverId: string | null } = { serverId: null };
    let server: ServerEntity;
    try {
      server = await this.dataSource.transaction(async (manager) => {
        await this.slugs.claim(body.slug, manager);
        const inserted = await this.servers.insert(
          {
            slug: body.slug,
            name: body.name,
            url: body.url,
            transport: body.transport,
            authType: body.authType,
            headerNames: body.headers ? Object.keys(body.headers) : [],
            timeoutMs: body.timeoutMs,
            groupId: null,
            version: 1,
            createdAt: now,
            updatedAt: now,
          },
          manager,
        );
        if (body.headers) {
          await this.vault.putHeaders(inserted.id, body.headers);
          vaultWritten.serverId = inserted.id;
        }
        return inserted;
      });
    } catch (error) {
      // Only a failed commit after a successful vault write lands here with vaultWritten set.
      if (vaultWritten.serverId) await this.forgetCredentials(vaultWritten.serverId);
      throw error;
    }
    this.log.info({ serverId: server.id, slug: server.slug, authType: server.authType, headerNames: server.headerNames, actor: actor.id }, 'server created');
    await this.announce(server, 'created');
    return toServerView(server);
  }

  async get(slug: string): Promise<ServerView> {
    return toServerView(await this.find(slug));
  }

  async list(limit: number, offset: number, name: string | undefined, principal: Principal): Promise<ServerPage> {
    const visibleTo =
      principal.isAdmin && !principal.actor
        ? null
        : [[...subjectsOf(partyOf(principal))], ...(principal.actor ? [[...subjectsOf(actorPartyOf(principal.actor))]] : [])];
    const [servers, total] = await this.servers.list(limit, offset, name, visibleTo);
    return { items: servers.map(toServerView), total, limit, offset };
  }

  /** What the edge routes to; `registry.resolve`. */
  async resolve(slug: string): Promise<ServerTarget> {
    return toServerTarget(await this.find(slug));
  }

  /**
   * Applies a partial change. New headers replace the vault's; switching to
   * `authType: none` deletes the vault's credentials for the server.
   */
  async update(slug: string, body: UpdateServerBody, actor: Principal, ifMatch?: string): Promise<ServerView> {
    if (!SLUG_PATTERN.test(slug)) throw new ServerNotFoundError(slug);
    if (body.url !== undefined) await this.outbound.check(body.url);
    const server = await this.dataSource.transaction(async (manager) => {
      const current = await this.servers.findBySlugForUpdate(slug, manager);
      if (!current) throw new ServerNotFoundError(slug);
      checkIfMatch(ifMatch, current.version, `server "${slug}"`);
      const authType = body.authType ?? current.authType;
      if (authType !== 'header' && body.headers !== undefined) {
        throw new InvalidRequestError('headers are only allowed when authType is "header"', [{ path: 'headers', message: 'is only allowed when authType is "header"' }]);
      }
      if (authType === 'header' && current.authType !== 'header' && body.headers === undefined) {
        throw new InvalidRequestError('headers are required when authType becomes "header"', [{ path: 'headers', message: 'is required when authType is "header"' }]);
      }
      const changes: ServerChanges = {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.url !== undefined && { url: body.url }),
        ...(body.transport !== undefined && { transport: body.transport }),
        ...(body.timeoutMs !== undefined && { timeoutMs: body.timeoutMs }),
        authType,
        headerNames: body.headers ? Object.keys(body.headers) : authType === 'header' ? current.headerNames : [],
        version: current.version + 1,
        updatedAt: this.clock.now(),
      };
      const updated = await this.servers.update(current.id, changes, manager);
      if (body.headers) await this.vault.putHeaders(current.id, body.headers);
      else if (current.authType === 'header' && authType !== 'header') await this.vault.deleteCredentials(current.id);
      return updated;
    });
    this.log.info({ serverId: server.id, slug, fields: Object.keys(body), headerNames: server.headerNames, actor: actor.id }, 'server updated');
    await this.announce(server, 'updated');
    return toServerView(server);
  }

  /** Deletes the server and every credential the vault holds for it, or neither. */
  async remove(slug: string, actor: Principal): Promise<void> {
    if (!SLUG_PATTERN.test(slug)) throw new ServerNotFoundError(slug);
    const server = await this.dataSource.transaction(async (manager) => {
      const current = await this.servers.findBySlugForUpdate(slug, manager);
      if (!current) throw new ServerNotFoundError(slug);
      const [exposed] = (await manager.query(
        `SELECT v.slug FROM "registry"."virtual_server_tools" t JOIN "registry"."virtual_servers" v ON v.id = t.virtual_server_id WHERE t.server_id = $1 LIMIT 1`,
        [current.id],
      )) as { slug: string }[];
      if (exposed) throw new ConflictError(`server "${slug}" is exposed by virtual server "${exposed.slug}"; remove its tools there first`);
      await this.servers.delete(current.id, manager);
      await this.vault.deleteCredentials(current.id);
      return current;
    });
    this.log.info({ serverId: server.id, slug, actor: actor.id }, 'server deleted');
    await this.announce(server, 'deleted');
  }

  private async find(slug: string): Promise<ServerEntity> {
    const server = SLUG_PATTERN.test(slug) ? await this.servers.findBySlug(slug) : null;
    if (!server) throw new ServerNotFoundError(slug);
    return server;
  }

  /** Tells every edge to drop what it cached about the server. The change is committed either way. */
  private async announce(server: ServerEntity, change: Change): Promise<void> {
    try {
      await this.bus.emit(EventSubjects.registryChanged, { serverId: server.id, slug: server.slug, change });
    } catch (error) {
      this.log.error({ err: error, serverId: server.id, change }, 'could not announce a registry change; edges keep their cache until it expires');
    }
  }

  private async forgetCredentials(serverId: string): Promise<void> {
    await this.vault.deleteCredentials(serverId).catch((error: unknown) =>
      this.log.error({ err: error, serverId }, 'could not delete vault credentials of a server whose creation failed'),
    );
  }
}
