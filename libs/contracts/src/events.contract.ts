import { z } from 'zod';

export const RegistryChangedEventSchema = z.object({
  serverId: z.uuid(),
  slug: z.string(),
  change: z.enum(['created', 'updated', 'deleted']),
});
export const IdentityRevokedEventSchema = z.object({
  credentialIds: z.array(z.string()),
  principalIds: z.array(z.string()),
});
export const VaultChangedEventSchema = z.object({
  serverId: z.uuid(),
  /** Null when a credential shared by every principal changed. */
  principalId: z.string().nullable(),
});
