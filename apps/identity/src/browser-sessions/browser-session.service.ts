import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { AuthenticateResponse, BrowserSessionResponse, EventSubjects, userPrincipalId } from '@portcullis/contracts';
import { generateToken, hashToken } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { ApiKeyRepository } from '../api-keys/api-key.repository';
import { IdentityAudit, userParty } from '../audit/identity-audit';
import { Clock } from '../clock';
import { CredentialRejection, InvalidCredentialError } from '../errors';
import { UserDirectoryRepository } from '../users/user-directory.repository';
import { BrowserSessionRepository } from './browser-session.repository';

/** Scheme of browser session tokens: `pcs_<8>_<256-bit secret>`. */
export const BROWSER_SESSION_TOKEN_SCHEME = 'pcs';
/** `method` of the audit events of the all-in-one API-key login form. */
export const API_KEY_LOGIN = 'browser-login.api-key';
/** How long a browser session lasts; signing in again starts a new one. */
export const BROWSER_SESSION_TTL_MS = 8 * 60 * 60_000;

/** Browser sessions: created by a sign-in, accepted by `identity.authenticate`, ended by logout or deactivation. */
@Injectable()
export class BrowserSessionService {
  constructor(
    private readonly sessions: BrowserSessionRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly users: UserDirectoryRepository,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly audit: IdentityAudit,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  static isSessionToken(token: string): boolean {
    return token.startsWith(`${BROWSER_SESSION_TOKEN_SCHEME}_`);
  }

  /** The all-in-one login form: a live API key of an active user starts a session for that user. */
  async loginWithApiKey(apiKey: string): Promise<BrowserSessionResponse> {
    const now = this.clock.now();
    const key = await this.apiKeys.findByTokenHash(hashToken(apiKey));
    let reason: CredentialRejection | undefined;
    if (!key) reason = 'unknown';
    else if (key.revokedAt) reason = 'revoked';
    else if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) reason = 'expired';
    else if (!key.user?.active) reason = 'inactive_user';
    // Audited by key id and owner when the key is known; the key itself never leaves this method.
    const login = { action: 'login', method: API_KEY_LOGIN, credentialKind: 'api-key', credentialId: key?.id ?? null, principal: key ? userParty(key.userId, key.user?.email) : null } as const;
    if (reason !== undefined || !key) {
      this.log.info({ apiKeyId: key?.id, reason }, 'browser login refused');
      this.audit.record({ ...login, outcome: 'failure', reason: `api key ${reason ?? 'unknown'}` });
      throw new InvalidCredentialError(reason ?? 'unknown');
    }
    const session = await this.start(key.userId, now);
    this.audit.record({ ...login, outcome: 'success' });
    return session;
  }

  /** A session for a user who has just proven who they are (OIDC login). */
  startFor(userId: string): Promise<BrowserSessionResponse> {
    return this.start(userId, this.clock.now());
  }

  private async start(userId: string, now: Date): Promise<BrowserSessionResponse> {
    const { token, hash } = generateToken(BROWSER_SESSION_TOKEN_SCHEME);
    const expiresAt = new Date(now.getTime() + BROWSER_SESSION_TTL_MS);
    const id = await this.sessions.create(userId, hash, now, expiresAt);
    this.log.info({ browserSessionId: id, userId }, 'browser session started');
    return { sessionToken: token, expiresAt: expiresAt.toISOString() };
  }

  /** The principal of a session token. Sessions never carry admin rights: the admin API takes API keys. */
  async authenticate(token: string): Promise<AuthenticateResponse> {
    const now = this.clock.now();
    const found = await this.sessions.findByTokenHash(hashToken(token));
    let reason: CredentialRejection | undefined;
    if (!found) reason = 'unknown';
    else if (found.revoked_at) reason = 'revoked';
    else if (found.expires_at.getTime() <= now.getTime()) reason = 'expired';
    else if (!found.active) reason = 'inactive_user';
    if (reason !== undefined || !found) {
      this.log.debug({ browserSessionId: found?.id, reason }, 'browser session refused');
      throw new InvalidCredentialError(reason ?? 'unknown');
    }
    return {
      principal: {
        id: userPrincipalId(found.user_id),
        kind: 'user',
        sub: found.user_id,
        ...(found.email ? { email: found.email } : {}),
        teams: await this.users.teamsOf(found.user_id),
        isAdmin: false,
        credentialId: found.id,
      },
      expiresAt: found.expires_at.toISOString(),
    };
  }

  /** Ends a session and tells every edge to drop it from its cache. */
  async logout(token: string): Promise<{ revoked: boolean }> {
    const revoked = await this.sessions.revokeByTokenHash(hashToken(token), this.clock.now());
    if (revoked === null) return { revoked: false };
    await this.bus.emit(EventSubjects.identityRevoked, { credentialIds: [revoked.id], principalIds: [] });
    this.log.info({ browserSessionId: revoked.id }, 'browser session ended');
    // The user ends their own session: no admin route is involved, so no other service audits it.
    this.audit.record({
      action: 'credential.revoked',
      outcome: 'success',
      principal: userParty(revoked.userId),
      method: 'browser-logout',
      credentialKind: 'browser-session',
      credentialId: revoked.id,
      reason: 'signed out',
    });
    return { revoked: true };
  }
}
