import { Inject, Injectable } from '@nestjs/common';
import { ApiKeyView, CreateApiKeyRequest, Principal, RequestSubjects } from '@portcullis/contracts';
import { isGranted } from '../access/registry-permissions';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { ForbiddenError, NotFoundError } from '../errors';
import { IdentityAdminClient } from '../identity-admin/identity-admin.client';
import { ApiKeyIdSchema, CreateApiKeyBody } from './dto/api-key.dto';

/** Gateway API keys are identity's; admins manage them here, and identity does the work over the bus. */
@Injectable()
export class ApiKeyService {
  constructor(
    private readonly identity: IdentityAdminClient,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** The token in the answer is shown this once; identity keeps only its hash. */
  async create(body: CreateApiKeyBody, actor: Principal): Promise<{ apiKey: ApiKeyView; token: string }> {
    const created = await this.identity.request(RequestSubjects.identityAdminApiKeyCreate, ownerOf(body, actor));
    this.log.info({ apiKeyId: created.apiKey.id, prefix: created.apiKey.prefix, isAdmin: created.apiKey.isAdmin, actor: actor.id }, 'api key created');
    return created;
  }

  /** Admins see every key; anyone else only their own. */
  async list(actor: Principal): Promise<{ items: ApiKeyView[] }> {
    const request = isGranted(actor, 'api-keys:read') ? {} : { ownerUserId: ownUserId(actor) };
    return this.identity.request(RequestSubjects.identityAdminApiKeyList, request);
  }

  /** Someone else's key is "not found" to a non-admin, so key ids cannot be probed. */
  async revoke(id: string, actor: Principal): Promise<ApiKeyView> {
    if (!ApiKeyIdSchema.safeParse(id).success) throw new NotFoundError('no API key with that id');
    const request = isGranted(actor, 'api-keys:write') ? { id } : { id, ownerUserId: ownUserId(actor) };
    const { apiKey } = await this.identity.request(RequestSubjects.identityAdminApiKeyRevoke, request);
    this.log.info({ apiKeyId: apiKey.id, prefix: apiKey.prefix, actor: actor.id }, 'api key revoked');
    return apiKey;
  }
}

/**
 * Whose key is created. An admin names any owner by e-mail (default: themselves).
 * Anyone else gets a key for themselves only, never an admin one.
 */
function ownerOf(body: CreateApiKeyBody, actor: Principal): CreateApiKeyRequest {
  if (isGranted(actor, 'api-keys:write')) {
    return body.ownerEmail !== undefined ? { ...body, ownerEmail: body.ownerEmail } : { ...body, ownerEmail: undefined, ownerUserId: ownUserId(actor) };
  }
  const ownerUserId = ownUserId(actor);
  if (body.isAdmin) throw new ForbiddenError('only an admin can create an admin key');
  if (body.ownerEmail !== undefined && body.ownerEmail.toLowerCase() !== actor.email?.toLowerCase()) throw new ForbiddenError('a user can only create keys for themselves');
  return { name: body.name, isAdmin: false, expiresAt: body.expiresAt, ownerUserId };
}

/**
 * The user id of a principal that may hold its own keys: a gateway user acting
 * for themselves. Virtual accounts, external principals and on-behalf-of
 * tokens cannot mint keys (a key would outlive the token that made it).
 */
function ownUserId(actor: Principal): string {
  if (actor.kind !== 'user' || actor.actor !== undefined || !actor.id.startsWith(USER_PREFIX)) throw new ForbiddenError('only a user can hold API keys');
  return actor.id.slice(USER_PREFIX.length);
}

const USER_PREFIX = 'user:';
