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
  isAdmin: z.boolean(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

export const CreateApiKeyRequestSchema = z.object({
  name: z.string().trim().min(1).max(200),
  ownerEmail: z.email(),
  isAdmin: z.boolean(),
  expiresAt: z.iso.datetime().nullable(),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;
/** The only message that ever carries a new key in clear: shown once to its creator. */
export const CreateApiKeyResponseSchema = z.object({ apiKey: ApiKeyViewSchema, token: z.string() });

export const ListApiKeysRequestSchema = z.object({});
export const ListApiKeysResponseSchema = z.object({ items: z.array(ApiKeyViewSchema) });

export const RevokeApiKeyRequestSchema = z.object({ id: z.uuid() });
export const RevokeApiKeyResponseSchema = z.object({ apiKey: ApiKeyViewSchema });
