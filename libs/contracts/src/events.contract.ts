import { z } from 'zod';

export const RegistryChangedEventSchema = z.object({
  serverId: z.uuid(),
  slug: z.string(),
  change: z.enum(['created', 'updated', 'deleted']),
});
export const IdentityRevokedEventSchema = z.object({
  credentialIds: z.array(z.string()),
  principalIds: z.array(z.string()),
  /** Names of identity providers deleted or disabled: every principal they authenticated is dropped. */
  identityProviders: z.array(z.string()).optional(),
});
export const VaultChangedEventSchema = z.object({
  serverId: z.uuid(),
  /** Null when a credential shared by every principal changed. */
  principalId: z.string().nullable(),
});
