import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { RequestOf, RequestSubject, ResponseOf } from '@portcullis/contracts';
import { fromBusError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';

/** Users, teams and virtual accounts belong to identity: the admin API asks it over the bus, with the registry's deadline. */
@Injectable()
export class IdentityAdminClient {
  constructor(
    private readonly bus: Bus,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  async request<S extends RequestSubject>(subject: S, payload: RequestOf<S>): Promise<ResponseOf<S>> {
    try {
      return await this.bus.request(subject, payload, { timeoutMs: this.settings.dependencyTimeoutMs });
    } catch (error) {
      throw fromBusError('identity', error);
    }
  }
}
