import { z } from 'zod';
import { PrincipalKinds } from './principal.schema';

export const AuditActions = [
  'tool.call',
  'mcp.request',
  'access.denied',
  'admin.change',
  'consent.started',
  'consent.completed',
  'token.refresh',
  'credential.revoked',
  'key.rotated',
  'login',
  'token.exchange',
] as const;
export type AuditAction = (typeof AuditActions)[number];
export const AuditOutcomes = ['success', 'failure', 'denied', 'error'] as const;

const AuditPartySchema = z.strictObject({ id: z.string(), kind: z.enum(PrincipalKinds), email: z.string().optional() });

/**
 * One audit event (DESIGN §11). Strict: a field that is not listed here is
 * refused, so no secret has a field to go into.
 */
export const AuditEventSchema = z.strictObject({
  id: z.uuid(),
  ts: z.iso.datetime(),
  traceId: z.string().nullable(),
  principal: AuditPartySchema.nullable(),
  actor: AuditPartySchema.nullable(),
  action: z.enum(AuditActions),
  method: z.string().max(200).nullable(),
  server: z.string().nullable(),
  tool: z.string().max(500).nullable(),
  credentialKind: z.string().nullable(),
  credentialId: z.string().nullable(),
  outcome: z.enum(AuditOutcomes),
  reason: z.string().max(1000).nullable(),
  latencyMs: z.number().nonnegative().nullable(),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/**
 * A copy of `event` with the schema's fields and nothing else, for a producer
 * that writes an event down before it is validated (the edge's journal): a
 * field the schema does not have never reaches the disk. It checks no value;
 * AuditEventSchema does that.
 */
export function auditEventFields(event: AuditEvent): AuditEvent {
  return {
    id: event.id,
    ts: event.ts,
    traceId: event.traceId,
    principal: auditPartyFields(event.principal),
    actor: auditPartyFields(event.actor),
    action: event.action,
    method: event.method,
    server: event.server,
    tool: event.tool,
    credentialKind: event.credentialKind,
    credentialId: event.credentialId,
    outcome: event.outcome,
    reason: event.reason,
    latencyMs: event.latencyMs,
  };
}

function auditPartyFields(party: AuditEvent['principal']): AuditEvent['principal'] {
  if (party === null) return null;
  return party.email === undefined ? { id: party.id, kind: party.kind } : { id: party.id, kind: party.kind, email: party.email };
}

/** Subject an event is published on: `audit.<action>`. */
export function auditSubjectOf(action: AuditAction): string {
  return `audit.${action}`;
}

/** Most events one batch message carries (with each event at most a few KB, far below NATS's 1 MB payload). */
export const AUDIT_BATCH_MAX_EVENTS = 100;

/**
 * Audit events a producer coalesced into one stream message, published on
 * {@link AuditBatchSubjects} with the batch id as message id. Each event is
 * still stored once by its own id, whichever message carried it.
 */
export const AuditEventBatchSchema = z.strictObject({
  id: z.uuid(),
  events: z.array(AuditEventSchema).min(1).max(AUDIT_BATCH_MAX_EVENTS),
});
export type AuditEventBatch = z.infer<typeof AuditEventBatchSchema>;

/** Subjects of batch messages on the audit stream, by producer (inside `audit.>`, apart from `audit.<action>`). */
export const AuditBatchSubjects = {
  edge: 'audit.batch.edge',
} as const;
