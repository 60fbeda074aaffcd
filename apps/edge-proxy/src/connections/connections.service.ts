import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { Bus, BusError } from '@portcullis/bus';
import {
  AccessRole,
  ConnectionStatus,
  ConnectionView,
  Principal,
  RequestOf,
  RequestSubject,
  RequestSubjects,
  ResponseOf,
  roleRank,
  ServerTarget,
  vaultServerOf,
} from '@portcullis/contracts';
import { bearerToken } from '../access/bearer-token';
import { BUS_REQUEST_TIMEOUT_MS, isServiceFailure, serviceUnavailable } from '../access/bus-failures';
import { AccessDecisionResolver } from '../access/access-decision-resolver.service';
import { CredentialResolver } from '../access/credential-resolver.service';
import { PrincipalResolver } from '../access/principal-resolver.service';
import { TargetResolver } from '../access/target-resolver.service';
import { BrowserLoginService } from '../browser-login/browser-login.service';
import { isSameOrigin } from '../browser-login/session-cookie';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { CrossOriginRequestError, InvalidRequestError, UnauthenticatedError, UnknownServerError, VaultRefusedError } from '../errors';
import { PublicUrls } from '../public-urls';

/** Where a consent page sends the browser next. */
export type ConnectStep = { kind: 'provider'; url: string } | { kind: 'sign_in'; url: string };

/**
 * The user side of upstream credentials (DESIGN §6): consent pages, the
 * caller's own connections and per-user header values. Every answer comes
 * from token-vault over the bus; the edge checks who is asking and that they
 * may call the server first.
 */
@Injectable()
export class ConnectionsService {
  private readonly publicUrl: string;
  private readonly apiKeyLoginForm: boolean;

  constructor(
    private readonly bus: Bus,
    private readonly principals: PrincipalResolver,
    private readonly targets: TargetResolver,
    private readonly decisions: AccessDecisionResolver,
    private readonly credentials: CredentialResolver,
    private readonly login: BrowserLoginService,
    private readonly urls: PublicUrls,
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
  ) {
    this.publicUrl = options.publicUrl;
    this.apiKeyLoginForm = options.browserLoginApiKeyForm === true;
  }

  /**
   * Who calls a `/me/*` route: the bearer token (as on `/mcp`), else the
   * browser session. A change made with the session alone must come from the
   * gateway's own origin (CSRF).
   * @throws UnauthenticatedError, CrossOriginRequestError
   */
  async caller(headers: IncomingHttpHeaders, changesState: boolean): Promise<Principal> {
    if (headers.authorization !== undefined) return this.principals.authenticate(bearerToken(headers.authorization));
    const browser = await this.login.signedInPrincipal(headers.cookie);
    if (browser === null) throw new UnauthenticatedError(false);
    const header = (name: 'origin' | 'referer'): string | undefined => (typeof headers[name] === 'string' ? headers[name] : undefined);
    if (changesState && !isSameOrigin(this.publicUrl, header('origin'), header('referer'))) throw new CrossOriginRequestError();
    return browser;
  }

  /**
   * `GET /connect/{flowId}`. Where browser login is configured the user signs
   * in first (and comes back here), and the vault refuses a flow another
   * principal started; without browser login the flow id alone is the proof.
   * @throws BusError (FORBIDDEN, NOT_FOUND…) when the vault refuses the flow.
   */
  async connect(flowId: string, cookieHeader: string | undefined): Promise<ConnectStep> {
    const browser = await this.login.signedInPrincipal(cookieHeader);
    if (browser === null) {
      const returnTo = `/connect/${encodeURIComponent(flowId)}`;
      if (this.apiKeyLoginForm) return { kind: 'sign_in', url: `/login?return_to=${encodeURIComponent(returnTo)}` };
      const oidc = await this.login.startOidc(returnTo);
      if (oidc.available) return { kind: 'sign_in', url: oidc.authorizationUrl };
    }
    const { authorizationUrl } = await this.vault(RequestSubjects.vaultOAuthConnect, { flowId, browserPrincipalId: browser?.id ?? null });
    return { kind: 'provider', url: authorizationUrl };
  }

