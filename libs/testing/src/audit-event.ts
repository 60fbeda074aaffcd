import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@portcullis/contracts';

/** A valid `tool.call` audit event with a fresh id and the current time; override what a test is about. */
export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomUUID(),
    ts: new Date().toISOString(),
    traceId: null,
    principal: { id: 'user-1', kind: 'user' },
    actor: null,
    action: 'tool.call',
    method: 'tools/call',
    server: 'github',
    tool: 'create_issue',
    credentialKind: 'header',
    credentialId: 'cred-1',
    outcome: 'success',
    reason: null,
    latencyMs: 1,
    ...overrides,
  };
}
