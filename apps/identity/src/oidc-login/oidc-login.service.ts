import { Inject, Injectable } from '@nestjs/common';
import type { OidcLoginCompleteResponse, OidcLoginStartResponse } from '@portcullis/contracts';
import { EnvelopeCipher, hashToken } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { IdentityAudit, userParty } from '../audit/identity-audit';
import { BrowserSessionService } from '../browser-sessions/browser-session.service';
import { Clock } from '../clock';
import { IdentityProviderUnavailableError, InvalidCredentialError } from '../errors';
import type { IdentityProviderEntity } from '../identity-providers/identity-provider.entity';
import { IdentityProviderRepository } from '../identity-providers/identity-provider.repository';
import { claimValue } from '../jwt/claim-rules';
import { ExternalIdentityProvisioner } from '../jwt/external-identity.provisioner';
import { JwksCache } from '../jwt/jwks-cache';
import { rejectionOf } from '../jwt/jwt-authenticator.service';
import { TOKEN_EXCHANGE_OPTIONS, type TokenExchangeOptions } from '../token-exchange/token-exchange.options';
import { LoginFlowRepository } from './login-flow.repository';

/** How long a started login may take at the IdP. */
export const LOGIN_FLOW_TTL_MS = 10 * 60_000;
const HTTP_TIMEOUT_MS = 5_000;
const MAX_GROUPS = 200;

/** The HTTP client identity reaches the IdP's discovery and token endpoints with (tests may wrap it). */
export const OIDC_HTTP_CLIENT = Symbol('OIDC_HTTP_CLIENT');
export type OidcHttpClient = (url: string, init: RequestInit) => Promise<Response>;

/** `method` of the audit events of OIDC browser logins. */
export const OIDC_LOGIN = 'browser-login.oidc';

/** A refused login: callers learn only that it failed; `detail` goes to the log and the audit trail. */
export class LoginRefusedError extends InvalidCredentialError {
  constructor(readonly detail: string) {
    super('login_refused');
  }
}

/** What a login attempt has established so far, for its audit event. */
interface LoginAttempt {
  providerId?: string;
  user?: { id: string; email: string | null };
}

interface Endpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

/** Only a same-origin path survives as a place to return to; anything else becomes `/`. */
export function safeReturnTo(value: string | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\u0000-\u001f\u007f]/.test(value)) return '/';
  return value;
}

