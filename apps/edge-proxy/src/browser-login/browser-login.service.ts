import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { BrowserSessionResponse, OidcLoginCompleteResponse, OidcLoginStartResponse, Principal, RequestSubjects } from '@portcullis/contracts';
import { BUS_REQUEST_TIMEOUT_MS, isServiceFailure, serviceUnavailable } from '../access/bus-failures';
import { PrincipalResolver } from '../access/principal-resolver.service';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { UnauthenticatedError } from '../errors';
import { readSessionCookie, SessionCookiePolicy, sessionCookiePolicy } from './session-cookie';

/** Sign-in and sign-out, answered by identity over the bus; the cookie's principal through the edge's usual cache. */
@Injectable()
export class BrowserLoginService {
  private readonly cookie: SessionCookiePolicy;

  constructor(
    private readonly bus: Bus,
    private readonly principals: PrincipalResolver,
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
  ) {
    this.cookie = sessionCookiePolicy(options.publicUrl);
  }

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

  /** The signed-in browser user, or null (no session cookie, or one that no longer names a live session). */
  async signedInPrincipal(cookieHeader: string | undefined): Promise<Principal | null> {
    const token = readSessionCookie(this.cookie, cookieHeader);
    if (token === null) return null;
    try {
      return await this.principals.authenticate(token);
    } catch (error) {
      if (error instanceof UnauthenticatedError) return null;
      throw error;
    }
  }
}
