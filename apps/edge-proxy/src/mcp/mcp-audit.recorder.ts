import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuditEvent, Principal, PrincipalRef, ReadyCredential } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { AuditSpool } from '../audit-spool/audit-spool.service';
import { Clock } from '../clock';
import { annotateExchangeSpan } from './exchange-span';
import { McpMetrics } from './mcp.metrics';
import type { JsonRpcCall } from './json-rpc';

export type AuditOutcome = 'success' | 'error';

/** One proxied exchange, as far as it got. */
export interface ForwardedExchange {
  calls: readonly JsonRpcCall[];
  principal: Principal;
  server: string;
  credential: Pick<ReadyCredential, 'credentialKind' | 'credentialId'>;
  outcome: AuditOutcome;
  /** Why it failed, as a stable code or short phrase; never a header, an argument or an upstream message. */
  reason: string | null;
  latencyMs: number;
  traceId: string | null;
}

/**
 * Publishes one audit event per JSON-RPC request forwarded. Off the hot path:
 * the answer never waits for the audit stream; an event the bus cannot take is spooled to disk and replayed.
 */
@Injectable()
export class McpAuditRecorder {
  constructor(
    private readonly spool: AuditSpool,
    private readonly metrics: McpMetrics,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  record(exchange: ForwardedExchange): void {
    annotateExchangeSpan(() => ({
      principalId: exchange.principal.id,
      actorId: exchange.principal.actor?.id,
      server: exchange.server,
      tools: exchange.calls.map((call) => call.tool),
      credentialKind: exchange.credential.credentialKind,
      outcome: exchange.outcome,
    }));
    const ts = this.clock.now().toISOString();
    const { principal, actor } = parties(exchange.principal);
    for (const call of exchange.calls) {
      // One literal with every field (no spread): built on every call, it keeps one object shape.
      const event: AuditEvent = {
        id: randomUUID(),
        ts,
        traceId: exchange.traceId,
        principal,
        actor,
        action: call.method === 'tools/call' ? 'tool.call' : 'mcp.request',
        method: call.method,
        server: exchange.server,
        tool: call.tool,
        credentialKind: exchange.credential.credentialKind,
        credentialId: exchange.credential.credentialId,
        outcome: exchange.outcome,
        reason: exchange.reason,
        latencyMs: exchange.latencyMs,
      };
      this.publish(event);
    }
  }

  recordDenials(denied: DeniedRequests): void {
    annotateExchangeSpan(() => ({
      principalId: denied.principal.id,
      actorId: denied.principal.actor?.id,
      server: denied.server,
      tools: denied.calls.map((call) => call.tool),
      credentialKind: null,
      outcome: 'denied',
    }));
    for (const event of denialEvents(denied, this.clock.now().toISOString())) this.publish(event);
  }

  /**
   * One `consent.started` event per upstream the caller was sent to consent
   * to: outcome `denied` (the request was not forwarded). Never the connect
   * URL or its flow id.
   */
  recordConsents(pending: PendingConsents): void {
    const ts = this.clock.now().toISOString();
    const call = pending.calls[0] ?? null;
    for (const server of pending.servers) {
      this.metrics.consentRequired(server);
      this.publish({
        ...eventOrigin(pending.principal, pending.traceId, ts),
        action: 'consent.started',
        method: call?.method ?? null,
        server,
        tool: call?.tool ?? null,
        credentialKind: 'oauth2',
        credentialId: null,
        outcome: 'denied',
        reason: pending.via === null ? 'user consent required' : `user consent required (through virtual server ${pending.via})`.slice(0, 1000),
        latencyMs: null,
      });
    }
  }

  private publish(event: AuditEvent): void {
    this.spool.record(event, (error) => {
      this.logger.error({ err: error, auditEventId: event.id, action: event.action, server: event.server }, 'audit event could not be published');
    });
  }
}

/** A request answered with "consent needed" for these upstreams. */
export interface PendingConsents {
  calls: readonly JsonRpcCall[];
  principal: Principal;
  /** Slugs of the upstreams needing consent. */
  servers: readonly string[];
  /** The virtual server the request went to, or null for a plain server. */
  via: string | null;
  traceId: string | null;
}

/** Requests the edge refused on access grounds: each becomes one `access.denied` audit event. */
export interface DeniedRequests {
  calls: readonly JsonRpcCall[];
  principal: Principal;
  server: string;
  /** Why, from the access decision; never an argument or a header. */
  reason: string;
  traceId: string | null;
}

/** Audits access denials on the same path as forwarded requests (off the hot path, spooled when the bus is down). */
export function denialEvents(denied: DeniedRequests, ts: string): AuditEvent[] {
  // A GET or DELETE carries no JSON-RPC request: it is still one denial.
  const calls: readonly (JsonRpcCall | null)[] = denied.calls.length > 0 ? denied.calls : [null];
  return calls.map((call) => ({
    ...eventOrigin(denied.principal, denied.traceId, ts),
    action: 'access.denied',
    method: call?.method ?? null,
    server: denied.server,
    tool: call?.tool ?? null,
    credentialKind: null,
    credentialId: null,
    outcome: 'denied',
    reason: denied.reason.slice(0, 1000),
    latencyMs: null,
  }));
}

/** What every edge audit event says of where it comes from: a fresh id, the time, the trace, the caller and its actor. */
function eventOrigin(principal: Principal, traceId: string | null, ts: string): Pick<AuditEvent, 'id' | 'ts' | 'traceId' | 'principal' | 'actor'> {
  return { id: randomUUID(), ts, traceId, ...parties(principal) };
}

function parties(principal: Principal): Pick<AuditEvent, 'principal' | 'actor'> {
  return { principal: party(principal), actor: principal.actor ? party(principal.actor) : null };
}

function party(who: PrincipalRef): NonNullable<AuditEvent['principal']> {
  return who.email === undefined ? { id: who.id, kind: who.kind } : { id: who.id, kind: who.kind, email: who.email };
}
