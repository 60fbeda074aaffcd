import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { ApiKeyView, CreateApiKeyRequest, EventSubjects } from '@portcullis/contracts';
import { generateToken } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { DataSource, EntityManager } from 'typeorm';
import { UserEntity } from '../users/user.entity';
import { Clock } from '../clock';
import { ApiKeyNotFoundError, InvalidApiKeyRequestError } from '../errors';
import { UserRepository } from '../users/user.repository';
import { ApiKeyRepository } from './api-key.repository';
import { toApiKeyView } from './dto/api-key.view';

/** Scheme of every gateway API key: `pcl_<id>_<secret>`. */
export const API_KEY_SCHEME = 'pcl';

@Injectable()
export class ApiKeyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly apiKeys: ApiKeyRepository,
    private readonly users: UserRepository,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Creates a key (and its owner, if new). The token is returned here and
   * nowhere else: only its hash is stored. An admin key makes its owner an admin.
   */
  async create(request: CreateApiKeyRequest): Promise<{ apiKey: ApiKeyView; token: string }> {
    const now = this.clock.now();
    const expiresAt = request.expiresAt === null ? null : new Date(request.expiresAt);
    if (expiresAt && expiresAt.getTime() <= now.getTime()) {
      throw new InvalidApiKeyRequestError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }]);
    }
    if ((request.ownerEmail === undefined) === (request.ownerUserId === undefined)) {
      throw new InvalidApiKeyRequestError('name the owner by ownerEmail or ownerUserId', [{ path: 'ownerEmail', message: 'exactly one of ownerEmail and ownerUserId' }]);
    }
    const { token, prefix, hash } = generateToken(API_KEY_SCHEME);
    const key = await this.dataSource.transaction(async (manager) => {
      const user = await this.ownerOf(request, now, manager);
      const id = await this.apiKeys.insert(
        { userId: user.id, name: request.name, prefix, tokenHash: hash, isAdmin: request.isAdmin, createdAt: now, expiresAt },
        manager,
      );
      return (await this.apiKeys.findById(id, manager))!;
    });
    this.log.info({ apiKeyId: key.id, prefix, userId: key.userId, isAdmin: request.isAdmin }, 'api key created');
    return { apiKey: toApiKeyView(key), token };
  }

  /** Every key, or only the keys of `ownerUserId`. */
  async list(ownerUserId?: string): Promise<ApiKeyView[]> {
    return (await this.apiKeys.list(ownerUserId)).map(toApiKeyView);
  }

  /**
   * Revokes a key and tells every edge to forget it at once. Revoking twice is
   * harmless. With `ownerUserId`, someone else's key is "not found", so a
   * user cannot probe which key ids exist.
   */
  async revoke(id: string, ownerUserId?: string): Promise<ApiKeyView> {
    const existing = await this.apiKeys.findById(id);
    if (!existing || (ownerUserId !== undefined && existing.userId !== ownerUserId)) throw new ApiKeyNotFoundError();
    await this.apiKeys.revoke(id, this.clock.now());
    const key = (await this.apiKeys.findById(id))!;
    await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: [key.id], principalIds: [] });
    this.log.info({ apiKeyId: key.id, prefix: key.prefix }, 'api key revoked');
    return toApiKeyView(key);
  }

  /** By e-mail: created if new (and made admin by an admin key). By id: must exist and be active, and is never promoted. */
  private async ownerOf(request: CreateApiKeyRequest, now: Date, manager: EntityManager): Promise<UserEntity> {
    if (request.ownerEmail !== undefined) return this.users.ensure({ email: request.ownerEmail, isAdmin: request.isAdmin, createdAt: now }, manager);
    const user = await manager.getRepository(UserEntity).findOne({ where: { id: request.ownerUserId } });
    if (!user || !user.active) throw new InvalidApiKeyRequestError('no active user with that id', [{ path: 'ownerUserId', message: 'no active user with that id' }]);
    if (request.isAdmin && !user.isAdmin) throw new InvalidApiKeyRequestError('only an admin can hold an admin key', [{ path: 'isAdmin', message: 'the owner is not an admin' }]);
    return user;
  }
}
