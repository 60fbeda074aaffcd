import { Inject, Injectable } from '@nestjs/common';
import { IdentityProviderView, Principal, RequestSubjects } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { IdentityAdminClient } from '../identity-admin/identity-admin.client';
import { CreateIdentityProviderBody, UpdateIdentityProviderBody } from './dto/identity-provider.dto';

/** Identity providers belong to identity; admins manage them here and identity does the work over the bus. */
@Injectable()
export class IdentityProviderService {
  constructor(
    private readonly identity: IdentityAdminClient,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(body: CreateIdentityProviderBody, actor: Principal): Promise<IdentityProviderView> {
    const { identityProvider } = await this.identity.request(RequestSubjects.identityAdminIdentityProviderCreate, body);
    this.log.info({ identityProvider: identityProvider.name, actor: actor.id }, 'identity provider created');
    return identityProvider;
  }

  list(): Promise<{ items: IdentityProviderView[] }> {
    return this.identity.request(RequestSubjects.identityAdminIdentityProviderList, {});
  }

  async get(name: string): Promise<IdentityProviderView> {
    return (await this.identity.request(RequestSubjects.identityAdminIdentityProviderGet, { name })).identityProvider;
  }

  async update(name: string, changes: UpdateIdentityProviderBody, actor: Principal): Promise<IdentityProviderView> {
    const { identityProvider } = await this.identity.request(RequestSubjects.identityAdminIdentityProviderUpdate, { name, changes });
    this.log.info({ identityProvider: name, changed: Object.keys(changes), actor: actor.id }, 'identity provider updated');
    return identityProvider;
  }

  async delete(name: string, actor: Principal): Promise<IdentityProviderView> {
    const { identityProvider } = await this.identity.request(RequestSubjects.identityAdminIdentityProviderDelete, { name });
    this.log.info({ identityProvider: name, actor: actor.id }, 'identity provider deleted');
    return identityProvider;
  }
}
