import { CreateIdentityProviderRequestSchema, IdentityProviderChangesSchema } from '@portcullis/contracts';
import type { z } from 'zod';

/** `POST /api/v1/identity-providers`: the bus contract is the body (defaults applied here, cross-field rules checked by identity). */
export const CreateIdentityProviderBodySchema = CreateIdentityProviderRequestSchema.strict();
export type CreateIdentityProviderBody = z.output<typeof CreateIdentityProviderBodySchema>;

/** `PATCH /api/v1/identity-providers/{name}`: only the fields present change. */
export const UpdateIdentityProviderBodySchema = IdentityProviderChangesSchema;
export type UpdateIdentityProviderBody = z.output<typeof UpdateIdentityProviderBodySchema>;
