import { userPrincipalId } from '@portcullis/contracts';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import type { AuditEvent } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';

type Party = NonNullable<AuditEvent['principal']>;

/** What identity says about one happening; the rest of the event (id, time, unused fields) is filled in. */
export type IdentityAuditEntry = Pick<AuditEvent, 'action' | 'outcome'> &
  Partial<Pick<AuditEvent, 'principal' | 'actor' | 'method' | 'credentialKind' | 'credentialId' | 'reason'>>;

/** The audit party of a gateway user. */
export function userParty(userId: string, email?: string | null): Party {
  return email ? { id: userPrincipalId(userId), kind: 'user', email } : { id: userPrincipalId(userId), kind: 'user' };
}

/**
 * identity's audit events (logins, signing key rotation, revocations it
 * makes itself) on the bus's JetStream audit stream, like every service's.
 * Published after the fact without delaying the caller; a failed publish is
 * logged (without the event's reason) and the action stands. No entry field
 * may carry a key, code or token: callers pass ids and refusal reasons only.
 */
@Injectable()
export class IdentityAudit {
  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  record(entry: IdentityAuditEntry): void {
    const event: AuditEvent = {
      id: randomUUID(),
      ts: this.clock.now().toISOString(),
      traceId: null,
      principal: entry.principal ?? null,
      actor: entry.actor ?? null,
      action: entry.action,
      method: entry.method ?? null,
      server: null,
      tool: null,
      credentialKind: entry.credentialKind ?? null,
      credentialId: entry.credentialId ?? null,
      outcome: entry.outcome,
      reason: entry.reason?.slice(0, 1000) ?? null,
      latencyMs: null,
    };
    this.bus.publishAudit(event).catch((error: unknown) => this.log.warn({ err: error, auditEventId: event.id, action: event.action }, 'could not publish an identity audit event'));
  }
}
