import { Injectable } from '@nestjs/common';
import { Principal, RequestSubjects } from '@portcullis/contracts';
import { Bus, BusError } from '@portcullis/bus';
import { DependencyUnavailableError, InvalidTokenError } from '../errors';

const AUTHENTICATE_TIMEOUT_MS = 3000;

/** Turns a presented bearer token into a principal by asking identity over the bus. */
@Injectable()
export class AuthenticationService {
  constructor(private readonly bus: Bus) {}

  async authenticate(token: string): Promise<Principal> {
    try {
      const { principal } = await this.bus.request(RequestSubjects.identityAuthenticate, { token }, { timeoutMs: AUTHENTICATE_TIMEOUT_MS });
      return principal;
    } catch (error) {
      // A token identity refuses (or one too malformed to ask about) is the caller's fault;
      // anything else means we could not find out, and we fail closed.
      if (error instanceof BusError && (error.code === 'UNAUTHENTICATED' || error.code === 'INVALID_REQUEST')) {
        throw new InvalidTokenError({ cause: error });
      }
      throw new DependencyUnavailableError('authentication', { cause: error });
    }
  }
}