/** OIDC authorization code + PKCE (S256) as a public client, ending in a browser session. */
@Injectable()
export class OidcLoginService {
  constructor(
    private readonly providers: IdentityProviderRepository,
    private readonly flows: LoginFlowRepository,
    private readonly keys: JwksCache,
    private readonly provisioner: ExternalIdentityProvisioner,
    private readonly sessions: BrowserSessionService,
    private readonly clock: Clock,
    private readonly audit: IdentityAudit,
    @Inject(TOKEN_EXCHANGE_OPTIONS) private readonly options: TokenExchangeOptions,
    @Inject(OIDC_HTTP_CLIENT) private readonly http: OidcHttpClient,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  private get redirectUri(): string {
    return `${this.options.publicUrl}/login/callback`;
  }

  async start(returnTo: string | undefined): Promise<OidcLoginStartResponse> {
    const provider = await this.browserLoginProvider();
    if (!provider) return { available: false };
    const { authorizationEndpoint } = await this.endpointsOf(provider);
    const now = this.clock.now();
    const id = randomUUID();
    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    await this.flows.create({
      id,
      providerId: provider.id,
      stateHash: hashToken(state),
      nonce,
      codeVerifier: this.seal(verifier, id),
      returnTo: safeReturnTo(returnTo),
      createdAt: now,
      expiresAt: new Date(now.getTime() + LOGIN_FLOW_TTL_MS),
    });
    const url = new URL(authorizationEndpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: provider.settings.browserLogin!.clientId,
      redirect_uri: this.redirectUri,
      scope: 'openid email profile',
      state,
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    this.log.info({ loginFlowId: id, identityProvider: provider.name }, 'browser login started');
    return { available: true, authorizationUrl: url.toString() };
  }

  /**
   * Ends a login: one `login` audit event whatever happens, naming the user
   * once known and why it failed — never the state, code or any token.
   */
  async complete(request: { state: string; code: string; iss?: string }): Promise<OidcLoginCompleteResponse> {
    const attempt: LoginAttempt = {};
    const event = () =>
      ({
        action: 'login',
        method: OIDC_LOGIN,
        principal: attempt.user ? userParty(attempt.user.id, attempt.user.email) : null,
        credentialKind: 'identity-provider',
        credentialId: attempt.providerId ?? null,
      }) as const;
    try {
      const completed = await this.completeFlow(request, attempt);
      this.audit.record({ ...event(), outcome: 'success' });
      return completed;
    } catch (error) {
      if (error instanceof LoginRefusedError) this.audit.record({ ...event(), outcome: 'failure', reason: error.detail });
      else if (error instanceof InvalidCredentialError) this.audit.record({ ...event(), outcome: 'failure', reason: `identity ${error.reason}` });
      else if (error instanceof IdentityProviderUnavailableError) this.audit.record({ ...event(), outcome: 'error', reason: 'identity provider unavailable' });
      else this.audit.record({ ...event(), outcome: 'error', reason: 'login could not be completed' });
      throw error;
    }
  }

  private async completeFlow(request: { state: string; code: string; iss?: string }, attempt: LoginAttempt): Promise<OidcLoginCompleteResponse> {
    const now = this.clock.now();
    // Consumed before anything else: a state is good for one attempt, successful or not.
    const flow = await this.flows.consume(hashToken(request.state), now);
    if (!flow) throw this.refuse('unknown or already used state');
    if (flow.expires_at.getTime() <= now.getTime()) throw this.refuse('login flow expired', flow.id);
    const provider = await this.browserLoginProvider();
    attempt.providerId = flow.provider_id;
    if (!provider || provider.id !== flow.provider_id) throw this.refuse('browser-login provider changed', flow.id);
    const { settings } = provider;
    // RFC 9207: the authorization response names its issuer (mix-up defence).
    if (request.iss !== undefined && request.iss !== settings.issuer) throw this.refuse('iss parameter names another issuer', flow.id);

    const { tokenEndpoint } = await this.endpointsOf(provider);
    const idToken = await this.exchange(tokenEndpoint, provider, request.code, this.open(flow.code_verifier, flow.id), flow.id);
    let payload;
    try {
      ({ payload } = await jwtVerify(idToken, await this.keys.keysOf(provider), {
        issuer: settings.issuer,
        audience: settings.browserLogin!.clientId,
        algorithms: settings.allowedAlgorithms,
        clockTolerance: settings.clockSkewSeconds,
        currentDate: now,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      const rejection = rejectionOf(error, provider.name);
      throw rejection instanceof InvalidCredentialError ? this.refuse(`ID token refused (${rejection.reason})`, flow.id) : rejection;
    }
    if (payload['nonce'] !== flow.nonce) throw this.refuse('ID token nonce does not match the flow', flow.id);

    const subject = claimValue(payload, settings.subjectClaim);
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1000) throw this.refuse('ID token has no subject', flow.id);
    const emailClaim = settings.emailClaim === null ? undefined : claimValue(payload, settings.emailClaim);
    const email = typeof emailClaim === 'string' && emailClaim.includes('@') && emailClaim.length <= 320 ? emailClaim.toLowerCase() : null;
    const groups = settings.groupsClaim === null ? null : groupsOf(claimValue(payload, settings.groupsClaim));
    const name = typeof payload['name'] === 'string' ? payload['name'].slice(0, 200) : null;
    const user = await this.provisioner.provision({ providerId: provider.id, subject, email, displayName: name, groups }, now);
    attempt.user = { id: user.id, email: user.email };
    if (!user.active) throw this.refuse('user is deactivated', flow.id);
    const session = await this.sessions.startFor(user.id);
    this.log.info({ loginFlowId: flow.id, identityProvider: provider.name, userId: user.id }, 'browser login completed');
    return { ...session, returnTo: flow.return_to };
  }

  private refuse(detail: string, loginFlowId?: string): LoginRefusedError {
    this.log.info({ loginFlowId, reason: detail }, 'browser login refused');
    return new LoginRefusedError(detail);
  }

  private async browserLoginProvider(): Promise<IdentityProviderEntity | undefined> {
    return (await this.providers.list()).find((p) => p.settings.enabled && p.settings.browserLogin);
  }

  private async endpointsOf(provider: IdentityProviderEntity): Promise<Endpoints> {
    const { issuer, discoveryUrl } = provider.settings;
    const url = discoveryUrl ?? `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const response = await this.http(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`discovery answered ${response.status}`);
      const document = (await response.json()) as Record<string, unknown>;
      if (document['issuer'] !== issuer) throw new Error('discovery document names another issuer');
      const authorizationEndpoint = document['authorization_endpoint'];
      const tokenEndpoint = document['token_endpoint'];
      if (typeof authorizationEndpoint !== 'string' || !/^https?:\/\//.test(authorizationEndpoint)) throw new Error('no usable authorization_endpoint');
      if (typeof tokenEndpoint !== 'string' || !/^https?:\/\//.test(tokenEndpoint)) throw new Error('no usable token_endpoint');
      return { authorizationEndpoint, tokenEndpoint };
    } catch (error) {
      throw new IdentityProviderUnavailableError(provider.name, { cause: error });
    }
  }

  private async exchange(tokenEndpoint: string, provider: IdentityProviderEntity, code: string, verifier: string, loginFlowId: string): Promise<string> {
    let response: Response;
    try {
      response = await this.http(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: this.redirectUri,
          client_id: provider.settings.browserLogin!.clientId,
          code_verifier: verifier,
        }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (error) {
      throw new IdentityProviderUnavailableError(provider.name, { cause: error });
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) throw this.refuse(`token endpoint answered ${response.status} ${typeof body['error'] === 'string' ? body['error'].slice(0, 100) : ''}`, loginFlowId);
    if (typeof body['id_token'] !== 'string') throw this.refuse('token response has no id_token', loginFlowId);
    return body['id_token'];
  }

  private seal(verifier: string, flowId: string): string {
    return this.options.keyring ? `sealed:${new EnvelopeCipher(this.options.keyring).encrypt(verifier, `login-flow:${flowId}`)}` : `plain:${verifier}`;
  }

  private open(stored: string, flowId: string): string {
    if (stored.startsWith('plain:')) return stored.slice('plain:'.length);
    if (!this.options.keyring) throw this.refuse('flow was sealed but no keyring is configured', flowId);
    return new EnvelopeCipher(this.options.keyring).decrypt(stored.slice('sealed:'.length), `login-flow:${flowId}`);
  }
}

function groupsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const names = list.filter((g): g is string => typeof g === 'string').map((g) => g.trim()).filter((g) => g.length > 0 && g.length <= 200);
  return [...new Set(names)].slice(0, MAX_GROUPS);
}
