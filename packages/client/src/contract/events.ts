/** Query of the SSE stream GET /api/events (served outside the JSON route contract); unknown parameters are refused. */
import * as z from 'zod';
import { EVENTS_PATH } from './event-types.ts';
import { OptionalIdText, OptionalShortText } from './common.ts';

export const EventsQuerySchema = z.strictObject({
  conversation: OptionalIdText,
  agent: OptionalShortText,
  /** Comma-separated event types, e.g. `run.completed,run.failed`. */
  types: z.string().min(1).max(2000).optional(),
  /** For clients that cannot send the Last-Event-ID header. */
  lastEventId: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional(),
  /** A ticket from POST /api/auth/ticket, for EventSource clients that cannot send headers. */
  ticket: z.string().min(1).max(500).optional(),
});
export type EventsQuery = z.infer<typeof EventsQuerySchema>;

export { EVENTS_PATH };
