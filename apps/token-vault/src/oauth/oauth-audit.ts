import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import type { AuditEvent, Principal } from '@portcullis/contracts';
import { trace } from '@opentelemetry/api';
import { LOGGER, type Logger, MetricsRegistry } from '@portcullis/telemetry';
import type { Counter } from 'prom-client';
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
 * the caller; a failed publish is logged and the action stands. Each is
 * counted too (`portcullis_vault_oauth_events_total`): refreshes and their
 * failures are what operators alert on.
 */
@Injectable()
export class OAuthAudit {
  private readonly events: Counter<'action' | 'outcome'>;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    metrics: MetricsRegistry,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.events = metrics.counter('portcullis_vault_oauth_events_total', 'Upstream OAuth consents, refreshes, exchanges and revocations by outcome', ['action', 'outcome']);
  }

  record(entry: OAuthAuditEntry): void {
    this.events.inc({ action: entry.action, outcome: entry.outcome });
    const span = trace.getActiveSpan()?.spanContext();
    const event: AuditEvent = {
      id: randomUUID(),
      ts: this.clock.now().toISOString(),
      // The trace of the call that caused it (an on-demand refresh, a callback); none for the scheduler's own work.
      traceId: span && trace.isSpanContextValid(span) ? span.traceId : null,
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
