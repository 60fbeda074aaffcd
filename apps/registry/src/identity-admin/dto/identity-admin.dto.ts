import { IdentityNameSchema } from '@portcullis/contracts';
import { z } from 'zod';

const isoDateTime = () =>
  z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
    .transform((value) => new Date(value).toISOString());

/** `GET /api/v1/users?email=&team=&active=` */
export const ListUsersQuerySchema = z.strictObject({
  email: z.string().max(320).optional(),
  team: z.string().max(128).optional(),
  active: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
});
export type ListUsersQuery = z.output<typeof ListUsersQuerySchema>;

/** `PATCH /api/v1/users/{id}`: the user's roles; `auditor` may read the audit trail. */
export const UpdateUserBodySchema = z.strictObject({ auditor: z.boolean().optional() });
export type UpdateUserBody = z.output<typeof UpdateUserBodySchema>;

/** `POST /api/v1/teams` */
export const CreateTeamBodySchema = z.strictObject({ name: IdentityNameSchema });
export type CreateTeamBody = z.output<typeof CreateTeamBodySchema>;

/** `POST /api/v1/teams/{name}/members`: the user by id or by e-mail. */
export const AddTeamMemberBodySchema = z
  .strictObject({ userId: z.uuid('must be a user id').optional(), email: z.email('must be an e-mail address').optional() })
  .refine((body) => (body.userId === undefined) !== (body.email === undefined), { message: 'give exactly one of userId and email', path: ['userId'] });
export type AddTeamMemberBody = z.output<typeof AddTeamMemberBodySchema>;

/** `POST /api/v1/virtual-accounts` */
export const CreateVirtualAccountBodySchema = z.strictObject({
  name: IdentityNameSchema,
  description: z.string().max(1000).nullable().default(null),
  /** May exchange users' tokens for on-behalf-of tokens at `/oauth/token`. */
  canExchange: z.boolean().default(false),
});
export type CreateVirtualAccountBody = z.output<typeof CreateVirtualAccountBodySchema>;

/** `PATCH /api/v1/virtual-accounts/{name}` */
export const UpdateVirtualAccountBodySchema = z.strictObject({
  description: z.string().max(1000).nullable().optional(),
  canExchange: z.boolean().optional(),
});
export type UpdateVirtualAccountBody = z.output<typeof UpdateVirtualAccountBodySchema>;

/** `POST /api/v1/virtual-accounts/{name}/tokens` */
export const IssueVirtualAccountTokenBodySchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200).default('default'),
  expiresAt: isoDateTime().nullable().default(null),
});
export type IssueVirtualAccountTokenBody = z.output<typeof IssueVirtualAccountTokenBodySchema>;

/** `POST /api/v1/virtual-accounts/{name}/tokens/{id}/rotate` */
export const RotateVirtualAccountTokenBodySchema = z.strictObject({
  /** How long the old token keeps working (default 0: refused at once; at most 30 days). */
  graceSeconds: z.number().int().min(0).max(30 * 86_400).default(0),
});
export type RotateVirtualAccountTokenBody = z.output<typeof RotateVirtualAccountTokenBodySchema>;

export const UuidSchema = z.uuid();
