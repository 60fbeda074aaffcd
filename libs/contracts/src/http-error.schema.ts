import { z } from 'zod';

/** Body of every non-2xx answer of the REST APIs (registry, audit, edge `/me`). */
export const ApiErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    /** For validation failures: each offending field, by JSON path. */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;
