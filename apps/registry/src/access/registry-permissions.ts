import { AccessRole, Principal } from '@portcullis/contracts';
import type { AccessResource } from '../authorization/authorization.service';

/**
 * Who may do what on the admin API, as data. A role grants exactly the
 * permissions listed; anything unlisted is denied. `member` is every
 * authenticated principal: it may only list, and lists show only what the
 * principal holds a role on.
 */
export const RegistryRoleGrants = {
  admin: [
    'servers:read',
    'servers:list',
    'servers:write',
    'api-keys:read',
    'api-keys:write',
    'api-keys:own',
    'groups:write',
    'groups:list',
    'virtual-servers:read',
    'virtual-servers:write',
    'identity-providers:read',
    'identity-providers:write',
    'users:read',
    'users:write',
    'teams:read',
    'teams:write',
    'virtual-accounts:read',
    'virtual-accounts:write',
    'vault-keys:rotate',
  ],
  // `api-keys:own`: the routes under /api/v1/api-keys, scoped to the caller's own keys unless they also hold `api-keys:read`/`api-keys:write`.
  member: ['groups:list', 'servers:list', 'api-keys:own'],
} as const;

export type RegistryRole = keyof typeof RegistryRoleGrants;
export type GlobalPermission = (typeof RegistryRoleGrants)[RegistryRole][number];

/**
 * Permissions on one server or group, named by a route parameter: granted to
 * admins, and to whoever holds at least `minimumRole` on that resource
 * (directly, or on a server through its group). Group managers manage the
 * servers of their group this way.
 */
export const ResourcePermissions = {
  'server:read': { resource: 'server', param: 'slug', minimumRole: 'viewer' },
  'server:manage': { resource: 'server', param: 'slug', minimumRole: 'manager' },
  'group:read': { resource: 'group', param: 'name', minimumRole: 'viewer' },
  'group:manage': { resource: 'group', param: 'name', minimumRole: 'manager' },
  'virtual-server:read': { resource: 'virtual-server', param: 'slug', minimumRole: 'viewer' },
  'virtual-server:manage': { resource: 'virtual-server', param: 'slug', minimumRole: 'manager' },
} as const satisfies Record<string, { resource: AccessResource; param: string; minimumRole: AccessRole }>;

export type ResourcePermission = keyof typeof ResourcePermissions;
/** Routes anyone may read without a token: the OpenAPI document and its page. */
export const PUBLIC = 'public';
export type RegistryPermission = GlobalPermission | ResourcePermission | typeof PUBLIC;

export function rolesOf(principal: Principal): RegistryRole[] {
  // An on-behalf-of token never carries the user's global admin rights.
  return principal.isAdmin && !principal.actor ? ['admin', 'member'] : ['member'];
}

export function isGranted(principal: Principal, permission: GlobalPermission): boolean {
  return rolesOf(principal).some((role) => (RegistryRoleGrants[role] as readonly string[]).includes(permission));
}

export function isResourcePermission(permission: RegistryPermission): permission is ResourcePermission {
  return permission in ResourcePermissions;
}
