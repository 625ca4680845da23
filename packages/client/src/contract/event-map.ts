/**
 * The event contract: one payload schema per event type (the event map) and the event envelope
 * (`EventSchema`, a discriminated union on `type`, as the OpenAPI document and the SSE stream
 * carry it).
 *
 * Producers in core and teams are typed by this map (`EventLog.append/emit`), so a producer that
 * sends a wrong or missing field fails the typecheck. Payloads are plain (non-strict) objects:
 * a newer daemon may add fields without breaking older clients.
 */
import * as z from 'zod';
import { TimestampSchema } from './common.ts';
import { CONVERSATION_STATUSES, FAILURE_REASONS } from './records.ts';
import { EVENT_TYPES, type EventType } from './event-types.ts';

export { EVENT_TYPES, type EventType };

const str = z.string();
const nullableStr = z.string().nullable();
const int = z.number().int();

/** Which attempt of a message failed, out of how many (rate-limit waits are not attempts). */
const attemptCounts = { attempts: int, maxAttempts: int, rateLimitWaits: int, maxRateLimitWaits: int };

/** Token and cost totals of a run (all its turns), as of the event. */
const runTotals = { inputTokens: int, outputTokens: int, costUsd: z.number() };

/** A run was created or started: why it exists and which queued messages it answers. */
const RunCreatedSchema = z.object({
  cause: str,
  messageIds: z.array(str),
  /** Set on a run created already rejected (e.g. a refused sub-agent). */
  error: str.optional(),
  /** A teammate handoff: the agent that mentioned this one and the hop count. */
  from: str.optional(),
  hop: int.optional(),
});

/** A run ended: its totals, and why when it did not complete. */
const RunEndedSchema = z.object({
  cause: str,
  ...runTotals,
  error: str.optional(),
  /** cancelled: what cancelled it (`user`, `budget`, `cancelled`). */
  reason: str.optional(),
  /** completed: the run was answered together with this one. */
  mergedInto: str.optional(),
  /** rejected: the guard rule that refused it. */
  rule: str.optional(),
});

/** A run that was created rejected (`createRunWithEvent`) or refused before it ran (`finishRun`). */
const RunRejectedSchema = z.object({
  cause: str,
  error: str.optional(),
  messageIds: z.array(str).optional(),
  inputTokens: int.optional(),
  outputTokens: int.optional(),
  costUsd: z.number().optional(),
  rule: str.optional(),
});

const progressTurn = { turn: int };
/** Streamed progress of an invocation (what the agent CLI or model reports), with the turn number. */
const RunProgressSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: str, ...progressTurn }),
  z.object({ type: z.literal('tool'), name: str, input: z.unknown().optional(), ...progressTurn }),
  z.object({ type: z.literal('tool_result'), name: str.optional(), ok: z.boolean(), ...progressTurn }),
  z.object({ type: z.literal('status'), message: str, ...progressTurn }),
]);

/** A guard or budget refused something: the rule, the limit and the value that crossed it. */
const LimitSchema = z.object({
  rule: str,
  message: str,
  limit: z.number().optional(),
  actual: z.number().optional(),
  /** What was done: `stop` (the conversation), `not-invoked` (the run), `stop-subagents`. */
  action: z.enum(['stop', 'not-invoked', 'stop-subagents']).optional(),
  /** A refused handoff: from, to, and the delivery kind. */
  from: str.optional(),
  to: str.optional(),
  kind: str.optional(),
  /** A refused send_file: the files not sent, and why. */
  files: z.array(z.object({ file: str, reason: str })).optional(),
  /** stop-subagents: the sub-agent runs stopped. */
  runs: z.array(str).optional(),
});

const SubagentEndedSchema = z.object({ name: str, depth: int, parentRunId: nullableStr, status: str, ...runTotals, error: str.optional() });

