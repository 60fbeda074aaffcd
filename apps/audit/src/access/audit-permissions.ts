import type { Principal } from '@portcullis/contracts';

/**
 * Who may do what on the compliance API, as data. A role grants exactly the
 * permissions listed; anything unlisted is denied. (An `auditor` role that
 * grants read access without admin rights comes with identity's roles.)
 */
export const AuditRoleGrants = {
  admin: ['audit:events:read', 'audit:events:export', 'audit:events:stream', 'audit:chain:verify'],
} as const;

export type AuditRole = keyof typeof AuditRoleGrants;
export type AuditPermission = (typeof AuditRoleGrants)[AuditRole][number];

export function rolesOf(principal: Principal): AuditRole[] {
  return principal.isAdmin ? ['admin'] : [];
}

export function isGranted(principal: Principal, permission: AuditPermission): boolean {
  return rolesOf(principal).some((role) => (AuditRoleGrants[role] as readonly AuditPermission[]).includes(permission));
}
