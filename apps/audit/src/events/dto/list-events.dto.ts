import { AuditActions, AuditOutcomes } from '@portcullis/contracts';
import { z } from 'zod';
import { decodeCursor } from './events-cursor';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

const filterText = (max: number) => z.string().min(1).max(max).optional();

/** The filters every read of the trail takes (list, export, live tail). */
export const EventFilterFields = {
  principal: filterText(500),
  actor: filterText(500),
  server: filterText(500),
  tool: filterText(500),
  action: z.enum(AuditActions).optional(),
  outcome: z.enum(AuditOutcomes).optional(),
  traceId: filterText(200),
  /** Inclusive lower bound on `ts`. */
  from: z.iso.datetime().optional(),
  /** Exclusive upper bound on `ts`. */
  to: z.iso.datetime().optional(),
};

/**
 * Query of `GET /api/v1/audit/events`. Strict: a misspelt filter is refused
 * rather than ignored, because ignoring it would widen the answer.
 */
export const ListEventsQuerySchema = z.strictObject({
  ...EventFilterFields,
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .optional()
    .transform((cursor, ctx) => {
      if (cursor === undefined) return undefined;
      const seq = decodeCursor(cursor);
      if (seq === null) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
        return z.NEVER;
      }
      return seq;
    }),
});
/** The parsed query; `cursor` is the seq the previous page ended at. */
export type ListEventsQuery = Omit<z.output<typeof ListEventsQuerySchema>, 'cursor'> & { cursor?: number };
