import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import {
  CreateIdentityProviderRequest,
  EventSubjects,
  IdentityProviderChanges,
  IdentityProviderSettings,
  IdentityProviderSettingsSchema,
  IdentityProviderView,
} from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors';
import { toIdentityProviderView } from './dto/identity-provider.view';
import { IdentityProviderEntity } from './identity-provider.entity';
import { IdentityProviderRepository } from './identity-provider.repository';

/** Identity providers as admins manage them (through the registry's admin API). */
@Injectable()
export class IdentityProviderService {
  constructor(
    private readonly providers: IdentityProviderRepository,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async create(request: CreateIdentityProviderRequest): Promise<IdentityProviderView> {
    const { name, ...settings } = request;
    await this.assertOnlyBrowserLogin(settings, null);
    const created = await this.providers.insert(name, assertConsistent(settings), this.clock.now());
    if (!created) throw new ConflictError(`an identity provider named "${name}" already exists`);
    this.log.info({ identityProvider: name, issuer: settings.issuer }, 'identity provider created');
    return toIdentityProviderView(created);
  }

  async list(): Promise<IdentityProviderView[]> {
    return (await this.providers.list()).map(toIdentityProviderView);
  }

  /** Distinct issuers of the enabled providers, sorted: where agents get tokens the gateway accepts. */
  async authorizationServers(): Promise<string[]> {
    const issuers = (await this.providers.list()).filter((provider) => provider.settings.enabled).map((provider) => provider.issuer);
    return [...new Set(issuers)].sort();
  }

  async get(name: string): Promise<IdentityProviderView> {
    return toIdentityProviderView(await this.find(name));
  }

  /** Applies the changes; every edge then forgets whom this provider authenticated, so narrowed settings apply at once. */
  async update(name: string, changes: IdentityProviderChanges): Promise<IdentityProviderView> {
    const provider = await this.find(name);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    const settings = assertConsistent(IdentityProviderSettingsSchema.parse({ ...provider.settings, ...defined }));
    await this.assertOnlyBrowserLogin(settings, provider.id);
    await this.providers.update(provider.id, settings, this.clock.now());
    await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: [], principalIds: [], identityProviders: [name] });
    this.log.info({ identityProvider: name, changed: Object.keys(defined) }, 'identity provider updated');
    return this.get(name);
  }

  /** Deletes it and the links of its users (the users stay); its tokens stop working at every edge at once. */
  async delete(name: string): Promise<IdentityProviderView> {
    const provider = await this.find(name);
    await this.providers.delete(provider.id);
    await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: [], principalIds: [], identityProviders: [name] });
    this.log.info({ identityProvider: name }, 'identity provider deleted');
    return toIdentityProviderView(provider);
  }

  /** At most one provider signs browsers in (a unique index backs this up). */
  private async assertOnlyBrowserLogin(settings: IdentityProviderSettings, selfId: string | null): Promise<void> {
    if (!settings.browserLogin) return;
    const other = (await this.providers.list()).find((p) => p.id !== selfId && p.settings.browserLogin);
    if (other) throw new ConflictError(`identity provider "${other.name}" already has browser login`);
  }

  private async find(name: string): Promise<IdentityProviderEntity> {
    const provider = await this.providers.findByName(name);
    if (!provider) throw new NotFoundError(`no identity provider named "${name.slice(0, 100)}"`);
    return provider;
  }
}

/** The rules that span fields, which the schema alone does not express. */
export function assertConsistent(settings: IdentityProviderSettings): IdentityProviderSettings {
  const issues: { path: string; message: string }[] = [];
  if ((settings.discoveryUrl === null) === (settings.jwksUri === null)) {
    issues.push({ path: 'jwksUri', message: 'exactly one of discoveryUrl and jwksUri must be set' });
  }
  if (settings.mapsTo === 'virtual_account' && settings.virtualAccount === null) {
    issues.push({ path: 'virtualAccount', message: 'is required when mapsTo is virtual_account' });
  }
  if (settings.mapsTo !== 'virtual_account' && settings.virtualAccount !== null) {
    issues.push({ path: 'virtualAccount', message: 'is only allowed when mapsTo is virtual_account' });
  }
  if (issues.length > 0) throw new InvalidRequestError(`invalid identity provider: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
  return settings;
}
