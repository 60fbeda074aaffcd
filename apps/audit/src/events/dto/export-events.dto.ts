import { z } from 'zod';
import { EventFilterFields } from './list-events.dto';

export const ExportFormats = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof ExportFormats)[number];

/** Query of `GET /api/v1/audit/export`: the list filters and a format; the whole match, oldest first. */
export const ExportEventsQuerySchema = z.strictObject({
  ...EventFilterFields,
  format: z.enum(ExportFormats).default('ndjson'),
});
export type ExportEventsQuery = z.output<typeof ExportEventsQuerySchema>;
