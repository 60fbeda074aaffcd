import { AuditEvent } from '@portcullis/contracts';
import { auditEvent } from '@portcullis/testing';
import { auditEventJson, checkAuditEvent, checkAuditRecord } from './bus';

/**
 * The journal's line is what goes to the stream once the event is checked
 * (checkAuditRecord keeps it): it must say exactly what the checked event says.
 */
describe('auditEventJson', () => {
  const shapes: Record<string, AuditEvent> = {
    'a tool call by a user with an email, on behalf of a virtual account': auditEvent({
      principal: { id: 'user-1', kind: 'user', email: 'alice@example.com' },
      actor: { id: 'va-1', kind: 'virtual_account' },
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    }),
    'a denial with nulls where nothing was used': auditEvent({ action: 'access.denied', credentialKind: null, credentialId: null, outcome: 'denied', reason: 'tool not allowed', latencyMs: null }),
    'a consent request of an external principal': auditEvent({ action: 'consent.started', principal: { id: 'ext-1', kind: 'external' }, credentialKind: 'oauth2', credentialId: null, outcome: 'denied', reason: 'user consent required', latencyMs: null }),
    'an event without a principal': auditEvent({ principal: null, method: null, tool: null, server: null }),
  };

  it.each(Object.entries(shapes))('has the same fields and values as the checked event: %s', (_shape, event) => {
    const text = auditEventJson(event);
    expect(JSON.parse(text)).toStrictEqual(JSON.parse(JSON.stringify(checkAuditEvent(event))));
    expect(checkAuditRecord(event, text).json).toBe(text);
  });

  it('never writes a field the schema does not list, even for an event the check would refuse', () => {
    const withSecret = { ...auditEvent(), accessToken: 'ya29.secret', principal: { id: 'user-1', kind: 'user', password: 'hunter2' } } as AuditEvent;
    const text = auditEventJson(withSecret);
    expect(text).not.toContain('ya29.secret');
    expect(text).not.toContain('hunter2');
    expect(() => checkAuditRecord(withSecret, text)).toThrow(/audit event/);
  });
});
