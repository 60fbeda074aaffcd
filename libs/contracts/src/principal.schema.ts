import { z } from 'zod';

export const PrincipalKinds = ['user', 'virtual_account', 'external'] as const;

export const PrincipalRefSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(PrincipalKinds),
  sub: z.string().min(1),
  email: z.string().optional(),
});
export type PrincipalRef = z.infer<typeof PrincipalRefSchema>;

/** Who is calling, as DESIGN §4 step 2 describes it. */
export const PrincipalSchema = PrincipalRefSchema.extend({
  displayName: z.string().optional(),
  teams: z.array(z.string()),
  isAdmin: z.boolean(),
  /** May read the audit trail (compliance API), nothing more; absent means false. */
  isAuditor: z.boolean().optional(),
  idp: z.string().optional(),
  /** The gateway credential (API key id) that authenticated this call. */
  credentialId: z.string().optional(),
  actor: PrincipalRefSchema.optional(),
});
export type Principal = z.infer<typeof PrincipalSchema>;
