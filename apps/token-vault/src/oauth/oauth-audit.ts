import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import type { AuditEvent, Principal } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';

/** Who an OAuth event is about: a principal id, and its kind where the vault knows it. */
export interface AuditedPrincipal {
  id: string;
  kind: Principal['kind'] | null;
}

export interface OAuthAuditEntry {
  action: 'consent.completed' | 'token.refresh' | 'token.exchange' | 'credential.revoked';
  outcome: AuditEvent['outcome'];
  principal: AuditedPrincipal | null;
  /** The server's slug (or id where the slug is unknown). */
  server: string | null;
  credentialId: string | null;
  /** A fixed phrase or an OAuth error code: never a token, code or secret. */
  reason: string | null;
}

/**
 * The vault's audit events for upstream OAuth (DESIGN §11): consent,
 * refresh, exchange, revocation. Published after the fact without delaying
 * the caller; a failed publish is logged and the action stands.
 */
@Injectable()
export class OAuthAudit {
  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  record(entry: OAuthAuditEntry): void {
    const event: AuditEvent = {
      id: randomUUID(),
      ts: this.clock.now().toISOString(),
      traceId: null,
      // A principal of unknown kind (rows from before kinds were kept) is recorded as a user, the only kind that consents.
      principal: entry.principal && { id: entry.principal.id, kind: entry.principal.kind ?? 'user' },
      actor: null,
      action: entry.action,
      method: null,
      server: entry.server,
      tool: null,
      credentialKind: 'oauth2',
      credentialId: entry.credentialId,
      outcome: entry.outcome,
      reason: entry.reason?.slice(0, 1000) ?? null,
      latencyMs: null,
    };
    this.bus.publishAudit(event).catch((error: unknown) => this.log.warn({ err: error, auditEventId: event.id, action: event.action }, 'could not publish an OAuth audit event'));
  }
}
