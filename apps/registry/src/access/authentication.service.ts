import { Inject, Injectable } from '@nestjs/common';
import { Bus, BusError } from '@portcullis/bus';
import { Principal, RequestSubjects } from '@portcullis/contracts';
import { DependencyUnavailableError, UnauthorizedError } from '../errors';
import { REGISTRY_SETTINGS, type RegistrySettings } from '../registry.settings';

/** Turns a presented bearer token into a principal by asking identity over the bus. */
@Injectable()
export class AuthenticationService {
  constructor(
    private readonly bus: Bus,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    try {
      const { principal } = await this.bus.request(RequestSubjects.identityAuthenticate, { token }, { timeoutMs: this.settings.dependencyTimeoutMs });
      return principal;
    } catch (error) {
      // A token identity refuses (or one too malformed to ask about) is the caller's fault;
      // anything else means we could not find out, and we fail closed.
      if (error instanceof BusError && (error.code === 'UNAUTHENTICATED' || error.code === 'INVALID_REQUEST')) {
        throw new UnauthorizedError(true, { cause: error });
      }
      throw new DependencyUnavailableError('identity', { cause: error });
    }
  }
}
