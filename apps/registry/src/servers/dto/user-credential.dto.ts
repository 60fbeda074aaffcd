import { PutUserCredentialRequestSchema } from '@portcullis/contracts';
import { z } from 'zod';

/** A user's values for a per-user header server's template variables: write-only, they go to the vault. */
export const PutUserCredentialBodySchema = z.strictObject({ values: PutUserCredentialRequestSchema.shape.values });
export type PutUserCredentialBody = z.output<typeof PutUserCredentialBodySchema>;

export const UserCredentialViewSchema = z.object({ userId: z.uuid(), variables: z.array(z.string()) });
export type UserCredentialView = z.infer<typeof UserCredentialViewSchema>;
