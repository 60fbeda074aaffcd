import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, TOKEN_EXCHANGE_GRANT_TYPE, TokenTypes, type Principal, type RequestOf, type RequestSubjects, type ResolvedCredential, type VaultServer } from '@portcullis/contracts';
import { Clock } from '../../clock';
import { SubjectTokenRequiredError } from '../../errors';
import { ConsentFlowService } from '../consent/consent-flow.service';
import { OAUTH_OPTIONS, type OAuthOptions } from '../oauth.options';
import type { OAuthSettingsEntity } from '../settings/oauth-settings.entity';
import { OAuthSettingsService } from '../settings/oauth-settings.service';
import type { OAuthTokenEntity } from './oauth-token.entity';
import { OAuthTokenRepository } from './oauth-token.repository';
import { TokenRefresher, type RenewalGrant, type RenewalOutcome } from './token-refresher';
import { TokenSealer } from './token-sealer';
import { isDue, isExpired } from './token-freshness';


type ResolveCredentialRequest = RequestOf<typeof RequestSubjects.vaultCredentialResolve>;
type RejectedCredential = NonNullable<ResolveCredentialRequest['rejected']>;
export interface ResolveOptions {
  subjectToken?: string;
  rejected?: RejectedCredential;
}

/** Whether `rejected` names this row's current token (its id and the expiry it was served with). */
function isRejected(row: OAuthTokenEntity, rejected: RejectedCredential | undefined): boolean {
  if (!rejected || rejected.credentialId !== row.id) return false;
  return rejected.expiresAt === null || row.expiresAt === null || Date.parse(rejected.expiresAt) === row.expiresAt.getTime();
}

/** The edge injects the caller's own token itself; the vault holds nothing (DESIGN §5). */
const PASSTHROUGH: ResolvedCredential = { status: 'ready', credentialKind: 'passthrough', credentialId: null, headers: {}, expiresAt: null };

/**
 * Resolves `oauth2` and `passthrough` servers for the edge: a user's own
 * token (or the consent they must give first), the server's
 * client_credentials token, or a token-exchange token per user; renewed
 * under the row lock when near expiry.
 */
@Injectable()
export class OAuthCredentialService {
  constructor(
    private readonly settingsService: OAuthSettingsService,
    private readonly tokens: OAuthTokenRepository,
    private readonly refresher: TokenRefresher,
    private readonly sealer: TokenSealer,
    private readonly consent: ConsentFlowService,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthOptions,
  ) {}

  /**
   * For `vault.admin.server-credentials.delete` (the server is gone): its
   * OAuth settings, flows and connections. Returns the connections dropped.
   */
  forgetServer(serverId: string): Promise<number> {
    return this.settingsService.deleteServer(serverId);
  }

  passthrough(): ResolvedCredential {
    return PASSTHROUGH;
  }

  /**
   * `rejected`: the answer whose token the upstream refused (401); that token
   * is renewed once (or the user asked to consent again) instead of served.
   */
  async resolve(principal: Principal, server: VaultServer, { subjectToken, rejected }: ResolveOptions = {}): Promise<ResolvedCredential> {
    const settings = await this.settingsService.require(server.id, server.slug);
    switch (settings.grantType) {
      case 'authorization_code':
        return this.resolveUserConnection(principal, server, settings, rejected);
      case 'client_credentials':
        return this.resolveFetched(server, null, settings, rejected, () => this.refresher.clientCredentialsGrantOf(settings));
      case 'token_exchange': {
        if (subjectToken === undefined) throw new SubjectTokenRequiredError(server.slug);
        return this.resolveFetched(server, principal, settings, rejected, () => ({
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
          subject_token: subjectToken,
          subject_token_type: TokenTypes.accessToken,
          requested_token_type: TokenTypes.accessToken,
          resource: settings.resource,
          ...(settings.scopes.length > 0 && { scope: settings.scopes.join(' ') }),
        }));
      }
    }
  }

