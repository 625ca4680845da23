/** The queue: counts, in-flight work and dead letters. */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, Int, LimitQuery, Num, OkSchema, OptionalShortText, Str } from './common.ts';
import { QueueMessageSchema } from './records.ts';

export const QueueCountsSchema = z.object({
  pending: Int,
  processing: Int,
  completed: Int,
  dead: Int,
  cancelled: Int,
});

export const queueContract = {
  queueStatus: route({
    method: 'GET',
    path: '/api/queue/status',
    summary: 'Queue counts by status, and replies waiting for delivery',
    tag: 'queue',
    response: QueueCountsSchema.extend({ outboxPending: Int }),
  }),
  queueAgents: route({
    method: 'GET',
    path: '/api/queue/agents',
    summary: 'Queue counts per agent',
    tag: 'queue',
    response: z.array(QueueCountsSchema.extend({ agentId: Str })),
  }),
  queueProcessing: route({
    method: 'GET',
    path: '/api/queue/processing',
    summary: 'Messages being processed now',
    tag: 'queue',
    response: z.array(QueueMessageSchema.extend({ durationMs: Num })),
  }),
  queueDead: route({
    method: 'GET',
    path: '/api/queue/dead',
    summary: 'Dead letters, newest first',
    tag: 'queue',
    query: z.object({ limit: LimitQuery }),
    response: z.array(QueueMessageSchema),
  }),
  retryDead: route({
    method: 'POST',
    path: '/api/queue/dead/:id/retry',
    summary: 'Put a dead letter back in the queue (attempts reset)',
    tag: 'queue',
    params: IdParamsSchema,
    response: QueueMessageSchema,
  }),
  purgeDead: route({
    method: 'DELETE',
    path: '/api/queue/dead',
    summary: 'Delete every dead letter (or those of one agent); returns how many were deleted',
    tag: 'queue',
    query: z.object({ agent: OptionalShortText }),
    response: z.object({ deleted: Int }),
  }),
  deleteDead: route({
    method: 'DELETE',
    path: '/api/queue/dead/:id',
    summary: 'Delete a dead letter',
    tag: 'queue',
    params: IdParamsSchema,
    response: OkSchema,
  }),
} as const;
