import type { Principal } from '@portcullis/contracts';

/**
 * Who may do what on the admin API, as data. A role grants exactly the
 * permissions listed; anything unlisted is denied. Group roles (viewer, user,
 * manager) arrive with groups; until then only admins use this API.
 */
export const RegistryRoleGrants = {
  admin: ['servers:read', 'servers:write', 'api-keys:read', 'api-keys:write'],
} as const;

export type RegistryRole = keyof typeof RegistryRoleGrants;
export type RegistryPermission = (typeof RegistryRoleGrants)[RegistryRole][number];

export function rolesOf(principal: Principal): RegistryRole[] {
  return principal.isAdmin ? ['admin'] : [];
}

export function isGranted(principal: Principal, permission: RegistryPermission): boolean {
  return rolesOf(principal).some((role) => (RegistryRoleGrants[role] as readonly RegistryPermission[]).includes(permission));
}
