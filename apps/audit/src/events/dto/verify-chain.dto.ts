import { z } from 'zod';

const seq = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** Query of `GET /api/v1/audit/verify`: an optional range of seqs, both ends inclusive. */
export const VerifyChainQuerySchema = z
  .strictObject({ from: seq.optional(), to: seq.optional() })
  .refine((range) => range.from === undefined || range.to === undefined || range.from <= range.to, { message: 'from must not be after to', path: ['from'] });
export type VerifyChainQuery = z.output<typeof VerifyChainQuerySchema>;