  /** `GET /oauth/callback`: the vault checks state (single use, bound to the flow), exchanges the code and stores the tokens. */
  async completeConsent(callback: Omit<RequestOf<typeof RequestSubjects.vaultOAuthCallback>, 'browserPrincipalId'>, cookieHeader: string | undefined) {
    const browser = await this.login.signedInPrincipal(cookieHeader);
    return this.vault(RequestSubjects.vaultOAuthCallback, { ...callback, browserPrincipalId: browser?.id ?? null });
  }

  async listConnections(principal: Principal): Promise<ConnectionView[]> {
    return (await this.vault(RequestSubjects.vaultConnectionList, { principalId: principal.id })).connections;
  }

  /** `GET /me/connections/{slug}/authorize`: the status, and where to consent when it is needed. */
  async connectionStatus(principal: Principal, slug: string): Promise<{ status: ConnectionStatus; url: string | null }> {
    const server = await this.callableServer(principal, slug);
    const { status, flowId } = await this.vault(RequestSubjects.vaultConnectionStatus, { principal, server: vaultServerOf(server) });
    return { status, url: flowId === null ? null : this.urls.connect(flowId) };
  }

  /**
   * Deletes the caller's own connection (revoked at the provider by the vault).
   * Allowed even after losing access to the server, so a user can always take
   * their token back; a server the caller cannot see and had nothing on is 404.
   */
  async deleteConnection(principal: Principal, slug: string) {
    const server = await this.targets.resolve(slug);
    const result = await this.vault(RequestSubjects.vaultConnectionDelete, { principalId: principal.id, serverId: server.id });
    if (!result.deleted) await this.requireAccess(principal, server, 'viewer');
    this.credentials.forgetServer(server.id, principal.id);
    return result;
  }

  async putUserCredential(principal: Principal, slug: string, values: Record<string, string>): Promise<{ variables: string[] }> {
    const server = await this.callableServer(principal, slug);
    const result = await this.vault(RequestSubjects.vaultUserCredentialPut, { principal, server: vaultServerOf(server), values });
    this.credentials.forgetServer(server.id, principal.id);
    return result;
  }

  /** Like {@link deleteConnection}: one's own values can always be removed. */
  async deleteUserCredential(principal: Principal, slug: string): Promise<{ deleted: number }> {
    const server = await this.targets.resolve(slug);
    const result = await this.vault(RequestSubjects.vaultUserCredentialDelete, { principalId: principal.id, serverId: server.id });
    if (result.deleted === 0) await this.requireAccess(principal, server, 'viewer');
    this.credentials.forgetServer(server.id, principal.id);
    return result;
  }

  /** A server the principal may call; unknown and not allowed answer alike (404), so slugs do not leak. */
  private async callableServer(principal: Principal, slug: string): Promise<ServerTarget> {
    const server = await this.targets.resolve(slug);
    await this.requireAccess(principal, server, 'user');
    return server;
  }

  /** The same cached decision `/mcp` uses; too weak a role answers like an unknown server (404). */
  private async requireAccess(principal: Principal, server: ServerTarget, minimumRole: AccessRole): Promise<void> {
    const { role } = await this.decisions.decide(principal, server);
    if (roleRank(role) < roleRank(minimumRole)) throw new UnknownServerError(server.slug);
  }

  /**
   * A vault request: an outage is a 503 (DependencyUnavailableError); invalid
   * input an InvalidRequestError naming its fields; any other refusal a
   * VaultRefusedError (403 forbidden, 404 unknown, 409 conflict).
   */
  private async vault<S extends RequestSubject>(subject: S, payload: RequestOf<S>): Promise<ResponseOf<S>> {
    try {
      return await this.bus.request(subject, payload, { timeoutMs: BUS_REQUEST_TIMEOUT_MS });
    } catch (error) {
      if (isServiceFailure(error) || !(error instanceof BusError)) throw serviceUnavailable('token-vault', error);
      if (error.code === 'INVALID_REQUEST') throw new InvalidRequestError(error.message, error.issues ?? [], { cause: error });
      const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'CONFLICT' ? 409 : 403;
      throw new VaultRefusedError(status, error.message, { cause: error });
    }
  }
}
