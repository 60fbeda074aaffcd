import { z } from 'zod';

/** Stable codes a bus reply can fail with; callers branch on these, never on messages. */
export const BusErrorCodes = [
  'INVALID_REQUEST',
  'INVALID_RESPONSE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'TIMEOUT',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export const BusErrorCodeSchema = z.enum(BusErrorCodes);
export type BusErrorCode = z.infer<typeof BusErrorCodeSchema>;

export const BusErrorBodySchema = z.object({
  code: BusErrorCodeSchema,
  message: z.string(),
  /** Field-level problems of an invalid request, safe to show to an admin. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type BusErrorBody = z.infer<typeof BusErrorBodySchema>;

export const BusReplySchema = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: BusErrorBodySchema }),
]);
export type BusReply = z.infer<typeof BusReplySchema>;