/** Every event type and the schema of its `data`. */
export const EVENT_PAYLOADS = {
  'message.received': z.object({ messageId: str, channel: str, sender: str, teamId: nullableStr, kind: str, preview: str }),
  'message.enqueued': z.object({ messageId: str, kind: str, channel: str, teamId: nullableStr }),
  'run.queued': RunCreatedSchema,
  'run.started': RunCreatedSchema,
  'run.progress': RunProgressSchema,
  'run.completed': RunEndedSchema,
  'run.failed': RunEndedSchema,
  'run.cancelled': RunEndedSchema,
  'run.rejected': RunRejectedSchema,
  // `requestId`: the answer to a `run.steer_requested` relayed from another node.
  'run.steered': z.object({ command: str, accepted: z.boolean(), reason: str.optional(), text: str.optional(), requestId: str.optional() }),
  // Several nodes: a steering command for a run another node runs, relayed through the event log;
  // the node running it answers with `run.steered` carrying the same requestId (before expiresAt).
  'run.steer_requested': z.object({ command: str, text: str.optional(), requestId: str, expiresAt: int, fromNode: str }),
  'agent.mention': z.object({ teamId: nullableStr, fromAgent: str, toAgent: str, hop: int, messageId: str, childRunId: str }),
  'chatroom.message': z.object({ teamId: str, from: str, postId: int, text: str }),
  'subagent.started': z.object({ name: str, depth: int, maxDepth: int, parentRunId: str, session: nullableStr }),
  'subagent.completed': SubagentEndedSchema,
  'subagent.failed': SubagentEndedSchema,
  'subagent.rejected': z.object({
    name: str,
    code: str,
    message: str,
    depth: int,
    maxDepth: int,
    parentRunId: str,
    rule: str.optional(),
    limit: z.number().optional(),
    actual: z.number().optional(),
  }),
  'subagent.reused': z.object({ name: str, session: str, turn: int, parentRunId: str }),
  'guard.rejected': LimitSchema,
  'budget.warning': z.object({ rule: str, used: z.number(), limit: z.number(), fraction: z.number() }),
  'budget.exceeded': LimitSchema,
  'conversation.started': z.object({
    channel: str,
    sender: str,
    teamId: nullableStr,
    senderId: str.optional(),
    replyMode: z.enum(['each', 'aggregate']).optional(),
    kind: str.optional(),
  }),
  'conversation.completed': z.object({
    status: z.enum(CONVERSATION_STATUSES),
    replyMode: z.enum(['each', 'aggregate']),
    hops: int,
    messages: int,
    spawns: int,
    ...runTotals,
    /** Why it failed, was cancelled or stopped (absent when it completed). */
    reason: str.optional(),
  }),
  'outbox.enqueued': z.object({ outboxId: str, channel: str, status: str, text: str }),
  'outbox.delivered': z.object({ outboxId: str, channel: str, stored: z.boolean().optional() }),
  'outbox.failed': z.object({ outboxId: str, channel: str, error: str }),
  'outbox.expired': z.object({ outboxId: str, channel: str, createdAt: TimestampSchema }),
  'queue.retry': z.object({ messageId: str, error: str, ...attemptCounts, retryInMs: z.number(), kind: str, failure: z.enum(FAILURE_REASONS) }),
  'queue.dead': z.object({ messageId: str, reason: str, ...attemptCounts, kind: str, failure: z.enum(FAILURE_REASONS) }),
  'channel.status': z.object({
    channel: str,
    state: str,
    previous: str,
    pid: int.nullable().optional(),
    crashed: z.boolean().optional(),
    exitCode: int.nullable().optional(),
    signal: nullableStr.optional(),
    error: str.optional(),
    restarts: int.optional(),
    nextRestartAt: TimestampSchema.optional(),
  }),
  'pairing.requested': z.object({ channel: str, senderId: str, sender: str, code: str }),
  'pairing.approved': z.object({ channel: str, senderId: str, sender: str }),
  'schedule.fired': z.object({
    scheduleId: str,
    label: str,
    teamId: nullableStr,
    firedAt: TimestampSchema,
    nextRunAt: TimestampSchema.nullable(),
    messageId: str.optional(),
    dueAt: TimestampSchema.optional(),
    missed: z.boolean().optional(),
  }),
  'heartbeat.sent': z.object({ messageId: str }),
  'settings.changed': z.object({ source: z.enum(['file', 'api', 'database']) }),
  /** Free-form notices; the known kinds are declared, extra keys pass through. */
  'system.notice': z.looseObject({
    level: z.enum(['info', 'warn', 'error']).optional(),
    /** `plugin` (a plugin hook failed: `plugin`, `hook`), `conversation deadlines`, … */
    where: str.optional(),
    message: str.optional(),
    error: str.optional(),
    plugin: str.optional(),
    hook: str.optional(),
    /**
     * The human's decision on a conversation a guard held: `continue` raised its limits
     * (`limitScale`) and `delivered` held messages; `stop` ended it, `cancelled` runs with it.
     */
    action: str.optional(),
    limitScale: z.number().optional(),
    delivered: int.optional(),
    cancelled: int.optional(),
  }),
} as const satisfies { [T in EventType]: z.ZodType };

export type EventPayloadSchemas = typeof EVENT_PAYLOADS;

/** What a producer passes as `data` for an event type. */
export type EventPayloadInput<T extends EventType> = z.input<EventPayloadSchemas[T]>;
/** What a consumer reads as `data` for an event type. */
export type EventPayload<T extends EventType> = z.output<EventPayloadSchemas[T]>;

/** Where the event sits in a conversation's run tree; present wherever it applies. */
const envelope = {
  id: int,
  ts: TimestampSchema,
  conversationId: nullableStr,
  runId: nullableStr,
  parentRunId: nullableStr,
  depth: int.nullable(),
  agentId: nullableStr,
};

/** One event of the log / SSE stream, discriminated on `type`; `id` is the SSE event id. */
export const EventSchema = z
  .discriminatedUnion('type', EVENT_TYPES.map((type) => z.object({ ...envelope, type: z.literal(type), data: EVENT_PAYLOADS[type] })) as unknown as [EventVariantSchema, ...EventVariantSchema[]])
  .meta({ id: 'Event' });
type EventVariantSchema = z.ZodObject<typeof envelope & { type: z.ZodLiteral<EventType>; data: z.ZodType }>;

/** A stored event as it is read: one member per type, so `switch (event.type)` narrows `data`. */
export type TinyEvent = { [T in EventType]: EventEnvelope & { type: T; data: EventPayload<T> } }[EventType];
/** The event of one type. */
export type EventOf<T extends EventType> = Extract<TinyEvent, { type: T }>;

/** Same as TinyEvent (the name the API client has used). */
export type EventView = TinyEvent;

export interface EventEnvelope {
  id: number;
  ts: number;
  conversationId: string | null;
  runId: string | null;
  parentRunId: string | null;
  depth: number | null;
  agentId: string | null;
}

/** The tree fields a producer may set (all optional, null when not applicable). */
export interface EventTreeInput {
  conversationId?: string | null;
  runId?: string | null;
  parentRunId?: string | null;
  depth?: number | null;
  agentId?: string | null;
}

/** What a producer hands to the event log: the type decides the shape of `data`. */
export type EventInput = { [T in EventType]: EventTreeInput & { type: T; data: EventPayloadInput<T> } }[EventType];
