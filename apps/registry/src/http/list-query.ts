import { z } from 'zod';

export const MAX_PAGE_SIZE = 200;

/** `?limit&offset&name=` of every list route; `name` filters by a case-insensitive substring. */
export const ListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  name: z.string().trim().min(1).max(100).optional(),
});
export type ListQuery = z.output<typeof ListQuerySchema>;

/** A `LIKE` pattern matching `text` literally anywhere. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
