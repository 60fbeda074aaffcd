import type { Principal } from '@portcullis/contracts';
import { AuditRoleGrants, isGranted, rolesOf } from './audit-permissions';

const principal = (overrides: Partial<Principal> = {}): Principal => ({ id: 'user:1', kind: 'user', sub: '1', teams: [], isAdmin: false, ...overrides });

describe(rolesOf.name, () => {
  it('gives admins and auditors every read permission of the compliance API', () => {
    for (const who of [principal({ isAdmin: true }), principal({ isAuditor: true })]) {
      expect(AuditRoleGrants.admin.every((permission) => isGranted(who, permission))).toBe(true);
    }
  });

  it('stops a plain user reading the audit trail (no role, no permission)', () => {
    expect(rolesOf(principal())).toEqual([]);
    expect(rolesOf(principal({ isAuditor: false }))).toEqual([]);
    expect(isGranted(principal(), 'audit:events:read')).toBe(false);
  });
});
