import type { Principal } from '@portcullis/contracts';

/**
 * Who may do what on the compliance API, as data. A role grants exactly the
 * permissions listed; anything unlisted is denied. Every route here only
 * reads, so an auditor (identity's `isAuditor`) holds what an admin holds.
 */
export const AuditRoleGrants = {
  admin: ['audit:events:read', 'audit:events:export', 'audit:events:stream', 'audit:chain:verify'],
  auditor: ['audit:events:read', 'audit:events:export', 'audit:events:stream', 'audit:chain:verify'],
} as const;

export type AuditRole = keyof typeof AuditRoleGrants;
export type AuditPermission = (typeof AuditRoleGrants)[AuditRole][number];

export function rolesOf(principal: Principal): AuditRole[] {
  const roles: AuditRole[] = [];
  if (principal.isAdmin) roles.push('admin');
  if (principal.isAuditor === true) roles.push('auditor');
  return roles;
}

export function isGranted(principal: Principal, permission: AuditPermission): boolean {
  return rolesOf(principal).some((role) => (AuditRoleGrants[role] as readonly AuditPermission[]).includes(permission));
}
