import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditEvent, AuditEventSchema } from './audit.contract';

/** Field names a secret could hide in. `credentialId`/`credentialKind` name a credential; they hold no part of it. */
const SECRET_FIELD = /token|secret|passw|pwd|key|authoriz|cookie|bearer|jwt|session|header|signature|private|value|^credential$|credentials/i;

/** Every field name of a zod object schema, at every depth, as dotted paths. */
function fieldPaths(schema: z.ZodType, prefix = ''): string[] {
  const def = (schema as unknown as { def: { type: string; innerType?: z.ZodType; element?: z.ZodType; options?: z.ZodType[] } }).def;
  if (def.type === 'nullable' || def.type === 'optional' || def.type === 'default') return fieldPaths(def.innerType!, prefix);
  if (def.type === 'array') return fieldPaths(def.element!, prefix);
  if (def.type === 'union') return def.options!.flatMap((option) => fieldPaths(option, prefix));
  if (def.type !== 'object') return [];
  const shape = (schema as z.ZodObject).shape as Record<string, z.ZodType>;
  return Object.entries(shape).flatMap(([name, field]) => [`${prefix}${name}`, ...fieldPaths(field, `${prefix}${name}.`)]);
}

const event: AuditEvent = {
  id: randomUUID(),
  ts: '2026-01-01T00:00:00.000Z',
  traceId: null,
  principal: { id: 'u1', kind: 'user' },
  actor: null,
  action: 'tool.call',
  method: 'tools/call',
  server: 'github',
  tool: 'search',
  credentialKind: 'header',
  credentialId: 'cred-1',
  outcome: 'success',
  reason: null,
  latencyMs: 1,
};

describe('AuditEventSchema', () => {
  it('has no field a secret could go into, at any depth', () => {
    const paths = fieldPaths(AuditEventSchema);
    expect(paths).toEqual(expect.arrayContaining(['principal.id', 'actor.email', 'credentialId']));
    expect(paths.filter((path) => path.split('.').some((name) => SECRET_FIELD.test(name)))).toEqual([]);
  });

  it.each(['token', 'authorization', 'headers', 'apiKey', 'password', 'secret'])('stops a secret smuggled in an extra %s field', (field) => {
    expect(AuditEventSchema.safeParse({ ...event, [field]: 'pcl_live_secret' }).success).toBe(false);
    expect(AuditEventSchema.safeParse({ ...event, principal: { id: 'u1', kind: 'user', [field]: 'pcl_live_secret' } }).success).toBe(false);
  });
});
