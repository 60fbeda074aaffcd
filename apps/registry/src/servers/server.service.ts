import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { AuthType, ConnectionView, EventSubjects, OAuthSettings, Principal, RequestSubjects, ServerTarget, userPrincipalId, vaultServerOf } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, NotFoundError, ServerNotFoundError } from '../errors';
import { CreateServerBody, ServerPage, ServerView, SLUG_PATTERN, toServerTarget, toServerView, UpdateServerBody } from './dto/server.dto';
import { actorPartyOf, partyOf, subjectsOf } from '../authorization/subject';
import { checkIfMatch } from '../http/etag';
import { IdentityAdminClient } from '../identity-admin/identity-admin.client';
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
    private readonly identity: IdentityAdminClient,
    private readonly outbound: OutboundUrlPolicy,
    private readonly slugs: SlugNamespace,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(body: CreateServerBody, actor: Principal): Promise<ServerView> {
    await this.checkOutboundUrls(body.url, body.oauth);
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
            headerMode: body.authType === 'header' ? (body.headerMode ?? 'global') : null,
            headerNames: body.headers ? Object.keys(body.headers) : [],
            oauthGrantType: body.oauth?.grantType ?? null,
            timeoutMs: body.timeoutMs,
            requiredScopes: body.requiredScopes,
            groupId: null,
            version: 1,
            createdAt: now,
            updatedAt: now,
          },
          manager,
        );
        vaultWritten.serverId = inserted.id;
        await this.writeCredentials(inserted, body);
        return inserted;
      });
    } catch (error) {
      // The vault may hold part of what this failed creation sent it.
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

  async listConnections(slug: string): Promise<ConnectionView[]> {
    return this.vault.listConnections((await this.find(slug)).id);
  }

  /** @throws NotFoundError when the subject has no connection to the server. */
  async disconnect(slug: string, principalId: string): Promise<void> {
    const server = await this.find(slug);
    const { deleted, revokedAtProvider } = await this.vault.deleteConnection(server.id, principalId);
    if (!deleted) throw new NotFoundError(`no connection of "${principalId}" to server "${slug}"`);
    this.log.info({ serverId: server.id, principalId, revokedAtProvider }, 'connection deleted by a manager');
  }

  /** Sets a user's values on a per-user header server, as a manager doing it for them. */
  async setUserValues(slug: string, userId: string, values: Record<string, string>): Promise<{ userId: string; variables: string[] }> {
    const server = await this.find(slug);
    if (server.headerMode !== 'per_user') throw new InvalidRequestError(`server "${slug}" has no per-user credentials`, [{ path: 'values', message: 'the server\'s headerMode is not "per_user"' }]);
    const { user } = await this.identity.request(RequestSubjects.identityAdminUserGet, { id: userId });
    const principal: Principal = { id: userPrincipalId(user.id), kind: 'user', sub: user.id, ...(user.email ? { email: user.email } : {}), teams: [], isAdmin: false };
    const { variables } = await this.vault.putUserValues(principal, vaultServerOf(server), values);
    this.log.info({ serverId: server.id, userId, variables }, 'user credential set by a manager');
    return { userId, variables };
  }

  async deleteUserValues(slug: string, userId: string): Promise<void> {
    const server = await this.find(slug);
    const deleted = await this.vault.deleteUserValues(userPrincipalId(userId), server.id);
    if (deleted === 0) throw new NotFoundError(`user "${userId}" has no credential on server "${slug}"`);
  }

  /** What the edge routes to; `registry.resolve`. */
  async resolve(slug: string): Promise<ServerTarget> {
    return toServerTarget(await this.find(slug));
  }

  /**
   * Applies a partial change. New headers or OAuth settings replace the
   * vault's; leaving an auth type deletes its credentials in the vault. A new
   * URL for a server with per-user secrets drops them (they were given for
   * the old upstream) and needs the headers or OAuth settings again.
   */
  async update(slug: string, body: UpdateServerBody, actor: Principal, ifMatch?: string): Promise<ServerView> {
    if (!SLUG_PATTERN.test(slug)) throw new ServerNotFoundError(slug);
    if (body.url !== undefined || body.oauth !== undefined) await this.checkOutboundUrls(body.url, body.oauth);
    const server = await this.dataSource.transaction(async (manager) => {
      const current = await this.servers.findBySlugForUpdate(slug, manager);
      if (!current) throw new ServerNotFoundError(slug);
      checkIfMatch(ifMatch, current.version, `server "${slug}"`);
      const authType = body.authType ?? current.authType;
      const headerMode = authType === 'header' ? (body.headerMode ?? (current.authType === 'header' ? current.headerMode : 'global')) : null;
      const urlChanged = body.url !== undefined && body.url !== current.url;
      const perUserSecrets = current.authType === 'oauth2' || current.headerMode === 'per_user';
      const resetCredentials = (current.authType !== authType && current.authType !== 'none' && current.authType !== 'passthrough') || (urlChanged && perUserSecrets);
      assertAuthFieldsFit(body, authType);
      if (authType === 'header' && body.headers === undefined && (current.authType !== 'header' || headerMode !== current.headerMode || resetCredentials)) {
        throw fieldRequired('headers', 'when authType becomes "header", headerMode changes or a per-user server moves to another URL');
      }
      if (authType === 'oauth2' && body.oauth === undefined && (current.authType !== 'oauth2' || resetCredentials)) {
        throw fieldRequired('oauth', 'when authType becomes "oauth2" or an oauth2 server moves to another URL');
      }
      const changes: ServerChanges = {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.url !== undefined && { url: body.url }),
        ...(body.transport !== undefined && { transport: body.transport }),
        ...(body.timeoutMs !== undefined && { timeoutMs: body.timeoutMs }),
        ...(body.requiredScopes !== undefined && { requiredScopes: body.requiredScopes }),
        authType,
        headerMode,
        headerNames: body.headers ? Object.keys(body.headers) : authType === 'header' ? current.headerNames : [],
        oauthGrantType: authType === 'oauth2' ? (body.oauth?.grantType ?? current.oauthGrantType) : null,
        version: current.version + 1,
        updatedAt: this.clock.now(),
      };
      const updated = await this.servers.update(current.id, changes, manager);
      if (resetCredentials) await this.vault.deleteCredentials(current.id);
      await this.writeCredentials(updated, body);
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

  /** Sends the write-only parts of a server's auth settings to the vault. */
  private async writeCredentials(server: ServerEntity, body: Pick<CreateServerBody, 'headers' | 'oauth'>): Promise<void> {
    if (body.headers) await this.vault.putHeaders(server.id, body.headers, server.headerMode ?? 'global');
    if (body.oauth) await this.vault.putOAuth(vaultServerOf(server), body.oauth);
  }

  /** The upstream and the OAuth endpoints the vault calls from inside the network (the authorization URL is the browser's). */
  private async checkOutboundUrls(url: string | undefined, oauth: OAuthSettings | undefined): Promise<void> {
    const checked = [url, oauth?.tokenUrl, oauth?.revocationUrl, oauth?.issuer].filter((value): value is string => value !== undefined);
    await Promise.all(checked.map((value) => this.outbound.check(value)));
  }

  private async forgetCredentials(serverId: string): Promise<void> {
    await this.vault.deleteCredentials(serverId).catch((error: unknown) =>
      this.log.error({ err: error, serverId }, 'could not delete vault credentials of a server whose creation failed'),
    );
  }
}

function fieldRequired(field: string, when: string): InvalidRequestError {
  return new InvalidRequestError(`${field} is required ${when}`, [{ path: field, message: `is required ${when}` }]);
}

/** Auth fields the server's (new) auth type does not use are refused rather than silently ignored. */
function assertAuthFieldsFit(body: UpdateServerBody, authType: AuthType): void {
  const misplaced: [keyof UpdateServerBody, AuthType][] = [
    ['headers', 'header'],
    ['headerMode', 'header'],
    ['oauth', 'oauth2'],
  ];
  for (const [field, needed] of misplaced) {
    if (body[field] !== undefined && authType !== needed) {
      throw new InvalidRequestError(`${field} is only allowed when authType is "${needed}"`, [{ path: field, message: `is only allowed when authType is "${needed}"` }]);
    }
  }
}
