import { z } from 'zod';
import { EventFilterFields } from './list-events.dto';

const seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Query of `GET /api/v1/audit/stream`: the list filters, and where to resume
 * (`lastEventId`, for clients that cannot send the `Last-Event-ID` header).
 * Without either, the tail starts with events stored from now on.
 */
export const StreamEventsQuerySchema = z.strictObject({
  ...EventFilterFields,
  lastEventId: seq.optional(),
});
export type StreamEventsQuery = z.output<typeof StreamEventsQuerySchema>;

/** `Last-Event-ID` as the EventSource spec sends it back: the seq of the last event the client saw. */
export const LastEventIdSchema = seq.optional();
