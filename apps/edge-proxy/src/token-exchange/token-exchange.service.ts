import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus, BusError } from '@portcullis/bus';
import { AuditEvent, JwksResponse, PrincipalRef, RequestSubjects, TokenExchangeRequest, TokenTypes } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { AuditSpool } from '../audit-spool/audit-spool.service';
import { Clock } from '../clock';
import { TokenErrorCode, TokenRequestError } from './token-request';

/** identity may have to fetch an identity provider's keys before it answers. */
export const EXCHANGE_TIMEOUT_MS = 5000;
/** How long the edge keeps identity's JWKS (a new key is published a day before it signs anything that matters). */
export const JWKS_CACHE_MS = 60_000;

export interface IssuedToken {
  access_token: string;
  issued_token_type: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

export class TokenServiceUnavailableError extends Error {}

/** The edge's side of RFC 8693: forwards the checked form to identity and audits the outcome (never a token). */
@Injectable()
export class EdgeTokenExchangeService {
  private jwksCache?: { value: JwksResponse; until: number };

  constructor(
    private readonly bus: Bus,
    private readonly spool: AuditSpool,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async exchange(request: TokenExchangeRequest): Promise<IssuedToken> {
    let answer;
    try {
      answer = await this.bus.request(RequestSubjects.identityExchange, request, { timeoutMs: EXCHANGE_TIMEOUT_MS });
    } catch (error) {
      this.audit('error', undefined, undefined, error instanceof BusError ? `identity: ${error.code}` : 'identity unreachable');
      throw new TokenServiceUnavailableError('identity did not answer', { cause: error });
    }
    if (!answer.ok) {
      this.audit('failure', answer.principal, answer.actor, `${answer.error}: ${answer.errorDescription}`);
      throw new TokenRequestError(answer.error, answer.errorDescription);
    }
    this.audit('success', answer.principal, answer.actor, null);
    return {
      access_token: answer.accessToken,
      issued_token_type: TokenTypes.jwt,
      token_type: 'Bearer',
      expires_in: answer.expiresIn,
      ...(answer.scope !== undefined ? { scope: answer.scope } : {}),
    };
  }

  /** A refusal the edge made itself (a malformed form): audited like identity's. */
  refused(error: TokenErrorCode, description: string): void {
    this.audit('failure', undefined, undefined, `${error}: ${description}`);
  }

  /** identity's public signing keys, cached briefly. */
  async jwks(): Promise<JwksResponse> {
    const now = this.clock.nowMs();
    if (this.jwksCache && this.jwksCache.until > now) return this.jwksCache.value;
    try {
      const value = await this.bus.request(RequestSubjects.identityJwks, {}, { timeoutMs: EXCHANGE_TIMEOUT_MS });
      this.jwksCache = { value, until: now + JWKS_CACHE_MS };
      return value;
    } catch (error) {
      throw new TokenServiceUnavailableError('identity did not answer', { cause: error });
    }
  }

  private audit(outcome: AuditEvent['outcome'], principal: PrincipalRef | undefined, actor: PrincipalRef | undefined, reason: string | null): void {
    const event: AuditEvent = {
      id: randomUUID(),
      ts: this.clock.now().toISOString(),
      traceId: null,
      principal: principal ? party(principal) : null,
      actor: actor ? party(actor) : null,
      action: 'token.exchange',
      method: null,
      server: null,
      tool: null,
      credentialKind: null,
      credentialId: null,
      outcome,
      reason: reason?.slice(0, 1000) ?? null,
      latencyMs: null,
    };
    this.spool.publish(event).catch((error: unknown) => {
      this.logger.error({ err: error, auditEventId: event.id, action: event.action }, 'audit event could not be published');
    });
  }
}

function party(who: PrincipalRef): NonNullable<AuditEvent['principal']> {
  return who.email === undefined ? { id: who.id, kind: who.kind } : { id: who.id, kind: who.kind, email: who.email };
}
