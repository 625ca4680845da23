/**
 * Public shapes of the stored records (queue messages, runs, conversations, outbox rows; events
 * are in events.ts).
 * They mirror core's record types; the server maps records onto them and the response
 * serializer drops anything not listed here.
 */
import * as z from 'zod';
import { TimestampSchema } from './common.ts';

const nullableString = z.string().nullable();

export const MESSAGE_STATUSES = ['pending', 'processing', 'completed', 'dead', 'cancelled'] as const;
/**
 * What went wrong, for people: `rate_limited` (the provider refused for now), `timed_out` (wall
 * clock or inactivity limit), `crashed` (the agent's process exited with an error or a signal),
 * `worker_lost` (the worker holding it stopped or died; its lease expired), `cannot_run`
 * (permanent: missing CLI, bad configuration, input refused), `failed` (anything else).
 */
export const FAILURE_REASONS = ['rate_limited', 'timed_out', 'crashed', 'worker_lost', 'cannot_run', 'failed'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export const QueueMessageSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    kind: z.string(),
    agentId: z.string(),
    teamId: nullableString,
    conversationId: z.string(),
    parentMessageId: nullableString,
    parentRunId: nullableString,
    runId: nullableString,
    depth: z.number().int(),
    channel: z.string(),
    sender: z.string(),
    senderId: z.string(),
    threadKey: nullableString,
    content: z.string(),
    attachments: z.array(z.string()),
    status: z.enum(MESSAGE_STATUSES),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    availableAt: TimestampSchema,
    cancelRequested: z.boolean(),
    lastError: nullableString,
    /** How the last failed attempt failed; with `attempts`/`maxAttempts` it says where retries stand. */
    lastFailure: z.enum(FAILURE_REASONS).nullable(),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    finishedAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'QueueMessage' });
export type QueueMessageView = z.infer<typeof QueueMessageSchema>;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'rejected'] as const;

export const RunSchema = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    parentRunId: nullableString,
    depth: z.number().int(),
    maxDepth: z.number().int(),
    agentId: z.string(),
    teamId: nullableString,
    channel: z.string(),
    cause: z.string(),
    status: z.enum(RUN_STATUSES),
    messageIds: z.array(z.string()),
    input: nullableString,
    output: nullableString,
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    costUsd: z.number(),
    error: nullableString,
    createdAt: TimestampSchema,
    startedAt: TimestampSchema.nullable(),
    endedAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'Run' });
export type RunView = z.infer<typeof RunSchema>;

export const CONVERSATION_STATUSES = ['active', 'completed', 'failed', 'stopped', 'cancelled'] as const;

export const ConversationSchema = z
  .object({
    id: z.string(),
    teamId: nullableString,
    rootAgentId: z.string(),
    channel: z.string(),
    sender: z.string(),
    senderId: z.string(),
    threadKey: nullableString,
    title: z.string(),
    status: z.enum(CONVERSATION_STATUSES),
    replyMode: z.enum(['each', 'aggregate']),
    hops: z.number().int(),
    messageCount: z.number().int(),
    spawnCount: z.number().int(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    costUsd: z.number(),
    /** Why it ended `failed`, `stopped` or `cancelled` (null while active and when completed). */
    stopReason: nullableString,
    /** Whether the first message named the agent (`@rootAgentId`) or the team (`#teamId`). */
    addressed: z.enum(['agent', 'team']),
    /** A guard held work back (a handoff over a limit, a soft budget line) until the person replies `continue` or `stop`. */
    awaitingDecision: z.boolean(),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    completedAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'Conversation' });
export type ConversationView = z.infer<typeof ConversationSchema>;

export const OUTBOX_STATUSES = ['pending', 'delivering', 'delivered', 'failed', 'expired'] as const;

export const OutboxSchema = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    messageId: nullableString,
    runId: nullableString,
    conversationId: nullableString,
    agentId: nullableString,
    channel: z.string(),
    recipient: z.record(z.string(), z.unknown()),
    text: z.string(),
    files: z.array(z.string()),
    meta: z.record(z.string(), z.unknown()),
    idempotencyKey: z.string(),
    status: z.enum(OUTBOX_STATUSES),
    attempts: z.number().int(),
    leaseExpiresAt: TimestampSchema.nullable(),
    availableAt: TimestampSchema,
    expiresAt: TimestampSchema,
    lastError: nullableString,
    createdAt: TimestampSchema,
    deliveredAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'OutboxEntry' });
export type OutboxView = z.infer<typeof OutboxSchema>;
