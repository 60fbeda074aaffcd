import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects, type Principal, type ResponseOf, type RequestSubjects, type VaultServer } from '@portcullis/contracts';
import { EnvelopeCipher, hashToken, Keyring } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../../clock';
import { ConsentFlowNotFoundError, ConsentFlowRefusedError, CredentialUnreadableError, OAuthNotConfiguredError, OAuthProviderRefusedError, VaultError } from '../../errors';
import { OAuthTokenRepository } from '../connections/oauth-token.repository';
import { TokenSealer } from '../connections/token-sealer';
import { TokenEndpointClient } from '../http/token-endpoint.client';
import { OAuthAudit, type OAuthAuditEntry } from '../oauth-audit';
import { OAuthBindings } from '../oauth-binding';
import { CONSENT_FLOW_TTL_MS, OAUTH_OPTIONS, type OAuthOptions } from '../oauth.options';
import { OAuthSettingsService } from '../settings/oauth-settings.service';
import { authorizationUrlOf, codeExchangeParamsOf, randomOAuthSecret } from './authorization-request';
import { ConsentFlowEntity } from './consent-flow.entity';
import { oauthErrorCodeOf } from '../http/oauth-error-code';
import { ConsentFlowRepository } from './consent-flow.repository';

/** A pending flow is handed out again only while it has at least this long to live. */
const REUSE_MIN_REMAINING_MS = 60_000;

type CallbackRequest = { state: string; code?: string; error?: string; iss?: string; browserPrincipalId: string | null };
type CallbackResponse = ResponseOf<typeof RequestSubjects.vaultOAuthCallback>;

/**
 * The authorization code consent flow (DESIGN §6): PKCE S256, RFC 8707
 * resource, a single-use 256-bit state bound to the flow, 10-minute expiry,
 * bound to the principal that started it.
 */
