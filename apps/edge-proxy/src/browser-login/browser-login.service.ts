import { Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { BrowserSessionResponse, OidcLoginCompleteResponse, OidcLoginStartResponse, Principal, RequestSubjects } from '@portcullis/contracts';
import { BUS_REQUEST_TIMEOUT_MS, isServiceFailure, serviceUnavailable } from '../access/bus-failures';
import { PrincipalResolver } from '../access/principal-resolver.service';
import { UnauthenticatedError } from '../errors';

/** Sign-in and sign-out, answered by identity over the bus; the cookie's principal through the edge's usual cache. */
@Injectable()
export class BrowserLoginService {
  constructor(
    private readonly bus: Bus,
    private readonly principals: PrincipalResolver,
  ) {}

  /** A session for the owner of a user API key. @throws UnauthenticatedError when identity refuses the key. */
  async loginWithApiKey(apiKey: string): Promise<BrowserSessionResponse> {
    try {
      return await this.bus.request(RequestSubjects.identityLoginApiKey, { apiKey }, { timeoutMs: BUS_REQUEST_TIMEOUT_MS });
    } catch (error) {
      if (isServiceFailure(error)) throw serviceUnavailable('identity', error);
      throw new UnauthenticatedError(true, { cause: error });
    }
  }

  /** Begins an OIDC login at the browser-login provider; `available: false` when there is none. */
  async startOidc(returnTo: string): Promise<OidcLoginStartResponse> {
    try {
      return await this.bus.request(RequestSubjects.identityLoginStart, { returnTo }, { timeoutMs: BUS_REQUEST_TIMEOUT_MS });
    } catch (error) {
      throw isServiceFailure(error) ? serviceUnavailable('identity', error) : error;
    }
  }

  /** Ends an OIDC login with the IdP's callback parameters. Any failure means the sign-in failed. */
  async completeOidc(request: { state: string; code: string; iss?: string }): Promise<OidcLoginCompleteResponse> {
    return this.bus.request(RequestSubjects.identityLoginComplete, request, { timeoutMs: BUS_REQUEST_TIMEOUT_MS });
  }

  async logout(sessionToken: string): Promise<void> {
    try {
      await this.bus.request(RequestSubjects.identityLoginLogout, { sessionToken }, { timeoutMs: BUS_REQUEST_TIMEOUT_MS });
    } catch (error) {
      throw isServiceFailure(error) ? serviceUnavailable('identity', error) : error;
    }
  }

  /** The signed-in user of a `/me/*` page. @throws UnauthenticatedError without a live session. */
  async principalOf(sessionToken: string | null): Promise<Principal> {
    return this.principals.authenticate(sessionToken);
  }
}
