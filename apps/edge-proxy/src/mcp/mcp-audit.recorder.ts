import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuditEvent, Principal, PrincipalRef, ResolvedCredential } from '@portcullis/contracts';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { AuditSpool } from '../audit-spool/audit-spool.service';
import { Clock } from '../clock';
import type { JsonRpcCall } from './json-rpc';

export type AuditOutcome = 'success' | 'error';

/** One proxied exchange, as far as it got. */
export interface ForwardedExchange {
  calls: readonly JsonRpcCall[];
  principal: Principal;
  server: string;
  credential: Pick<ResolvedCredential, 'credentialKind' | 'credentialId'>;
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
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  record(exchange: ForwardedExchange): void {
    const ts = this.clock.now().toISOString();
    for (const call of exchange.calls) {
      const event: AuditEvent = {
        id: randomUUID(),
        ts,
        traceId: exchange.traceId,
        principal: party(exchange.principal),
        actor: exchange.principal.actor ? party(exchange.principal.actor) : null,
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
      this.spool.publish(event).catch((error: unknown) => {
        this.logger.error({ err: error, auditEventId: event.id, action: event.action, server: event.server }, 'audit event could not be published');
      });
    }
  }
}

function party(who: PrincipalRef): NonNullable<AuditEvent['principal']> {
  return who.email === undefined ? { id: who.id, kind: who.kind } : { id: who.id, kind: who.kind, email: who.email };
}
