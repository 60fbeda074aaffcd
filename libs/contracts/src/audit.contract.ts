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

/** Subject an event is published on: `audit.<action>`. */
export function auditSubjectOf(action: AuditAction): string {
  return `audit.${action}`;
}
