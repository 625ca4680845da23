/** Outbox for channel clients, and proactive messages to paired senders. */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, IdText, Int, IntParam, LimitQuery, OptionalBool, OptionalIdText, OptionalMax200, OptionalShortText, ShortText } from './common.ts';
import { OUTBOX_STATUSES, OutboxSchema } from './records.ts';

export const SendResponseBodySchema = z.object({
  channel: ShortText,
  senderId: IdText,
  message: z.string().min(1).max(200_000),
  sender: OptionalMax200,
  agent: OptionalShortText,
  files: z.array(z.string().min(1).max(4096)).max(20).optional(),
});
export type SendResponseBody = z.infer<typeof SendResponseBodySchema>;

export const outboxContract = {
  listOutbox: route({
    method: 'GET',
    path: '/api/outbox',
    summary: 'Replies, oldest first (filter by channel, status, conversation; page with afterSeq)',
    tag: 'outbox',
    query: z.object({
      channel: OptionalShortText,
      status: z.enum(OUTBOX_STATUSES).optional(),
      conversationId: OptionalIdText,
      afterSeq: IntParam(0).optional(),
      limit: LimitQuery,
    }),
    response: z.array(OutboxSchema),
  }),
  claimOutbox: route({
    method: 'POST',
    path: '/api/outbox/claim',
    summary: 'Lease deliverable replies of a channel; ack or fail each one',
    tag: 'outbox',
    auth: 'channel',
    body: z.object({
      channel: ShortText,
      limit: Int.min(1).max(500).optional(),
      leaseMs: Int.min(1000).max(600_000).optional(),
      owner: OptionalIdText,
    }),
    response: z.array(OutboxSchema),
  }),
  ackOutbox: route({
    method: 'POST',
    path: '/api/outbox/:id/ack',
    summary: 'The platform confirmed delivery (acking twice is fine; an unknown id is 404)',
    tag: 'outbox',
    auth: 'channel',
    params: IdParamsSchema,
    response: OutboxSchema,
  }),
  failOutbox: route({
    method: 'POST',
    path: '/api/outbox/:id/fail',
    summary: 'Delivery failed: retried with backoff, or failed for good',
    tag: 'outbox',
    auth: 'channel',
    params: IdParamsSchema,
    body: z.object({
      error: z.string().min(1).max(4000),
      retryAfterMs: Int.min(0).max(86_400_000).optional(),
      permanent: OptionalBool,
    }),
    response: OutboxSchema,
  }),
  sendResponse: route({
    method: 'POST',
    path: '/api/responses',
    summary: 'A proactive message to a paired sender (files must be in an agent workspace or files/)',
    tag: 'outbox',
    status: 201,
    body: SendResponseBodySchema,
    response: OutboxSchema,
  }),
} as const;
