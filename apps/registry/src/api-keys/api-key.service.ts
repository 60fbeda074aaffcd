import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { ApiKeyView, Principal, RequestSubjects } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { fromBusError, NotFoundError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';
import { ApiKeyIdSchema, CreateApiKeyBody } from './dto/api-key.dto';

/** Gateway API keys are identity's; admins manage them here, and identity does the work over the bus. */
@Injectable()
export class ApiKeyService {
  constructor(
    private readonly bus: Bus,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** The token in the answer is shown this once; identity keeps only its hash. */
  async create(body: CreateApiKeyBody, actor: Principal): Promise<{ apiKey: ApiKeyView; token: string }> {
    const created = await this.identity(() => this.bus.request(RequestSubjects.identityAdminApiKeyCreate, body, this.options()));
    this.log.info({ apiKeyId: created.apiKey.id, prefix: created.apiKey.prefix, isAdmin: created.apiKey.isAdmin, actor: actor.id }, 'api key created');
    return created;
  }

  async list(): Promise<{ items: ApiKeyView[] }> {
    return this.identity(() => this.bus.request(RequestSubjects.identityAdminApiKeyList, {}, this.options()));
  }

  async revoke(id: string, actor: Principal): Promise<ApiKeyView> {
    if (!ApiKeyIdSchema.safeParse(id).success) throw new NotFoundError('no API key with that id');
    const { apiKey } = await this.identity(() => this.bus.request(RequestSubjects.identityAdminApiKeyRevoke, { id }, this.options()));
    this.log.info({ apiKeyId: apiKey.id, prefix: apiKey.prefix, actor: actor.id }, 'api key revoked');
    return apiKey;
  }

  private options() {
    return { timeoutMs: this.settings.dependencyTimeoutMs };
  }

  private async identity<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw fromBusError('identity', error);
    }
  }
}
