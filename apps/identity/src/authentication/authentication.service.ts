import { Inject, Injectable } from '@nestjs/common';
import { AuthenticateResponse, userPrincipalId } from '@portcullis/contracts';
import { hashToken } from '@portcullis/crypto';
import { LOGGER, MetricsRegistry, type Logger } from '@portcullis/telemetry';
import type { Counter } from 'prom-client';
import { ApiKeyRepository } from '../api-keys/api-key.repository';
import { Clock } from '../clock';
import { CredentialRejection, IdentityProviderUnavailableError, InvalidCredentialError } from '../errors';
import { virtualAccountPrincipalId } from '../virtual-accounts/dto/virtual-account.view';
import { VIRTUAL_ACCOUNT_TOKEN_SCHEME } from '../virtual-accounts/virtual-account.service';
import { VirtualAccountRepository } from '../virtual-accounts/virtual-account.repository';
import { UserDirectoryRepository } from '../users/user-directory.repository';
import { JwtAuthenticator, JwtRejection, looksLikeJwt } from '../jwt/jwt-authenticator.service';
import { GatewayJwtService } from '../token-exchange/gateway-jwt.service';
import { BrowserSessionService } from '../browser-sessions/browser-session.service';

/** `last_used_at` is written at most this often per key, so authentication stays a read. */
export const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class AuthenticationService {
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly apiKeys: ApiKeyRepository,
    private readonly jwts: JwtAuthenticator,
    private readonly gatewayJwts: GatewayJwtService,
    private readonly virtualAccounts: VirtualAccountRepository,
    private readonly users: UserDirectoryRepository,
    private readonly clock: Clock,
    metrics: MetricsRegistry,
    private readonly browserSessions: BrowserSessionService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.outcomes = metrics.counter('identity_authentications_total', 'Bearer tokens checked, by outcome', ['outcome']);
  }

  /**
   * The principal a bearer token stands for. Every refusal is the same
   * `InvalidCredentialError` to the caller; only logs and metrics tell why.
   */
  async authenticate(token: string): Promise<AuthenticateResponse> {
    if (looksLikeJwt(token)) return this.authenticateJwt(token);
    if (BrowserSessionService.isSessionToken(token)) return this.authenticateBrowserSession(token);
    return token.startsWith(`${VIRTUAL_ACCOUNT_TOKEN_SCHEME}_`) ? this.authenticateVirtualAccount(token) : this.authenticateApiKey(token);
  }

  /** A browser session's token (`pcs_…`, the login page's cookie). */
  private async authenticateBrowserSession(token: string): Promise<AuthenticateResponse> {
    try {
      const authenticated = await this.browserSessions.authenticate(token);
      this.outcomes.inc({ outcome: 'success' });
      return authenticated;
    } catch (error) {
      if (error instanceof InvalidCredentialError) this.outcomes.inc({ outcome: error.reason });
      throw error;
    }
  }

  /** A virtual account's token: `virtualaccount:<uuid>`, valid until revoked or its (grace-period) expiry. */
  private async authenticateVirtualAccount(token: string): Promise<AuthenticateResponse> {
    const now = this.clock.now();
    const found = await this.virtualAccounts.findByTokenHash(hashToken(token));
    let reason: CredentialRejection | undefined;
    if (!found) reason = 'unknown';
    else if (found.revoked_at) reason = 'revoked';
    else if (found.expires_at && found.expires_at.getTime() <= now.getTime()) reason = 'expired';
    if (reason !== undefined || !found) {
      this.outcomes.inc({ outcome: reason });
      this.log.debug({ virtualAccountTokenId: found?.id, reason }, 'bearer token refused');
      throw new InvalidCredentialError(reason ?? 'unknown');
    }
    this.outcomes.inc({ outcome: 'success' });
    if (!found.last_used_at || now.getTime() - found.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
      const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS + 1);
      await this.virtualAccounts
        .touchToken(found.id, now, staleBefore)
        .catch((error: unknown) => this.log.warn({ err: error, virtualAccountTokenId: found.id }, 'could not record token use'));
    }
    return {
      principal: { id: virtualAccountPrincipalId(found.virtual_account_id), kind: 'virtual_account', sub: found.account_name, teams: [], isAdmin: false, credentialId: found.id },
      expiresAt: found.expires_at?.toISOString() ?? null,
    };
  }

  /** An identity provider's access token: the reason for a refusal goes to the log (never the token), the caller learns only "invalid token". */
  private async authenticateJwt(token: string): Promise<AuthenticateResponse> {
    try {
      // A JWT the gateway issued itself (token exchange) is checked against identity's own keys only.
      const authenticated = this.gatewayJwts.isGatewayJwt(token) ? await this.gatewayJwts.authenticate(token) : await this.jwts.authenticate(token);
      this.outcomes.inc({ outcome: 'success' });
      return authenticated;
    } catch (error) {
      if (error instanceof JwtRejection) {
        this.outcomes.inc({ outcome: error.reason });
        this.log.info({ reason: error.reason, identityProvider: error.identityProvider, detail: error.detail }, 'bearer JWT refused');
      } else if (error instanceof InvalidCredentialError) {
        this.outcomes.inc({ outcome: error.reason });
        this.log.info({ reason: error.reason }, 'bearer JWT refused');
      } else if (error instanceof IdentityProviderUnavailableError) {
        this.outcomes.inc({ outcome: 'idp_unavailable' });
        this.log.warn({ err: error.cause, message: error.message }, 'could not verify a bearer JWT: identity provider unavailable');
      }
      throw error;
    }
  }

  private async authenticateApiKey(token: string): Promise<AuthenticateResponse> {
    const now = this.clock.now();
    const key = await this.apiKeys.findByTokenHash(hashToken(token));
    try {
      if (!key) throw new InvalidCredentialError('unknown');
      if (key.revokedAt) throw new InvalidCredentialError('revoked');
      if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) throw new InvalidCredentialError('expired');
      if (!key.user.active) throw new InvalidCredentialError('inactive_user');
    } catch (error) {
      const reason = (error as InvalidCredentialError).reason;
      this.outcomes.inc({ outcome: reason });
      // The key id of a known key is not secret; an unknown token leaves nothing to log.
      this.log.debug({ apiKeyId: key?.id, reason }, 'bearer token refused');
      throw error;
    }
    this.outcomes.inc({ outcome: 'success' });
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS + 1);
      // Bookkeeping must never turn a valid token away.
      await this.apiKeys.touch(key.id, now, staleBefore).catch((error: unknown) => this.log.warn({ err: error, apiKeyId: key.id }, 'could not record API key use'));
    }
    return {
      principal: {
        id: userPrincipalId(key.user.id),
        kind: 'user',
        sub: key.user.id,
        ...(key.user.email ? { email: key.user.email } : {}),
        teams: await this.users.teamsOf(key.user.id),
        isAdmin: key.isAdmin && key.user.isAdmin,
        // Only when granted: absent means false, so principals of everyone else stay as they were.
        ...(key.user.isAuditor && { isAuditor: true }),
        credentialId: key.id,
      },
      expiresAt: key.expiresAt?.toISOString() ?? null,
    };
  }
}