@Injectable()
export class ConsentFlowService {
  constructor(
    private readonly flows: ConsentFlowRepository,
    private readonly settingsService: OAuthSettingsService,
    private readonly tokens: OAuthTokenRepository,
    private readonly sealer: TokenSealer,
    private readonly endpoint: TokenEndpointClient,
    private readonly cipher: EnvelopeCipher,
    private readonly keyring: Keyring,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly audit: OAuthAudit,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthOptions,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Returns the principal's pending flow for the server, or starts one. */
  async start(principal: Pick<Principal, 'id' | 'kind'>, server: Pick<VaultServer, 'id' | 'slug'>): Promise<{ flowId: string; expiresAt: Date }> {
    const settings = await this.settingsService.require(server.id, server.slug);
    if (settings.grantType !== 'authorization_code') throw new OAuthNotConfiguredError(server.slug, 'the server does not use user consent');
    // Refuses (OAuthNotConfiguredError) a flow that could never come back here.
    this.redirectUri(server.slug);
    const now = this.clock.now();
    const flow = await this.flows.inPairTransaction(server.id, principal.id, async (manager) => {
      const pending = await this.flows.findPendingIn(manager, server.id, principal.id, new Date(now.getTime() + REUSE_MIN_REMAINING_MS));
      if (pending) return pending;
      const id = randomUUID();
      const binding = { id, serverId: server.id, principalId: principal.id };
      const created = Object.assign(new ConsentFlowEntity(), {
        ...binding,
        principalKind: principal.kind,
        serverSlug: server.slug,
        stateHash: null,
        sealedCodeVerifier: this.cipher.encrypt(randomOAuthSecret(), OAuthBindings.codeVerifier(binding)),
        keyId: this.keyring.activeKid,
        createdAt: now,
        expiresAt: new Date(now.getTime() + CONSENT_FLOW_TTL_MS),
        consumedAt: null,
      } satisfies ConsentFlowEntity);
      await this.flows.insertIn(manager, created);
      this.log.info({ flowId: id, serverId: server.id, principalId: principal.id }, 'consent flow started');
      return created;
    });
    return { flowId: flow.id, expiresAt: flow.expiresAt };
  }

  /**
   * The provider URL to send the browser to. Each call draws a new state (only
   * its hash is kept), so an earlier link stops working.
   */
  async connect(flowId: string, browserPrincipalId: string | null): Promise<string> {
    const now = this.clock.now();
    const flow = await this.flows.find(flowId);
    if (!flow) throw new ConsentFlowNotFoundError();
    if (flow.consumedAt !== null) throw this.refuse('flow already used', flow);
    if (flow.expiresAt.getTime() <= now.getTime()) throw this.refuse('flow expired', flow);
    if (browserPrincipalId !== null && browserPrincipalId !== flow.principalId) throw this.refuse('flow belongs to another user', flow);
    const settings = await this.settingsService.require(flow.serverId, flow.serverSlug);
    if (!settings.authorizationUrl) throw new OAuthNotConfiguredError(flow.serverSlug, 'authorization URL');
    if (!settings.clientId) throw new OAuthNotConfiguredError(flow.serverSlug, 'client id');
    const state = randomOAuthSecret();
    if (!(await this.flows.bindState(flow.id, hashToken(state), now))) throw this.refuse('flow already used', flow);
    return authorizationUrlOf({
      authorizationUrl: settings.authorizationUrl,
      clientId: settings.clientId,
      redirectUri: this.redirectUri(flow.serverSlug),
      scopes: settings.scopes,
      state,
      codeVerifier: this.verifierOf(flow),
      resource: settings.resource,
    });
  }

  /** The provider's answer: consumes the state, exchanges the code, stores the principal's tokens. */
  async callback(request: CallbackRequest): Promise<CallbackResponse> {
    const now = this.clock.now();
    // Consumed before anything else: a state is good for one attempt, successful or not.
    const flow = await this.flows.consume(hashToken(request.state), now);
    if (!flow) {
      this.audit.record({ action: 'consent.completed', outcome: 'denied', principal: null, server: null, credentialId: null, reason: 'unknown or already used state' });
      throw this.refuse('unknown or already used state');
    }
    try {
      const response = await this.complete(flow, request, now);
      this.audit.record({ ...this.auditOf(flow), outcome: 'success', credentialId: response.credentialId, reason: null });
      return { serverId: flow.serverId, serverSlug: flow.serverSlug, principalId: flow.principalId };
    } catch (error) {
      const denied = error instanceof ConsentFlowRefusedError || error instanceof OAuthProviderRefusedError;
      this.audit.record({ ...this.auditOf(flow), outcome: denied ? 'denied' : 'error', credentialId: null, reason: error instanceof VaultError ? error.message : 'unexpected error' });
      throw error;
    }
  }

  private auditOf(flow: ConsentFlowEntity): Pick<OAuthAuditEntry, 'action' | 'principal' | 'server'> {
    return { action: 'consent.completed', principal: { id: flow.principalId, kind: flow.principalKind }, server: flow.serverSlug };
  }

  /** The checks and the code exchange after the state was consumed; returns the stored connection's id. */
  private async complete(flow: ConsentFlowEntity, request: CallbackRequest, now: Date): Promise<{ credentialId: string }> {
    if (flow.expiresAt.getTime() <= now.getTime()) throw this.refuse('flow expired', flow);
    if (request.browserPrincipalId !== null && request.browserPrincipalId !== flow.principalId) throw this.refuse('flow belongs to another user', flow);
    const settings = await this.settingsService.require(flow.serverId, flow.serverSlug);
    // RFC 9207: a response naming another issuer is a mix-up attack.
    if (request.iss !== undefined && settings.issuer !== null && request.iss !== settings.issuer) throw this.refuse('issuer does not match', flow);
    if (request.error !== undefined) {
      // The callback's query is anyone's to write: only a well-formed error code is repeated.
      const error = oauthErrorCodeOf(request.error) ?? 'invalid_error';
      this.log.info({ flowId: flow.id, error }, 'provider refused consent');
      throw new OAuthProviderRefusedError(error);
    }
    if (!request.code) throw this.refuse('no authorization code', flow);
    if (settings.grantType !== 'authorization_code') throw this.refuse('server no longer uses user consent', flow);

    const issued = await this.endpoint.requestToken(
      this.settingsService.clientOf(settings),
      codeExchangeParamsOf({ redirectUri: this.redirectUri(flow.serverSlug), codeVerifier: this.verifierOf(flow), resource: settings.resource }, request.code),
    );
    const credentialId = await this.tokens.lockPair(flow.serverId, flow.principalId, 'authorization_code', now, async (manager, row) => {
      row.grantType = 'authorization_code';
      row.principalKind = flow.principalKind;
      this.sealer.store(row, issued, settings.scopes, now, { keepRefreshToken: false });
      await this.tokens.saveIn(manager, row);
      return row.id;
    });
    this.log.info({ flowId: flow.id, credentialId, serverId: flow.serverId, principalId: flow.principalId }, 'consent completed; tokens stored');
    await this.bus.emit(EventSubjects.vaultChanged, { serverId: flow.serverId, principalId: flow.principalId });
    return { credentialId };
  }

  private redirectUri(serverSlug: string): string {
    if (!this.options.publicUrl) throw new OAuthNotConfiguredError(serverSlug, 'PUBLIC_URL is not set on token-vault');
    return `${this.options.publicUrl}/oauth/callback`;
  }

  private verifierOf(flow: ConsentFlowEntity): string {
    try {
      return this.cipher.decrypt(flow.sealedCodeVerifier, OAuthBindings.codeVerifier(flow));
    } catch (error) {
      this.log.error({ flowId: flow.id, keyId: flow.keyId, code: (error as { code?: unknown }).code }, 'consent flow verifier does not decrypt');
      throw new CredentialUnreadableError(flow.serverSlug, flow.id, { cause: error });
    }
  }

  private refuse(reason: string, flow?: ConsentFlowEntity): ConsentFlowRefusedError {
    this.log.info({ flowId: flow?.id, serverId: flow?.serverId, reason }, 'consent flow refused');
    return new ConsentFlowRefusedError(reason);
  }
}
