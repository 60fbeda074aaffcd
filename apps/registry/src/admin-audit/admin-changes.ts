/**
 * What each mutating admin route is called in the audit trail, as data. The
 * key is `METHOD route-pattern`; `revokes` marks routes that also revoke a
 * credential (`credential.revoked`). A test fails when a mutating route is missing.
 */
export const AdminChanges = {
  'POST /api/v1/servers': { change: 'server.create' },
  'PATCH /api/v1/servers/:slug': { change: 'server.update' },
  'DELETE /api/v1/servers/:slug': { change: 'server.delete' },
  'POST /api/v1/servers/:slug/collaborators': { change: 'server.collaborator.add' },
  'PUT /api/v1/servers/:slug/collaborators/:subject': { change: 'server.collaborator.set' },
  'DELETE /api/v1/servers/:slug/collaborators/:subject': { change: 'server.collaborator.remove' },
  'DELETE /api/v1/servers/:slug/connections/:principalId': { change: 'server.connection.delete' },
  'POST /api/v1/vault/keys/rotate': { change: 'vault.keys.rotate' },
  'PUT /api/v1/servers/:slug/credentials/:userId': { change: 'server.user-credential.set' },
  'DELETE /api/v1/servers/:slug/credentials/:userId': { change: 'server.user-credential.delete' },
  'PUT /api/v1/servers/:slug/tools/:tool': { change: 'server.tool.set' },
  'DELETE /api/v1/servers/:slug/tools/:tool': { change: 'server.tool.reset' },
  'POST /api/v1/servers/:slug/policies': { change: 'server.policy.create' },
  'PATCH /api/v1/servers/:slug/policies/:id': { change: 'server.policy.update' },
  'DELETE /api/v1/servers/:slug/policies/:id': { change: 'server.policy.delete' },
  'POST /api/v1/groups': { change: 'group.create' },
  'PATCH /api/v1/groups/:name': { change: 'group.update' },
  'DELETE /api/v1/groups/:name': { change: 'group.delete' },
  'POST /api/v1/groups/:name/collaborators': { change: 'group.collaborator.add' },
  'PUT /api/v1/groups/:name/collaborators/:subject': { change: 'group.collaborator.set' },
  'DELETE /api/v1/groups/:name/collaborators/:subject': { change: 'group.collaborator.remove' },
  'POST /api/v1/virtual-servers': { change: 'virtual-server.create' },
  'PATCH /api/v1/virtual-servers/:slug': { change: 'virtual-server.update' },
  'DELETE /api/v1/virtual-servers/:slug': { change: 'virtual-server.delete' },
  'POST /api/v1/virtual-servers/:slug/policies': { change: 'virtual-server.policy.create' },
  'PATCH /api/v1/virtual-servers/:slug/policies/:id': { change: 'virtual-server.policy.update' },
  'DELETE /api/v1/virtual-servers/:slug/policies/:id': { change: 'virtual-server.policy.delete' },
  'POST /api/v1/virtual-servers/:slug/collaborators': { change: 'virtual-server.collaborator.add' },
  'PUT /api/v1/virtual-servers/:slug/collaborators/:subject': { change: 'virtual-server.collaborator.set' },
  'DELETE /api/v1/virtual-servers/:slug/collaborators/:subject': { change: 'virtual-server.collaborator.remove' },
  'POST /api/v1/api-keys': { change: 'api-key.create' },
  'DELETE /api/v1/api-keys/:id': { change: 'api-key.revoke', revokes: 'api-key' },
  'POST /api/v1/identity-providers': { change: 'identity-provider.create' },
  'PATCH /api/v1/identity-providers/:name': { change: 'identity-provider.update' },
  'DELETE /api/v1/identity-providers/:name': { change: 'identity-provider.delete' },
  'PATCH /api/v1/users/:id': { change: 'user.update' },
  'POST /api/v1/users/:id/deactivate': { change: 'user.deactivate', revokes: 'user' },
  'POST /api/v1/users/:id/reactivate': { change: 'user.reactivate' },
  'POST /api/v1/teams': { change: 'team.create' },
  'DELETE /api/v1/teams/:name': { change: 'team.delete' },
  'POST /api/v1/teams/:name/members': { change: 'team.member.add' },
  'DELETE /api/v1/teams/:name/members/:userId': { change: 'team.member.remove' },
  'POST /api/v1/virtual-accounts': { change: 'virtual-account.create' },
  'PATCH /api/v1/virtual-accounts/:name': { change: 'virtual-account.update' },
  'DELETE /api/v1/virtual-accounts/:name': { change: 'virtual-account.delete' },
  'POST /api/v1/virtual-accounts/:name/tokens': { change: 'virtual-account.token.issue' },
  'POST /api/v1/virtual-accounts/:name/tokens/:id/rotate': { change: 'virtual-account.token.rotate' },
  'DELETE /api/v1/virtual-accounts/:name/tokens/:id': { change: 'virtual-account.token.revoke', revokes: 'virtual-account-token' },
} as const satisfies Record<string, { change: string; revokes?: 'api-key' | 'virtual-account-token' | 'user' }>;

export type AdminChangeRoute = keyof typeof AdminChanges;

/** Route parameters that name what changed; path order. Never a body field: bodies may hold header values and tokens. */
const NAMING_PARAMS = ['slug', 'name', 'id', 'subject', 'tool', 'userId', 'principalId'] as const;
/** Response fields that name what a create made (a new key's `token` is never read). */
const NAMING_FIELDS = ['slug', 'name'] as const;

/** `server.create github`, `server.collaborator.set alpha team:dev`: the change and what it names, no values. */
export function describeAdminChange(change: string, params: Record<string, string | undefined>, response: unknown): string {
  const names = NAMING_PARAMS.map((key) => params[key]).filter((value): value is string => typeof value === 'string' && value.length > 0);
  if (names.length === 0 && response !== null && typeof response === 'object') {
    const view = response as Record<string, unknown>;
    // Creates answer the view (`{ slug }`), or wrap it (`{ apiKey: { id, name } }`): only naming fields, one level down at most.
    const inner = Object.values(view).find((value) => value !== null && typeof value === 'object' && !Array.isArray(value)) as Record<string, unknown> | undefined;
    for (const source of [view, inner]) {
      const found = source && NAMING_FIELDS.map((key) => source[key]).find((value) => typeof value === 'string');
      if (typeof found === 'string') {
        names.push(found);
        break;
      }
    }
  }
  return [change, ...names.map((name) => name.slice(0, 200))].join(' ').slice(0, 1000);
}
