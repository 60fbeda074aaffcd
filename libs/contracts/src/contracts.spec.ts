import { randomUUID } from 'node:crypto';
import { AuditEventSchema } from './audit.contract';
import { EventContracts, RequestContracts } from './contract-registry';
import { EventSubjects, RequestSubjects } from './subjects';
import { HeaderMapSchema } from './vault.contract';

const event = {
  id: randomUUID(),
  ts: new Date().toISOString(),
  traceId: null,
  principal: { id: 'user:1', kind: 'user', email: 'a@example.com' },
  actor: null,
  action: 'tool.call',
  method: 'tools/call',
  server: 'github',
  tool: 'create_issue',
  credentialKind: 'header',
  credentialId: 'c1',
  outcome: 'success',
  reason: null,
  latencyMs: 3.2,
};

describe('contracts', () => {
  it('gives every request subject a request and a response schema', () => {
    expect(Object.keys(RequestContracts).sort()).toEqual(Object.values(RequestSubjects).sort());
  });

  it('gives every event subject a schema', () => {
    expect(Object.keys(EventContracts).sort()).toEqual(Object.values(EventSubjects).sort());
  });

  describe('AuditEventSchema', () => {
    it('accepts a complete event', () => {
      expect(AuditEventSchema.parse(event)).toEqual(event);
    });

    it('has no field a secret could go into: unknown fields are refused, top level and nested', () => {
      expect(AuditEventSchema.safeParse({ ...event, token: 'secret' }).success).toBe(false);
      expect(AuditEventSchema.safeParse({ ...event, principal: { ...event.principal, apiKey: 'secret' } }).success).toBe(false);
    });
  });

  describe('HeaderMapSchema', () => {
    it('refuses headers the gateway owns', () => {
      for (const name of ['Host', 'content-length', 'Mcp-Session-Id', 'transfer-encoding']) {
        expect(HeaderMapSchema.safeParse({ [name]: 'x' }).success).toBe(false);
      }
    });

    it('refuses header splitting through a value', () => {
      expect(HeaderMapSchema.safeParse({ 'X-Api-Key': 'a\r\nX-Evil: 1' }).success).toBe(false);
    });

    it('accepts an ordinary credential header', () => {
      expect(HeaderMapSchema.parse({ 'X-Api-Key': 'Bearer abc' })).toEqual({ 'X-Api-Key': 'Bearer abc' });
    });
  });
});
