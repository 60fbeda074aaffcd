import {
  ApiErrorBodySchema,
  ApiKeyViewSchema,
  ConnectionViewSchema,
  CreateApiKeyResponseSchema,
  IdentityProviderViewSchema,
  IssuedVirtualAccountTokenResponseSchema,
  ListApiKeysResponseSchema,
  ListIdentityProvidersResponseSchema,
  ListTeamsResponseSchema,
  ListUsersResponseSchema,
  ListVirtualAccountsResponseSchema,
  ListVirtualAccountTokensResponseSchema,
  RotatedVirtualAccountTokenResponseSchema,
  RotateVaultKeysResponseSchema,
  SetUserActiveResponseSchema,
  TeamViewSchema,
  UserViewSchema,
  VirtualAccountTokenResponseSchema,
  VirtualAccountViewSchema,
} from '@portcullis/contracts';
import { z } from 'zod';
import type { RegistryPermission } from '../access/registry-permissions';
import { CreateApiKeyBodySchema } from '../api-keys/dto/api-key.dto';
import { CollaboratorListSchema, CollaboratorViewSchema, CreateCollaboratorBodySchema, SetCollaboratorRoleBodySchema } from '../collaborators/dto/collaborator.dto';
import { CreateGroupBodySchema, GroupPageSchema, GroupViewSchema, UpdateGroupBodySchema } from '../groups/dto/group.dto';
import { ListQuerySchema } from '../http/list-query';
import {
  AddTeamMemberBodySchema,
  CreateTeamBodySchema,
  CreateVirtualAccountBodySchema,
  IssueVirtualAccountTokenBodySchema,
  ListUsersQuerySchema,
  RotateVirtualAccountTokenBodySchema,
  UpdateUserBodySchema,
  UpdateVirtualAccountBodySchema,
} from '../identity-admin/dto/identity-admin.dto';
import { CreateIdentityProviderBodySchema, UpdateIdentityProviderBodySchema } from '../identity-providers/dto/identity-provider.dto';
import { PutUserCredentialBodySchema, UserCredentialViewSchema } from '../servers/dto/user-credential.dto';
import { CreateServerBodySchema, ListServersQuerySchema, ServerPageSchema, ServerViewSchema, UpdateServerBodySchema } from '../servers/dto/server.dto';
import {
  CreateToolPolicyBodySchema,
  PutToolSettingBodySchema,
  ToolPolicyListSchema,
  ToolPolicyViewSchema,
  ToolSettingListSchema,
  ToolSettingViewSchema,
  UpdateToolPolicyBodySchema,
} from '../tools/dto/tool.dto';
import { CreateVirtualServerBodySchema, UpdateVirtualServerBodySchema, VirtualServerPageSchema, VirtualServerViewSchema } from '../virtual-servers/dto/virtual-server.dto';

const ConnectionListSchema = z.object({ items: z.array(ConnectionViewSchema) });

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One route of the admin API as the OpenAPI document describes it. A test holds this list and Nest's routes equal. */
export interface ApiRoute {
  method: HttpMethod;
  /** OpenAPI path, `{param}` style. */
  path: string;
  tag: string;
  summary: string;
  permission: RegistryPermission | 'public';
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status and body (none for 204). */
  status: number;
  response?: z.ZodType;
  /** Whether the route answers with an ETag and honours If-Match. */
  etag?: 'returns' | 'checks';
  /** Extra failure statuses beyond 400/401/403/404. */
  errors?: number[];
}

