import { z } from 'zod';

/** `POST /api/v1/api-keys`. An expiry may carry any offset; identity gets it in UTC. */
export const CreateApiKeyBodySchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  /** Admins only: the owner (created if new). Default: the caller. */
  ownerEmail: z.email('must be an e-mail address').optional(),
  isAdmin: z.boolean().default(false),
  expiresAt: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
    .transform((value) => new Date(value).toISOString())
    .nullable()
    .default(null),
});
export type CreateApiKeyBody = z.output<typeof CreateApiKeyBodySchema>;

export const ApiKeyIdSchema = z.uuid();
