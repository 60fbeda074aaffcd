import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { IdentityProviderView, Principal, RequestSubjects } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { fromBusError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';
import { CreateIdentityProviderBody, UpdateIdentityProviderBody } from './dto/identity-provider.dto';

/** Identity providers belong to identity; admins manage them here and identity does the work over the bus. */
@Injectable()
export class IdentityProviderService {
  constructor(
    private readonly bus: Bus,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(body: CreateIdentityProviderBody, actor: Principal): Promise<IdentityProviderView> {
    const { identityProvider } = await this.identity(() => this.bus.request(RequestSubjects.identityAdminIdentityProviderCreate, body, this.options()));
    this.log.info({ identityProvider: identityProvider.name, actor: actor.id }, 'identity provider created');
    return identityProvider;
  }

  list(): Promise<{ items: IdentityProviderView[] }> {
    return this.identity(() => this.bus.request(RequestSubjects.identityAdminIdentityProviderList, {}, this.options()));
  }

  async get(name: string): Promise<IdentityProviderView> {
    return (await this.identity(() => this.bus.request(RequestSubjects.identityAdminIdentityProviderGet, { name }, this.options()))).identityProvider;
  }

  async update(name: string, changes: UpdateIdentityProviderBody, actor: Principal): Promise<IdentityProviderView> {
    const { identityProvider } = await this.identity(() => this.bus.request(RequestSubjects.identityAdminIdentityProviderUpdate, { name, changes }, this.options()));
    this.log.info({ identityProvider: name, changed: Object.keys(changes), actor: actor.id }, 'identity provider updated');
    return identityProvider;
  }

  async delete(name: string, actor: Principal): Promise<IdentityProviderView> {
    const { identityProvider } = await this.identity(() => this.bus.request(RequestSubjects.identityAdminIdentityProviderDelete, { name }, this.options()));
    this.log.info({ identityProvider: name, actor: actor.id }, 'identity provider deleted');
    return identityProvider;
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
