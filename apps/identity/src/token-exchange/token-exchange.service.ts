import { Inject, Injectable } from '@nestjs/common';
import { PrincipalRef, TokenExchangeRequest, TokenExchangeResponse, TokenTypes } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { AuthenticationService } from '../authentication/authentication.service';
import { InvalidCredentialError } from '../errors';
import { looksLikeJwt } from '../jwt/jwt-authenticator.service';
import { delegatedScopes } from '../jwt/token-scopes';
import { VirtualAccountRepository } from '../virtual-accounts/virtual-account.repository';
import { GatewayJwtService } from './gateway-jwt.service';
import { SigningKeyService } from './signing-key.service';

type Refusal = Extract<TokenExchangeResponse, { ok: false }>;

function refuse(error: Refusal['error'], errorDescription: string, principal?: PrincipalRef, actor?: PrincipalRef): Refusal {
  return { ok: false, error, errorDescription, ...(principal ? { principal } : {}), ...(actor ? { actor } : {}) };
}

function refOf(p: PrincipalRef): PrincipalRef {
  return { id: p.id, kind: p.kind, sub: p.sub, ...(p.email ? { email: p.email } : {}) };
}

/**
 * RFC 8693 token exchange: a virtual account (the actor, by its own token)
 * trades a user's token (an identity provider's JWT or the user's API key)
 * for a short-lived gateway JWT naming the user as `sub` and itself as `act`.
 */
@Injectable()
export class TokenExchangeService {
  constructor(
    private readonly authentication: AuthenticationService,
    private readonly gatewayJwts: GatewayJwtService,
    private readonly keys: SigningKeyService,
    private readonly virtualAccounts: VirtualAccountRepository,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async exchange(request: TokenExchangeRequest): Promise<TokenExchangeResponse> {
    const refusal = (error: Refusal['error'], reason: string, description: string, principal?: PrincipalRef, actor?: PrincipalRef) => {
      this.log.info({ reason, principalId: principal?.id, actorId: actor?.id }, 'token exchange refused');
      return refuse(error, description, principal, actor);
    };
    if (!this.keys.enabled) return refusal('unauthorized_client', 'not_configured', 'token exchange is not enabled on this gateway');

    // The actor: a virtual account, by one of its own tokens.
    let actor: PrincipalRef;
    try {
      if (this.gatewayJwts.isGatewayJwt(request.actorToken)) throw new InvalidCredentialError('unknown');
      actor = refOf((await this.authentication.authenticate(request.actorToken)).principal);
    } catch (error) {
      if (error instanceof InvalidCredentialError) return refusal('invalid_client', `actor_${error.reason}`, 'the actor token is not valid');
      throw error;
    }
    if (actor.kind !== 'virtual_account') return refusal('unauthorized_client', 'actor_not_virtual_account', 'only a virtual account may exchange tokens', undefined, actor);
    const accountId = actor.id.slice('virtualaccount:'.length);
    if (!(await this.virtualAccounts.findById(accountId))?.can_exchange) return refusal('unauthorized_client', 'actor_cannot_exchange', 'this virtual account may not exchange tokens', undefined, actor);

    // The subject: a user, by an identity provider's JWT or the user's API key.
    if (request.subjectTokenType === TokenTypes.jwt && !looksLikeJwt(request.subjectToken)) {
      return refusal('invalid_request', 'subject_not_jwt', 'subject_token is not a JWT', undefined, actor);
    }
    if (this.gatewayJwts.isGatewayJwt(request.subjectToken)) {
      return refusal('invalid_grant', 'subject_is_gateway_jwt', 'the subject token is not valid', undefined, actor);
    }
    let subject: Awaited<ReturnType<AuthenticationService['authenticate']>>;
    try {
      subject = await this.authentication.authenticate(request.subjectToken);
    } catch (error) {
      if (error instanceof InvalidCredentialError) return refusal('invalid_grant', `subject_${error.reason}`, 'the subject token is not valid', undefined, actor);
      throw error;
    }
    const principal = refOf(subject.principal);
    if (subject.principal.kind !== 'user' || subject.principal.actor) {
      return refusal('invalid_grant', 'subject_not_user', 'the subject token must stand for a user', principal, actor);
    }
    // The subject token's scopes go into the issued token, narrowed to those asked for: delegation never widens them.
    const scopes = delegatedScopes(subject.principal.scopes, request.scope);
    const scope = scopes?.join(' ');
    const issued = await this.gatewayJwts.issue({
      userId: subject.principal.id.slice('user:'.length),
      subject: { ...principal, ...(subject.principal.idp ? { idp: subject.principal.idp } : {}) },
      actor: { id: accountId, name: actor.sub },
      subjectExpiresAt: subject.expiresAt === null ? null : Math.floor(Date.parse(subject.expiresAt) / 1000),
      scope,
      resource: request.resource,
    });
    if (!issued) return refusal('invalid_grant', 'subject_expiring', 'the subject token is not valid', principal, actor);
    this.log.info({ principalId: principal.id, actorId: actor.id }, 'token exchanged');
    return { ok: true, accessToken: issued.token, expiresIn: issued.expiresIn, ...(scope !== undefined ? { scope } : {}), principal, actor };
  }
}