  private async resolveUserConnection(principal: Principal, server: VaultServer, settings: OAuthSettingsEntity, rejected: RejectedCredential | undefined): Promise<ResolvedCredential> {
    const now = this.clock.now();
    const seen = await this.tokens.find(server.id, principal.id);
    if (!seen || seen.status === 'needs_consent' || seen.sealedAccessToken === null) {
      return this.consentRequired(principal, server, seen?.status === 'needs_consent' ? 'the provider refused the refresh token' : 'no connection yet');
    }
    const refused = isRejected(seen, rejected);
    if (!refused && !isDue(seen, now, this.options.refreshSkewMs)) return this.ready(seen, server);
    if (!refused && seen.sealedRefreshToken === null) {
      return isExpired(seen, now) ? this.consentRequired(principal, server, 'the token expired and cannot be refreshed') : this.ready(seen, server);
    }
    const outcome = await this.tokens.lockById(seen.id, async (manager, locked): Promise<RenewalOutcome | null> => {
      if (!locked || locked.status !== 'active' || locked.sealedAccessToken === null) return null;
      // Someone (a concurrent call, another replica, the scheduler) renewed it while we waited for the lock.
      if (locked.sealedAccessToken !== seen.sealedAccessToken) return { kind: 'kept', row: locked };
      if (!isRejected(locked, rejected) && !isDue(locked, now, this.options.refreshSkewMs)) return { kind: 'kept', row: locked };
      if (locked.sealedRefreshToken === null) {
        // Refused upstream and nothing to renew it with: the user must consent again.
        this.sealer.markNeedsConsent(locked, now);
        await this.tokens.saveIn(manager, locked);
        return { kind: 'needs_consent', row: locked };
      }
      return this.refresher.renewLocked(manager, locked, settings, this.refresher.refreshGrantOf(locked, settings), now);
    });
    if (outcome?.kind === 'needs_consent') await this.bus.emit(EventSubjects.vaultChanged, { serverId: server.id, principalId: principal.id });
    if (outcome === null || outcome.kind === 'needs_consent') return this.consentRequired(principal, server, 'the provider refused the refresh token');
    return this.afterRenewal(outcome, server);
  }

  /** client_credentials (principal null) and token exchange: fetched on first use, renewed when due or refused upstream, one fetch at a time. */
  private async resolveFetched(
    server: VaultServer,
    principal: Principal | null,
    settings: OAuthSettingsEntity,
    rejected: RejectedCredential | undefined,
    grant: () => RenewalGrant,
  ): Promise<ResolvedCredential> {
    const now = this.clock.now();
    const usable = (row: OAuthTokenEntity) => row.status === 'active' && row.sealedAccessToken !== null && !isRejected(row, rejected) && !isDue(row, now, this.options.refreshSkewMs);
    const principalId = principal?.id ?? null;
    const seen = await this.tokens.find(server.id, principalId);
    if (seen && usable(seen)) return this.ready(seen, server);
    const outcome = await this.tokens.lockPair(server.id, principalId, settings.grantType, now, async (manager, locked): Promise<RenewalOutcome> => {
      if (usable(locked)) return { kind: 'kept', row: locked };
      locked.grantType = settings.grantType;
      locked.principalKind = principal?.kind ?? null;
      return this.refresher.renewLocked(manager, locked, settings, grant(), now);
    });
    return this.afterRenewal(outcome, server);
  }

  private async afterRenewal(outcome: RenewalOutcome, server: VaultServer): Promise<ResolvedCredential> {
    switch (outcome.kind) {
      case 'renewed':
        await this.bus.emit(EventSubjects.vaultChanged, { serverId: server.id, principalId: outcome.row.principalId });
        return this.ready(outcome.row, server);
      case 'kept':
        return this.ready(outcome.row, server);
      case 'failed':
        throw outcome.error;
      case 'needs_consent':
        // Only a refresh token can be refused this way, and user connections handle that themselves.
        throw new TypeError('a fetched token cannot need consent');
    }
  }

  private ready(row: OAuthTokenEntity, server: VaultServer): ResolvedCredential {
    return {
      status: 'ready',
      credentialKind: 'oauth2',
      credentialId: row.id,
      headers: { Authorization: `Bearer ${this.sealer.accessToken(row, server.slug)}` },
      expiresAt: row.expiresAt?.toISOString() ?? null,
    };
  }

  private async consentRequired(principal: Principal, server: VaultServer, reason: string): Promise<ResolvedCredential> {
    const { flowId } = await this.consent.start(principal, server);
    return { status: 'consent_required', credentialKind: 'oauth2', flowId, reason };
  }
}