export const ApiErrorSchema = ApiErrorBodySchema;

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'get', path: '/api/v1/servers', tag: 'servers', summary: 'List servers (filter by slug or name; non-admins: the ones they hold a role on)', permission: 'servers:list', query: ListServersQuerySchema, status: 200, response: ServerPageSchema },
  { method: 'post', path: '/api/v1/servers', tag: 'servers', summary: 'Register a server; header values are write-only', permission: 'servers:write', body: CreateServerBodySchema, status: 201, response: ServerViewSchema, etag: 'returns', errors: [409] },
  { method: 'get', path: '/api/v1/servers/{slug}', tag: 'servers', summary: 'Read a server', permission: 'server:read', status: 200, response: ServerViewSchema, etag: 'returns' },
  { method: 'patch', path: '/api/v1/servers/{slug}', tag: 'servers', summary: 'Change a server (admins and managers)', permission: 'server:manage', body: UpdateServerBodySchema, status: 200, response: ServerViewSchema, etag: 'checks', errors: [412] },
  { method: 'delete', path: '/api/v1/servers/{slug}', tag: 'servers', summary: 'Delete a server and its credentials', permission: 'servers:write', status: 204 },
  { method: 'get', path: '/api/v1/servers/{slug}/connections', tag: 'connections', summary: "Users' OAuth connections to a server: status, scopes, expiry (never a token)", permission: 'server:manage', status: 200, response: ConnectionListSchema },
  { method: 'delete', path: '/api/v1/servers/{slug}/connections/{principalId}', tag: 'connections', summary: "Disconnect a user (revokes at the provider where it can)", permission: 'server:manage', status: 204 },
  { method: 'put', path: '/api/v1/servers/{slug}/credentials/{userId}', tag: 'connections', summary: "Set a user's own values on a per-user header server (write-only)", permission: 'server:manage', body: PutUserCredentialBodySchema, status: 200, response: UserCredentialViewSchema },
  { method: 'delete', path: '/api/v1/servers/{slug}/credentials/{userId}', tag: 'connections', summary: "Forget a user's values on a per-user header server", permission: 'server:manage', status: 204 },
  { method: 'post', path: '/api/v1/vault/keys/rotate', tag: 'vault', summary: 'Re-wrap every vault secret under the active VAULT_KEYS key (then the old key can go)', permission: 'vault-keys:rotate', status: 200, response: RotateVaultKeysResponseSchema },
  { method: 'get', path: '/api/v1/servers/{slug}/collaborators', tag: 'collaborators', summary: 'List the collaborators of a server', permission: 'server:read', status: 200, response: CollaboratorListSchema },
  { method: 'post', path: '/api/v1/servers/{slug}/collaborators', tag: 'collaborators', summary: 'Give a subject a role on a server', permission: 'server:manage', body: CreateCollaboratorBodySchema, status: 201, response: CollaboratorViewSchema, errors: [409] },
  { method: 'put', path: '/api/v1/servers/{slug}/collaborators/{subject}', tag: 'collaborators', summary: "Set a subject's role on a server (adds it when absent)", permission: 'server:manage', body: SetCollaboratorRoleBodySchema, status: 200, response: CollaboratorViewSchema },
  { method: 'delete', path: '/api/v1/servers/{slug}/collaborators/{subject}', tag: 'collaborators', summary: 'Remove a collaborator (subject URL-encoded)', permission: 'server:manage', status: 204 },
  { method: 'get', path: '/api/v1/servers/{slug}/tools', tag: 'tools', summary: 'List tool settings of a server', permission: 'server:read', status: 200, response: ToolSettingListSchema },
  { method: 'put', path: '/api/v1/servers/{slug}/tools/{tool}', tag: 'tools', summary: 'Disable a tool or override its description', permission: 'server:manage', body: PutToolSettingBodySchema, status: 200, response: ToolSettingViewSchema },
  { method: 'delete', path: '/api/v1/servers/{slug}/tools/{tool}', tag: 'tools', summary: 'Drop the settings of a tool', permission: 'server:manage', status: 204 },
  { method: 'get', path: '/api/v1/servers/{slug}/policies', tag: 'tool policies', summary: 'List tool policies of a server', permission: 'server:read', status: 200, response: ToolPolicyListSchema },
  { method: 'post', path: '/api/v1/servers/{slug}/policies', tag: 'tool policies', summary: 'Add allow/deny tool globs for a subject (deny wins)', permission: 'server:manage', body: CreateToolPolicyBodySchema, status: 201, response: ToolPolicyViewSchema, etag: 'returns', errors: [409] },
  { method: 'get', path: '/api/v1/servers/{slug}/policies/{id}', tag: 'tool policies', summary: 'Read a tool policy', permission: 'server:read', status: 200, response: ToolPolicyViewSchema, etag: 'returns' },
  { method: 'patch', path: '/api/v1/servers/{slug}/policies/{id}', tag: 'tool policies', summary: 'Change a tool policy', permission: 'server:manage', body: UpdateToolPolicyBodySchema, status: 200, response: ToolPolicyViewSchema, etag: 'checks', errors: [412] },
  { method: 'delete', path: '/api/v1/servers/{slug}/policies/{id}', tag: 'tool policies', summary: 'Delete a tool policy', permission: 'server:manage', status: 204 },
  { method: 'get', path: '/api/v1/groups', tag: 'groups', summary: 'List groups (non-admins: the ones they hold a role on)', permission: 'groups:list', query: ListQuerySchema, status: 200, response: GroupPageSchema },
  { method: 'post', path: '/api/v1/groups', tag: 'groups', summary: 'Create a group of servers', permission: 'groups:write', body: CreateGroupBodySchema, status: 201, response: GroupViewSchema, etag: 'returns', errors: [409] },
  { method: 'get', path: '/api/v1/groups/{name}', tag: 'groups', summary: 'Read a group', permission: 'group:read', status: 200, response: GroupViewSchema, etag: 'returns' },
  { method: 'patch', path: '/api/v1/groups/{name}', tag: 'groups', summary: "Replace a group's servers", permission: 'groups:write', body: UpdateGroupBodySchema, status: 200, response: GroupViewSchema, etag: 'checks', errors: [409, 412] },
  { method: 'delete', path: '/api/v1/groups/{name}', tag: 'groups', summary: 'Delete a group (its servers stay)', permission: 'groups:write', status: 204 },
  { method: 'get', path: '/api/v1/groups/{name}/collaborators', tag: 'collaborators', summary: 'List the collaborators of a group', permission: 'group:read', status: 200, response: CollaboratorListSchema },
  { method: 'post', path: '/api/v1/groups/{name}/collaborators', tag: 'collaborators', summary: 'Give a subject a role on every server of a group', permission: 'group:manage', body: CreateCollaboratorBodySchema, status: 201, response: CollaboratorViewSchema, errors: [409] },
  { method: 'put', path: '/api/v1/groups/{name}/collaborators/{subject}', tag: 'collaborators', summary: "Set a subject's role on a group", permission: 'group:manage', body: SetCollaboratorRoleBodySchema, status: 200, response: CollaboratorViewSchema },
  { method: 'delete', path: '/api/v1/groups/{name}/collaborators/{subject}', tag: 'collaborators', summary: 'Remove a collaborator of a group', permission: 'group:manage', status: 204 },
  { method: 'get', path: '/api/v1/virtual-servers', tag: 'virtual servers', summary: 'List virtual servers', permission: 'virtual-servers:read', query: ListQuerySchema, status: 200, response: VirtualServerPageSchema },
  { method: 'post', path: '/api/v1/virtual-servers', tag: 'virtual servers', summary: 'Compose tools of several servers under one slug (name clashes refused)', permission: 'virtual-servers:write', body: CreateVirtualServerBodySchema, status: 201, response: VirtualServerViewSchema, etag: 'returns', errors: [409] },
  { method: 'get', path: '/api/v1/virtual-servers/{slug}', tag: 'virtual servers', summary: 'Read a virtual server', permission: 'virtual-server:read', status: 200, response: VirtualServerViewSchema, etag: 'returns' },
  { method: 'patch', path: '/api/v1/virtual-servers/{slug}', tag: 'virtual servers', summary: 'Rename a virtual server or replace its tools', permission: 'virtual-servers:write', body: UpdateVirtualServerBodySchema, status: 200, response: VirtualServerViewSchema, etag: 'checks', errors: [409, 412] },
  { method: 'delete', path: '/api/v1/virtual-servers/{slug}', tag: 'virtual servers', summary: 'Delete a virtual server', permission: 'virtual-servers:write', status: 204 },
  { method: 'get', path: '/api/v1/virtual-servers/{slug}/policies', tag: 'tool policies', summary: 'List tool policies of a virtual server', permission: 'virtual-server:read', status: 200, response: ToolPolicyListSchema },
  { method: 'post', path: '/api/v1/virtual-servers/{slug}/policies', tag: 'tool policies', summary: 'Add allow/deny globs on the names a virtual server exposes', permission: 'virtual-server:manage', body: CreateToolPolicyBodySchema, status: 201, response: ToolPolicyViewSchema, etag: 'returns', errors: [409] },
  { method: 'get', path: '/api/v1/virtual-servers/{slug}/policies/{id}', tag: 'tool policies', summary: 'Read a tool policy of a virtual server', permission: 'virtual-server:read', status: 200, response: ToolPolicyViewSchema, etag: 'returns' },
  { method: 'patch', path: '/api/v1/virtual-servers/{slug}/policies/{id}', tag: 'tool policies', summary: 'Change a tool policy of a virtual server', permission: 'virtual-server:manage', body: UpdateToolPolicyBodySchema, status: 200, response: ToolPolicyViewSchema, etag: 'checks', errors: [412] },
  { method: 'delete', path: '/api/v1/virtual-servers/{slug}/policies/{id}', tag: 'tool policies', summary: 'Delete a tool policy of a virtual server', permission: 'virtual-server:manage', status: 204 },
  { method: 'get', path: '/api/v1/virtual-servers/{slug}/collaborators', tag: 'collaborators', summary: 'List the collaborators of a virtual server', permission: 'virtual-server:read', status: 200, response: CollaboratorListSchema },
  { method: 'post', path: '/api/v1/virtual-servers/{slug}/collaborators', tag: 'collaborators', summary: 'Give a subject a role on a virtual server', permission: 'virtual-server:manage', body: CreateCollaboratorBodySchema, status: 201, response: CollaboratorViewSchema, errors: [409] },
  { method: 'put', path: '/api/v1/virtual-servers/{slug}/collaborators/{subject}', tag: 'collaborators', summary: "Set a subject's role on a virtual server", permission: 'virtual-server:manage', body: SetCollaboratorRoleBodySchema, status: 200, response: CollaboratorViewSchema },
  { method: 'delete', path: '/api/v1/virtual-servers/{slug}/collaborators/{subject}', tag: 'collaborators', summary: 'Remove a collaborator of a virtual server', permission: 'virtual-server:manage', status: 204 },
  { method: 'get', path: '/api/v1/api-keys', tag: 'api keys', summary: 'List gateway API keys (non-admins: their own)', permission: 'api-keys:own', status: 200, response: ListApiKeysResponseSchema },
  { method: 'post', path: '/api/v1/api-keys', tag: 'api keys', summary: 'Create an API key (the token is shown once; non-admins: for themselves, never admin)', permission: 'api-keys:own', body: CreateApiKeyBodySchema, status: 201, response: CreateApiKeyResponseSchema },
  { method: 'delete', path: '/api/v1/api-keys/{id}', tag: 'api keys', summary: 'Revoke an API key at every edge (non-admins: their own)', permission: 'api-keys:own', status: 200, response: ApiKeyViewSchema },
  { method: 'get', path: '/api/v1/identity-providers', tag: 'identity providers', summary: 'List identity providers', permission: 'identity-providers:read', status: 200, response: ListIdentityProvidersResponseSchema },
  { method: 'post', path: '/api/v1/identity-providers', tag: 'identity providers', summary: "Trust a customer IdP's access tokens", permission: 'identity-providers:write', body: CreateIdentityProviderBodySchema, status: 201, response: IdentityProviderViewSchema, errors: [409] },
  { method: 'get', path: '/api/v1/identity-providers/{name}', tag: 'identity providers', summary: 'Read an identity provider', permission: 'identity-providers:read', status: 200, response: IdentityProviderViewSchema },
  { method: 'patch', path: '/api/v1/identity-providers/{name}', tag: 'identity providers', summary: 'Change an identity provider (every edge forgets whom it authenticated)', permission: 'identity-providers:write', body: UpdateIdentityProviderBodySchema, status: 200, response: IdentityProviderViewSchema },
  { method: 'delete', path: '/api/v1/identity-providers/{name}', tag: 'identity providers', summary: 'Delete an identity provider (its tokens stop working at every edge)', permission: 'identity-providers:write', status: 200, response: IdentityProviderViewSchema },
  { method: 'get', path: '/api/v1/users', tag: 'users', summary: 'List users (filter by email substring, team, active)', permission: 'users:read', query: ListUsersQuerySchema, status: 200, response: ListUsersResponseSchema },
  { method: 'get', path: '/api/v1/users/{id}', tag: 'users', summary: 'Read a user with teams and identity-provider links', permission: 'users:read', status: 200, response: UserViewSchema },
  { method: 'patch', path: '/api/v1/users/{id}', tag: 'users', summary: "Change a user's roles (`auditor`: may read the audit trail)", permission: 'users:write', body: UpdateUserBodySchema, status: 200, response: UserViewSchema },
  { method: 'post', path: '/api/v1/users/{id}/deactivate', tag: 'users', summary: 'Deactivate a user: revokes every key and drops them at every edge', permission: 'users:write', status: 200, response: SetUserActiveResponseSchema, errors: [409] },
  { method: 'post', path: '/api/v1/users/{id}/reactivate', tag: 'users', summary: 'Reactivate a user (revoked keys stay revoked)', permission: 'users:write', status: 200, response: SetUserActiveResponseSchema },
  { method: 'get', path: '/api/v1/teams', tag: 'teams', summary: 'List teams with members', permission: 'teams:read', status: 200, response: ListTeamsResponseSchema },
  { method: 'post', path: '/api/v1/teams', tag: 'teams', summary: 'Create a team', permission: 'teams:write', body: CreateTeamBodySchema, status: 201, response: TeamViewSchema, errors: [409] },
  { method: 'get', path: '/api/v1/teams/{name}', tag: 'teams', summary: 'Read a team', permission: 'teams:read', status: 200, response: TeamViewSchema },
  { method: 'delete', path: '/api/v1/teams/{name}', tag: 'teams', summary: 'Delete a team and its memberships', permission: 'teams:write', status: 200, response: TeamViewSchema },
  { method: 'post', path: '/api/v1/teams/{name}/members', tag: 'teams', summary: 'Add a user to a team (kept whatever the groups claim says)', permission: 'teams:write', body: AddTeamMemberBodySchema, status: 200, response: TeamViewSchema },
  { method: 'delete', path: '/api/v1/teams/{name}/members/{userId}', tag: 'teams', summary: 'Remove a user from a team', permission: 'teams:write', status: 200, response: TeamViewSchema },
  { method: 'post', path: '/api/v1/virtual-accounts', tag: 'virtual accounts', summary: 'Create a virtual account (a service identity)', permission: 'virtual-accounts:write', body: CreateVirtualAccountBodySchema, status: 201, response: VirtualAccountViewSchema, errors: [409] },
  { method: 'get', path: '/api/v1/virtual-accounts', tag: 'virtual accounts', summary: 'List virtual accounts', permission: 'virtual-accounts:read', status: 200, response: ListVirtualAccountsResponseSchema },
  { method: 'get', path: '/api/v1/virtual-accounts/{name}', tag: 'virtual accounts', summary: 'Read a virtual account', permission: 'virtual-accounts:read', status: 200, response: VirtualAccountViewSchema },
  { method: 'patch', path: '/api/v1/virtual-accounts/{name}', tag: 'virtual accounts', summary: 'Change description or token-exchange permission', permission: 'virtual-accounts:write', body: UpdateVirtualAccountBodySchema, status: 200, response: VirtualAccountViewSchema },
  { method: 'delete', path: '/api/v1/virtual-accounts/{name}', tag: 'virtual accounts', summary: 'Delete a virtual account and its tokens (refused at every edge at once)', permission: 'virtual-accounts:write', status: 200, response: VirtualAccountViewSchema },
  { method: 'get', path: '/api/v1/virtual-accounts/{name}/tokens', tag: 'virtual accounts', summary: 'List the tokens of a virtual account', permission: 'virtual-accounts:read', status: 200, response: ListVirtualAccountTokensResponseSchema },
  { method: 'post', path: '/api/v1/virtual-accounts/{name}/tokens', tag: 'virtual accounts', summary: 'Issue a token (shown once)', permission: 'virtual-accounts:write', body: IssueVirtualAccountTokenBodySchema, status: 201, response: IssuedVirtualAccountTokenResponseSchema },
  { method: 'post', path: '/api/v1/virtual-accounts/{name}/tokens/{id}/rotate', tag: 'virtual accounts', summary: 'Rotate a token; the old one works for graceSeconds more', permission: 'virtual-accounts:write', body: RotateVirtualAccountTokenBodySchema, status: 200, response: RotatedVirtualAccountTokenResponseSchema, errors: [409] },
  { method: 'delete', path: '/api/v1/virtual-accounts/{name}/tokens/{id}', tag: 'virtual accounts', summary: 'Revoke a token at every edge', permission: 'virtual-accounts:write', status: 200, response: VirtualAccountTokenResponseSchema },
  { method: 'get', path: '/api/openapi.json', tag: 'documentation', summary: 'This document', permission: 'public', status: 200 },
  { method: 'get', path: '/api/docs', tag: 'documentation', summary: 'A browsable page of this document', permission: 'public', status: 200 },
];
