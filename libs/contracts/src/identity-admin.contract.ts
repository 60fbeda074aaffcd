import { z } from 'zod';

/** Names of teams and virtual accounts: what `team:<name>` and `virtualaccount:<name>` subjects accept. */
export const IdentityNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/, 'must be 1-128 letters, digits, "_", ".", "@" or "-", starting with a letter or digit');

// Users

export const UserViewSchema = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  isAdmin: z.boolean(),
  /** May read the audit trail (compliance API) without being an admin. */
  isAuditor: z.boolean(),
  active: z.boolean(),
  createdAt: z.iso.datetime(),
  teams: z.array(z.string()),
  /** The identity providers (and subjects there) this user was provisioned from. */
  identities: z.array(z.object({ identityProvider: z.string(), subject: z.string() })),
});
export type UserView = z.infer<typeof UserViewSchema>;

export const ListUsersRequestSchema = z.object({
  /** Case-insensitive substring of the e-mail. */
  email: z.string().max(320).optional(),
  team: z.string().max(128).optional(),
  active: z.boolean().optional(),
});
export type ListUsersRequest = z.infer<typeof ListUsersRequestSchema>;
export const ListUsersResponseSchema = z.object({ items: z.array(UserViewSchema) });
export const UserByIdRequestSchema = z.object({ id: z.uuid() });
export const UserResponseSchema = z.object({ user: UserViewSchema });
export const SetUserActiveRequestSchema = z.object({ id: z.uuid(), active: z.boolean() });
/** Changes a user's roles; only `auditor` for now. */
export const UpdateUserRequestSchema = z.object({ id: z.uuid(), auditor: z.boolean().optional() });
/** `revokedApiKeys`: how many keys a deactivation revoked (0 on reactivation: revoked keys stay revoked). */
export const SetUserActiveResponseSchema = z.object({ user: UserViewSchema, revokedApiKeys: z.number().int().nonnegative() });

// Teams

export const TeamMemberViewSchema = z.object({ userId: z.uuid(), email: z.string().nullable(), source: z.enum(['idp', 'admin']) });
export const TeamViewSchema = z.object({ name: z.string(), createdAt: z.iso.datetime(), members: z.array(TeamMemberViewSchema) });
export type TeamView = z.infer<typeof TeamViewSchema>;
export const CreateTeamRequestSchema = z.object({ name: IdentityNameSchema });
export const TeamByNameRequestSchema = z.object({ name: z.string().min(1).max(128) });
export const TeamResponseSchema = z.object({ team: TeamViewSchema });
export const ListTeamsRequestSchema = z.object({});
export const ListTeamsResponseSchema = z.object({ items: z.array(TeamViewSchema) });
/** A member is named by user id or by e-mail (one of them). */
export const TeamMemberRequestSchema = z.object({ name: z.string().min(1).max(128), userId: z.uuid().optional(), email: z.email().optional() });
export type TeamMemberRequest = z.infer<typeof TeamMemberRequestSchema>;

// Virtual accounts

export const VirtualAccountViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  /** May act for users through token exchange (RFC 8693). */
  canExchange: z.boolean(),
  createdAt: z.iso.datetime(),
});
export type VirtualAccountView = z.infer<typeof VirtualAccountViewSchema>;
export const CreateVirtualAccountRequestSchema = z.object({
  name: IdentityNameSchema,
  description: z.string().max(1000).nullable(),
  canExchange: z.boolean(),
});
export type CreateVirtualAccountRequest = z.infer<typeof CreateVirtualAccountRequestSchema>;
export const UpdateVirtualAccountRequestSchema = z.object({
  name: z.string().min(1).max(128),
  changes: z.object({ description: z.string().max(1000).nullable().optional(), canExchange: z.boolean().optional() }),
});
export const VirtualAccountByNameRequestSchema = z.object({ name: z.string().min(1).max(128) });
export const VirtualAccountResponseSchema = z.object({ virtualAccount: VirtualAccountViewSchema });
export const ListVirtualAccountsRequestSchema = z.object({});
export const ListVirtualAccountsResponseSchema = z.object({ items: z.array(VirtualAccountViewSchema) });

export const VirtualAccountTokenViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type VirtualAccountTokenView = z.infer<typeof VirtualAccountTokenViewSchema>;
export const IssueVirtualAccountTokenRequestSchema = z.object({
  virtualAccount: z.string().min(1).max(128),
  name: z.string().trim().min(1).max(200),
  expiresAt: z.iso.datetime().nullable(),
});
export type IssueVirtualAccountTokenRequest = z.infer<typeof IssueVirtualAccountTokenRequestSchema>;
/** The only message that carries a virtual-account token in clear: shown once. */
export const IssuedVirtualAccountTokenResponseSchema = z.object({ virtualAccountToken: VirtualAccountTokenViewSchema, token: z.string() });
export const ListVirtualAccountTokensRequestSchema = z.object({ virtualAccount: z.string().min(1).max(128) });
export const ListVirtualAccountTokensResponseSchema = z.object({ items: z.array(VirtualAccountTokenViewSchema) });
export const RotateVirtualAccountTokenRequestSchema = z.object({
  virtualAccount: z.string().min(1).max(128),
  id: z.uuid(),
  /** How long the old token keeps working (0: refused at once). */
  graceSeconds: z.number().int().min(0).max(30 * 86_400),
});
export const RotatedVirtualAccountTokenResponseSchema = z.object({
  virtualAccountToken: VirtualAccountTokenViewSchema,
  token: z.string(),
  previous: VirtualAccountTokenViewSchema,
});
export const RevokeVirtualAccountTokenRequestSchema = z.object({ virtualAccount: z.string().min(1).max(128), id: z.uuid() });
export const VirtualAccountTokenResponseSchema = z.object({ virtualAccountToken: VirtualAccountTokenViewSchema });
