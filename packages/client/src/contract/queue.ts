/** The queue: counts, in-flight work and dead letters. */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, LimitQuery, OkSchema } from './common.ts';
import { QueueMessageSchema } from './records.ts';

export const QueueCountsSchema = z.object({
  pending: z.number().int(),
  processing: z.number().int(),
  completed: z.number().int(),
  dead: z.number().int(),
  cancelled: z.number().int(),
});

export const queueContract = {
  queueStatus: route({
    method: 'GET',
    path: '/api/queue/status',
    summary: 'Queue counts by status, and replies waiting for delivery',
    tag: 'queue',
    response: QueueCountsSchema.extend({ outboxPending: z.number().int() }),
  }),
  queueAgents: route({
    method: 'GET',
    path: '/api/queue/agents',
    summary: 'Queue counts per agent',
    tag: 'queue',
    response: z.array(QueueCountsSchema.extend({ agentId: z.string() })),
  }),
  queueProcessing: route({
    method: 'GET',
    path: '/api/queue/processing',
    summary: 'Messages being processed now',
    tag: 'queue',
    response: z.array(QueueMessageSchema.extend({ durationMs: z.number() })),
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
    query: z.object({ agent: z.string().min(1).max(64).optional() }),
    response: z.object({ deleted: z.number().int() }),
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
