/**
 * Public shapes of the stored records (queue messages, runs, conversations, outbox rows; events
 * are in events.ts).
 * They mirror core's record types; the server maps records onto them and the response
 * serializer drops anything not listed here.
 */
import * as z from 'zod';
import { Bool, Int, NullableStr, NullableTimestamp, Num, Str, StrArray, TimestampSchema } from './common.ts';

const nullableString = NullableStr;

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
    id: Str,
    seq: Int,
    kind: Str,
    agentId: Str,
    teamId: nullableString,
    conversationId: Str,
    parentMessageId: nullableString,
    parentRunId: nullableString,
    runId: nullableString,
    depth: Int,
    channel: Str,
    sender: Str,
    senderId: Str,
    threadKey: nullableString,
    content: Str,
    attachments: StrArray,
    status: z.enum(MESSAGE_STATUSES),
    attempts: Int,
    maxAttempts: Int,
    availableAt: TimestampSchema,
    cancelRequested: Bool,
    lastError: nullableString,
    /** How the last failed attempt failed; with `attempts`/`maxAttempts` it says where retries stand. */
    lastFailure: z.enum(FAILURE_REASONS).nullable(),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    finishedAt: NullableTimestamp,
  })
  .meta({ id: 'QueueMessage' });
export type QueueMessageView = z.infer<typeof QueueMessageSchema>;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'rejected'] as const;

/**
 * What the model proxy metered of a run's model calls, from the provider's own responses
 * (docs/sandbox.md#the-model-proxy), to compare with the usage the CLI reported. `inputTokens`
 * counts every prompt token, cache reads and writes included (as the run's own does); the cache
 * reads and writes are also given on their own.
 */
export const MeteredUsageSchema = z
  .object({
    /** Model calls through the proxy, failed ones included. */
    calls: Int,
    inputTokens: Int,
    outputTokens: Int,
    cacheReadTokens: Int,
    cacheWriteTokens: Int,
    /** The calls at the models' list prices (a model TinyAGI has no price for adds 0), beside the run's `costUsd`, what the CLI reported. */
    costUsd: z.number().nonnegative(),
  })
  .meta({ id: 'MeteredUsage' });
export type MeteredUsageView = z.infer<typeof MeteredUsageSchema>;

export const RunSchema = z
  .object({
    id: Str,
    conversationId: Str,
    parentRunId: nullableString,
    depth: Int,
    maxDepth: Int,
    agentId: Str,
    teamId: nullableString,
    channel: Str,
    cause: Str,
    status: z.enum(RUN_STATUSES),
    messageIds: StrArray,
    input: nullableString,
    output: nullableString,
    inputTokens: Int,
    outputTokens: Int,
    costUsd: Num,
    /** Metered by the model proxy (null or absent: no call of the run went through it); `inputTokens`… above are what the CLI reported. */
    metered: MeteredUsageSchema.nullable().optional(),
    error: nullableString,
    /** The name of the node that ran it, with several nodes (PostgreSQL); absent with one process. */
    node: nullableString.optional(),
    createdAt: TimestampSchema,
    startedAt: NullableTimestamp,
    endedAt: NullableTimestamp,
  })
  .meta({ id: 'Run' });
export type RunView = z.infer<typeof RunSchema>;

export const CONVERSATION_STATUSES = ['active', 'completed', 'failed', 'stopped', 'cancelled'] as const;
/**
 * What a list of conversations filters by: the status `conversationStatus` shows, so `waiting`
 * (held by a guard for the person's decision, whatever its status) or one of the others, which
 * then leave the waiting ones out.
 */
export const CONVERSATION_FILTERS = [...CONVERSATION_STATUSES, 'waiting'] as const;
export type ConversationFilter = (typeof CONVERSATION_FILTERS)[number];

/** The person's answer to a conversation a guard holds: `continue` (limits raised, held work delivered) or `stop`. */
export const DecisionSchema = z.enum(['continue', 'stop']);
export type Decision = z.infer<typeof DecisionSchema>;

export const ConversationSchema = z
  .object({
    id: Str,
    teamId: nullableString,
    rootAgentId: Str,
    channel: Str,
    sender: Str,
    senderId: Str,
    threadKey: nullableString,
    title: Str,
    status: z.enum(CONVERSATION_STATUSES),
    replyMode: z.enum(['each', 'aggregate']),
    hops: Int,
    messageCount: Int,
    spawnCount: Int,
    inputTokens: Int,
    outputTokens: Int,
    costUsd: Num,
    /** Why it ended `failed`, `stopped` or `cancelled` (null while active and when completed). */
    stopReason: nullableString,
    /** Whether the first message named the agent (`@rootAgentId`) or the team (`#teamId`). */
    addressed: z.enum(['agent', 'team']),
    /** A guard held work back (a handoff over a limit, a soft budget line) until the person replies `continue` or `stop`. */
    awaitingDecision: Bool,
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    completedAt: NullableTimestamp,
  })
  .meta({ id: 'Conversation' });
export type ConversationView = z.infer<typeof ConversationSchema>;

export const OUTBOX_STATUSES = ['pending', 'delivering', 'delivered', 'failed', 'expired'] as const;

export const OutboxSchema = z
  .object({
    id: Str,
    seq: Int,
    messageId: nullableString,
    runId: nullableString,
    conversationId: nullableString,
    agentId: nullableString,
    channel: Str,
    recipient: z.record(Str, z.unknown()),
    text: Str,
    files: StrArray,
    meta: z.record(Str, z.unknown()),
    idempotencyKey: Str,
    status: z.enum(OUTBOX_STATUSES),
    attempts: Int,
    leaseExpiresAt: NullableTimestamp,
    availableAt: TimestampSchema,
    expiresAt: TimestampSchema,
    lastError: nullableString,
    createdAt: TimestampSchema,
    deliveredAt: NullableTimestamp,
  })
  .meta({ id: 'OutboxEntry' });
export type OutboxView = z.infer<typeof OutboxSchema>;
