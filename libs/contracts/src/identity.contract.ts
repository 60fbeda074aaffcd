import { z } from 'zod';
import { PrincipalSchema } from './principal.schema';

export const AuthenticateRequestSchema = z.object({ token: z.string().min(1).max(8192) });
export const AuthenticateResponseSchema = z.object({
  principal: PrincipalSchema,
  /** When the presented credential stops being valid (ISO time), if it ever does. */
  expiresAt: z.iso.datetime().nullable(),
});
export type AuthenticateResponse = z.infer<typeof AuthenticateResponseSchema>;

export const ApiKeyViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  ownerEmail: z.string(),
  ownerUserId: z.uuid(),
  isAdmin: z.boolean(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

/** The owner is named by e-mail (created if new) or by user id (must exist and be active); exactly one. */
export const CreateApiKeyRequestSchema = z.object({
  name: z.string().trim().min(1).max(200),
  ownerEmail: z.email().optional(),
  ownerUserId: z.uuid().optional(),
  isAdmin: z.boolean(),
  expiresAt: z.iso.datetime().nullable(),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;
/** The only message that ever carries a new key in clear: shown once to its creator. */
export const CreateApiKeyResponseSchema = z.object({ apiKey: ApiKeyViewSchema, token: z.string() });

/** With `ownerUserId`, only that user's keys (a user listing their own). */
export const ListApiKeysRequestSchema = z.object({ ownerUserId: z.uuid().optional() });
export const ListApiKeysResponseSchema = z.object({ items: z.array(ApiKeyViewSchema) });

/** With `ownerUserId`, a key of anyone else is NOT_FOUND (a user revoking their own). */
export const RevokeApiKeyRequestSchema = z.object({ id: z.uuid(), ownerUserId: z.uuid().optional() });
export const RevokeApiKeyResponseSchema = z.object({ apiKey: ApiKeyViewSchema });
