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
import { Bool, Int, NullableStr, NullableTimestamp, Num, OptionalBool, OptionalInt, OptionalNum, OptionalStr, Str, StrArray, TimestampSchema } from './common.ts';
import { CONVERSATION_STATUSES, FAILURE_REASONS } from './records.ts';
import { EVENT_TYPES, type EventType } from './event-types.ts';
import { ApprovalSchema } from './approvals.ts';
import { MemoryRecordSchema } from './memory.ts';
import { QUOTA_STATUSES } from './quotas.ts';
import { MERGE_METHODS, MERGED_BY, storedMergedBy } from './git-tasks.ts';
import { WORKFLOW_RUN_STATUSES, WORKFLOW_STEP_KINDS, WORKFLOW_STEP_STATUSES } from './workflows.ts';

export { EVENT_TYPES, type EventType };

/** Which attempt of a message failed, out of how many (rate-limit waits are not attempts). */
const attemptCounts = { attempts: Int, maxAttempts: Int, rateLimitWaits: Int, maxRateLimitWaits: Int };

/** Token and cost totals of a run (all its turns), as of the event. */
const runTotals = { inputTokens: Int, outputTokens: Int, costUsd: Num };

/** A run was created or started: why it exists and which queued messages it answers. */
const RunCreatedSchema = z.object({
  cause: Str,
  messageIds: StrArray,
  /** Set on a run created already rejected (e.g. a refused sub-agent). */
  error: OptionalStr,
  /** A teammate handoff: the agent that mentioned this one and the hop count. */
  from: OptionalStr,
  hop: OptionalInt,
});

/** A run ended: its totals, and why when it did not complete. */
const RunEndedSchema = z.object({
  cause: Str,
  ...runTotals,
  error: OptionalStr,
  /** cancelled: what cancelled it (`user`, `budget`, `cancelled`). */
  reason: OptionalStr,
  /** completed: the run was answered together with this one. */
  mergedInto: OptionalStr,
  /** rejected: the limit that refused it (`max_hops`, `conversation_usd`…; stored before as `rule`). */
  limitName: OptionalStr,
});

/** A run that was created rejected (`createRunWithEvent`) or refused before it ran (`finishRun`). */
const RunRejectedSchema = z.object({
  cause: Str,
  error: OptionalStr,
  messageIds: StrArray.optional(),
  inputTokens: OptionalInt,
  outputTokens: OptionalInt,
  costUsd: OptionalNum,
  /** The limit that refused it (stored before as `rule`). */
  limitName: OptionalStr,
});

const progressTurn = { turn: Int };
/** What a tool call does, as the runtime reports it (for icons, filters and spans). */
export const TOOL_ACTIVITY_KINDS = ['command', 'file_edit', 'file_read', 'search', 'web', 'mcp', 'agent', 'other'] as const;
/**
 * Streamed progress of an invocation (what the agent CLI or model reports), with the turn number.
 * `tool` and `tool_result` carry the runtime's call `id` when it has one (a result names its call);
 * `plan` is the agent's current plan (Codex plan updates, Claude Code's todo list, ACP plans);
 * `usage` is one model call's tokens as the runtime streamed it (the run's totals stay on the run).
 */
const RunProgressSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: Str, ...progressTurn }),
  z.object({
    type: z.literal('tool'),
    name: Str,
    input: z.unknown().optional(),
    id: OptionalStr,
    kind: z.enum(TOOL_ACTIVITY_KINDS).optional(),
    /** One line for people: the command run, the file edited, the query searched. */
    title: OptionalStr,
    ...progressTurn,
  }),
  z.object({
    type: z.literal('tool_result'),
    name: OptionalStr,
    ok: Bool,
    id: OptionalStr,
    /** The start of the tool's output (at most 2,000 characters). */
    output: OptionalStr,
    ...progressTurn,
  }),
  z.object({ type: z.literal('status'), message: Str, ...progressTurn }),
  z.object({
    type: z.literal('plan'),
    steps: z.array(z.object({ text: Str, status: z.enum(['pending', 'in_progress', 'completed']) })),
    ...progressTurn,
  }),
  z.object({
    type: z.literal('usage'),
    inputTokens: Int,
    outputTokens: Int,
    /** Of `inputTokens`, read from the prompt cache. */
    cacheReadTokens: OptionalInt,
    model: OptionalStr,
    ...progressTurn,
  }),
]);
/**
 * A guard or budget refused something: which limit (`limitName`: `max_hops`, `conversation_usd`…;
 * stored before as `rule`), its value and the value that crossed it.
 */
const LimitSchema = z.object({
  limitName: Str,
  message: Str,
  limit: OptionalNum,
  actual: OptionalNum,
  /** What was done: `stop` (the conversation), `not-invoked` (the run), `stop-subagents`. */
  action: z.enum(['stop', 'not-invoked', 'stop-subagents']).optional(),
  /** A refused handoff: from, to, and the delivery kind. */
  from: OptionalStr,
  to: OptionalStr,
  kind: OptionalStr,
  /** A refused send_file: the files not sent, and why. */
  files: z.array(z.object({ file: Str, reason: Str })).optional(),
  /** stop-subagents: the sub-agent runs stopped. */
  runs: StrArray.optional(),
});

const SubagentEndedSchema = z.object({ name: Str, depth: Int, parentRunId: NullableStr, status: Str, ...runTotals, error: OptionalStr });

/** Why a tag, a handoff tool's message or a room post for one member was not delivered (`handoff.undelivered`). */
export const UNDELIVERED_CODES = ['AGENT_NOT_FOUND', 'TEAM_NOT_FOUND', 'NOT_A_MEMBER', 'CALL_NOT_ALLOWED'] as const;
export type UndeliveredCode = (typeof UNDELIVERED_CODES)[number];

/** An approval request changed (approvals.ts): the record as it is now, so a surface shows it without another read. */
const ApprovalEventSchema = z.object({ approval: ApprovalSchema });

/** Every event type and the schema of its `data`. */
export const EVENT_PAYLOADS = {
  'message.received': z.object({ messageId: Str, channel: Str, sender: Str, teamId: NullableStr, kind: Str, preview: Str }),
  'message.enqueued': z.object({ messageId: Str, kind: Str, channel: Str, teamId: NullableStr }),
  'run.queued': RunCreatedSchema,
  'run.started': RunCreatedSchema,
  'run.progress': RunProgressSchema,
  'run.completed': RunEndedSchema,
  'run.failed': RunEndedSchema,
  'run.cancelled': RunEndedSchema,
  'run.rejected': RunRejectedSchema,
  // `requestId`: the answer to a `run.steer_requested` relayed from another node. `by`: who sent
  // the command (TinyOffice, the CLI, the TUI, the API…); `effect`: what an accepted one does for
  // this run's provider (e.g. a CLI finishes its turn first), said before it happens.
  'run.steered': z.object({ command: Str, accepted: Bool, reason: OptionalStr, text: OptionalStr, requestId: OptionalStr, by: OptionalStr, effect: OptionalStr }),
  // Several nodes: a steering command for a run another node runs, relayed through the event log;
  // the node running it answers with `run.steered` carrying the same requestId (before expiresAt).
  'run.steer_requested': z.object({ command: Str, text: OptionalStr, requestId: Str, expiresAt: Int, fromNode: Str, by: OptionalStr }),
  'agent.mention': z.object({ teamId: NullableStr, fromAgent: Str, toAgent: Str, hop: Int, messageId: Str, childRunId: Str }),
  // A handoff (`mention`: a tag or the handoff tool) or a room post's delivery to one member
  // (`chatroom`) that did not happen; `toAgent` null: a post to a room that is no team. `reason`:
  // as the person is told (e.g. whose may_call refuses it).
  'handoff.undelivered': z.object({ fromAgent: Str, toAgent: NullableStr, kind: z.enum(['mention', 'chatroom']), room: NullableStr, code: z.enum(UNDELIVERED_CODES), reason: Str }),
  'chatroom.message': z.object({ teamId: Str, from: Str, postId: Int, text: Str }),
  'subagent.started': z.object({ name: Str, depth: Int, maxDepth: Int, parentRunId: Str, session: NullableStr }),
  'subagent.completed': SubagentEndedSchema,
  'subagent.failed': SubagentEndedSchema,
  'subagent.rejected': z.object({
    name: Str,
    code: Str,
    message: Str,
    depth: Int,
    maxDepth: Int,
    parentRunId: Str,
    limitName: OptionalStr,
    limit: OptionalNum,
    actual: OptionalNum,
  }),
  'subagent.reused': z.object({ name: Str, session: Str, turn: Int, parentRunId: Str }),
  'guard.rejected': LimitSchema,
  'budget.warning': z.object({ limitName: Str, used: Num, limit: Num, fraction: Num }),
  'budget.exceeded': LimitSchema,
  'conversation.started': z.object({
    channel: Str,
    sender: Str,
    teamId: NullableStr,
    senderId: OptionalStr,
    replyMode: z.enum(['each', 'aggregate']).optional(),
    kind: OptionalStr,
  }),
  'conversation.completed': z.object({
    status: z.enum(CONVERSATION_STATUSES),
    replyMode: z.enum(['each', 'aggregate']),
    hops: Int,
    messages: Int,
    spawns: Int,
    ...runTotals,
    /** Why it failed, was cancelled or stopped (absent when it completed). */
    reason: OptionalStr,
  }),
  'outbox.enqueued': z.object({ outboxId: Str, channel: Str, status: Str, text: Str }),
  'outbox.delivered': z.object({ outboxId: Str, channel: Str, stored: OptionalBool }),
  'outbox.failed': z.object({ outboxId: Str, channel: Str, error: Str }),
  'outbox.expired': z.object({ outboxId: Str, channel: Str, createdAt: TimestampSchema }),
  'queue.retry': z.object({ messageId: Str, error: Str, ...attemptCounts, retryInMs: Num, kind: Str, failure: z.enum(FAILURE_REASONS) }),
  'queue.dead': z.object({ messageId: Str, reason: Str, ...attemptCounts, kind: Str, failure: z.enum(FAILURE_REASONS) }),
  'channel.status': z.object({
    channel: Str,
    state: Str,
    previous: Str,
    pid: Int.nullable().optional(),
    crashed: OptionalBool,
    exitCode: Int.nullable().optional(),
    signal: NullableStr.optional(),
    error: OptionalStr,
    restarts: OptionalInt,
    /** While `reconnecting`: which attempt (docs/channels.md#channel-states). */
    attempt: OptionalInt,
    nextRestartAt: TimestampSchema.optional(),
  }),
  'pairing.requested': z.object({ channel: Str, senderId: Str, sender: Str, code: Str }),
  'pairing.approved': z.object({ channel: Str, senderId: Str, sender: Str }),
  'schedule.fired': z.object({
    scheduleId: Str,
    label: Str,
    teamId: NullableStr,
    firedAt: TimestampSchema,
    nextRunAt: NullableTimestamp,
    messageId: OptionalStr,
    dueAt: TimestampSchema.optional(),
    missed: OptionalBool,
  }),
  'heartbeat.sent': z.object({ messageId: Str }),
  'settings.changed': z.object({ source: z.enum(['file', 'api', 'database']) }),
  /** Free-form notices; the known kinds are declared, extra keys pass through. */
  'system.notice': z.looseObject({
    level: z.enum(['info', 'warn', 'error']).optional(),
    /** `plugin` (a plugin hook failed: `plugin`, `hook`), `conversation deadlines`, … */
    where: OptionalStr,
    message: OptionalStr,
    error: OptionalStr,
    plugin: OptionalStr,
    hook: OptionalStr,
    /**
     * The human's decision on a conversation a guard held: `continue` raised its limits
     * (`limitScale`) and `delivered` held messages; `stop` ended it, `cancelled` runs with it.
     */
    action: OptionalStr,
    limitScale: OptionalNum,
    delivered: OptionalInt,
    cancelled: OptionalInt,
  }),
  /**
   * A runtime's rate limit or quota (docs/quotas.md): `exhausted`
   * holds every agent on the account (`agents`) until `resetsAt`; `released` says the hold ended;
   * `warning` is the runtime saying the account is close to its limit.
   */
  'runtime.quota': z.object({
    account: Str,
    label: Str,
    runtime: Str,
    status: z.enum(QUOTA_STATUSES),
    resetsAt: NullableTimestamp,
    limit: NullableStr,
    message: NullableStr,
    agents: z.array(Str),
  }),
  'approval.requested': ApprovalEventSchema,
  'approval.decided': ApprovalEventSchema,
  'approval.expired': ApprovalEventSchema,
  /** An agent proposed a memory entry that waits for a person (docs/memory.md): the proposal, and the accepted entry it replaces or forgets (else null). */
  'memory.proposed': z.object({ entry: MemoryRecordSchema, target: MemoryRecordSchema.nullable() }),
  /** A person decided a memory proposal (accepted or rejected): the entry as it is now. */
  'memory.decided': z.object({ entry: MemoryRecordSchema }),
  /** A repository-bound task's worktree and branch are there and its setup passed (`created`: false when an existing one was found again). */
  /**
   * A task was made, changed (title, assignee, status, …) or deleted, or the board's columns were
   * reordered (`taskIds`: the tasks that changed column), by a person, an agent or any surface:
   * a board shown elsewhere reads the tasks again.
   */
  /** A workflow run started, paused, resumed or ended (docs/workflows.md); `reason` says why it paused, failed or was cancelled. */
  'workflow.changed': z.object({ runId: Str, name: Str, status: z.enum(WORKFLOW_RUN_STATUSES), reason: OptionalStr }),
  /** A workflow step started or ended; an agent step's event carries its conversation id. */
  'workflow.step': z.object({ runId: Str, stepId: Str, kind: z.enum(WORKFLOW_STEP_KINDS), status: z.enum(WORKFLOW_STEP_STATUSES), costUsd: Num, tokens: Int, taskId: OptionalStr, error: OptionalStr }),
  'task.changed': z.object({ change: z.enum(['created', 'updated', 'deleted', 'reordered']), taskIds: z.array(Str) }),
  'task.worktree_created': z.object({
    taskId: Str,
    identifier: Str,
    projectId: Str,
    branch: Str,
    worktreePath: Str,
    headSha: Str,
    created: z.boolean(),
    /** How long the setup took when it ran in this step (absent: no setup, or it had passed before). */
    setupMs: OptionalNum,
    /** `layered` or `full` (docs/git-tasks.md, "Checkouts"). */
    checkout: z.enum(['layered', 'full']).optional(),
    /** How long the step took, from its start to the worktree ready (the setup included). */
    readyMs: OptionalNum,
  }),
  /** The worktree step failed: the task stays where it is, not sent, with the error on `task.git`. */
  'task.worktree_failed': z.object({ taskId: Str, identifier: Str, projectId: Str, code: Str, message: Str }),
  /** The agent said a repository-bound task is done: the daemon moved it to Checking and proves it (`round`: the rounds so far). */
  'task.checking': z.object({ taskId: Str, identifier: Str, projectId: Str, round: Int }),
  /** The facts were collected: `passed` (the task went to Review) or not (`missing`, one sentence each); each check's outcome. */
  'task.checked': z.object({
    taskId: Str,
    identifier: Str,
    projectId: Str,
    headSha: NullableStr,
    passed: z.boolean(),
    missing: z.array(z.string()),
    checks: z.array(z.object({ name: Str, ok: z.boolean(), exitCode: z.int().nullable(), timedOut: z.boolean(), durationMs: z.number() })),
  }),
  /** A failure went back to the task's owner as a message (`fingerprints`: the failures it carried, each sent once). */
  'task.feedback_sent': z.object({ taskId: Str, identifier: Str, projectId: Str, round: Int, fingerprints: z.array(Str), conversationId: Str, messageId: Str }),
  /** A person asked for changes: the review comments `commentIds` went to the task's owner as one message, and the task went back to In progress (`round`). */
  'task.review_sent': z.object({ taskId: Str, identifier: Str, projectId: Str, round: Int, commentIds: z.array(Int), conversationId: Str, messageId: Str }),
  /** The checks failed after `maxRounds` rounds: the task stays in Checking and a person decides. */
  'task.rounds_exhausted': z.object({ taskId: Str, identifier: Str, projectId: Str, rounds: Int, missing: z.array(z.string()), approvalId: Str.optional() }),
  /**
   * A person's answer to the task's `task_rounds` request, carried out: `more_rounds` (the new
   * `roundsLimit`; the feedback went to the owner), `take_over` (In progress, assigned to nobody)
   * or `stop` (back to Todo). The worktree is kept.
   */
  'task.rounds_answered': z.object({
    taskId: Str,
    identifier: Str,
    projectId: Str,
    approvalId: Str,
    decision: z.enum(['more_rounds', 'take_over', 'stop']),
    by: Str,
    rounds: Int,
    roundsLimit: Int.optional(),
    status: Str,
  }),
  /** The binding's auto-merge of a task in Review was refused for a new reason (not repeated while the reason stays): the task keeps it in `git.autoMergeRefused`. */
  'task.auto_merge_refused': z.object({ taskId: Str, identifier: Str, projectId: Str, code: Str, message: Str, retryAt: TimestampSchema }),
  /** A node asked the node that holds a repository or a task's worktree to run a step or a read there (`kind`); answered by `node.answered` with the same id. */
  'node.asked': z.object({ id: Str, node: Str, kind: Str, taskId: Str.optional(), args: z.record(z.string(), z.unknown()) }),
  /** The asked node's answer: `value` (the step's result) or `error`. */
  'node.answered': z.object({ id: Str, node: Str, ok: z.boolean(), value: z.unknown().optional(), error: z.object({ code: Str, message: Str, hint: Str.optional() }).optional() }),
  /** The task's branch is in the base (ancestry verified): `commit` is the base's commit after it, `created` false when the base held it already. */
  'task.merged': z.object({
    taskId: Str,
    identifier: Str,
    projectId: Str,
    method: z.enum(MERGE_METHODS),
    branch: Str,
    baseRef: Str,
    tip: Str,
    commit: Str,
    created: z.boolean(),
    /** Who merged it (absent on events of before: a person). */
    by: z.enum(MERGED_BY).optional(),
  }),
  /** After a confirmed merge the task's worktree was removed (`removed`: false when it was gone already) and its local branch deleted. */
  'task.worktree_removed': z.object({ taskId: Str, identifier: Str, projectId: Str, worktreePath: Str, branch: Str, removed: z.boolean(), branchDeleted: z.boolean() }),
  /** The retention sweep removed worktrees or branches of a project (docs/git-tasks.md, "Retention"): each with why; `kept` counts what it kept (the project's retention report names them). */
  'project.retention_swept': z.object({
    projectId: Str,
    removed: z.array(z.object({ kind: Str, path: NullableStr, branch: NullableStr, identifier: NullableStr, reason: Str, bytes: z.number().nullable() })),
    kept: Int,
    bytesAfter: z.number(),
  }),
  /** The task's Checking passed on a project with a forge: its pull request was opened (`created`), or found open. */
  'task.pull_request_opened': z.object({ taskId: Str, identifier: Str, projectId: Str, number: Int, url: Str, headRef: Str, baseRef: Str, created: z.boolean() }),
} as const satisfies { [T in EventType]: z.ZodType };

export type EventPayloadSchemas = typeof EVENT_PAYLOADS;

/** What a producer passes as `data` for an event type. */
export type EventPayloadInput<T extends EventType> = z.input<EventPayloadSchemas[T]>;
/** What a consumer reads as `data` for an event type. */
export type EventPayload<T extends EventType> = z.output<EventPayloadSchemas[T]>;

/** Where the event sits in a conversation's run tree; present wherever it applies. */
const envelope = {
  id: Int,
  ts: TimestampSchema,
  conversationId: NullableStr,
  runId: NullableStr,
  parentRunId: NullableStr,
  depth: Int.nullable(),
  agentId: NullableStr,
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

/** The event types whose data names the limit a guard or budget enforced (`limitName`, stored before as `rule`). */
const LIMIT_NAMED: ReadonlySet<string> = new Set<EventType>([
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.rejected',
  'subagent.rejected',
  'guard.rejected',
  'budget.warning',
  'budget.exceeded',
]);

/**
 * A stored event's data in today's names (both event logs read every row through it): earlier
 * versions wrote the limit a guard or budget enforced as `rule` (now `limitName`) and an
 * auto-merge's `task.merged` as `by: 'rule'` (now `'auto_merge'`). The one reader of those spellings.
 */
export function storedEventData(type: string, data: unknown): unknown {
  if (data === null || typeof data !== 'object') return data;
  const stored = data as Record<string, unknown>;
  if (type === 'task.merged' && stored['by'] !== undefined) return { ...stored, by: storedMergedBy(stored['by']) };
  if (!LIMIT_NAMED.has(type) || !Object.hasOwn(stored, 'rule')) return data;
  const { rule, ...rest } = stored;
  return rest['limitName'] === undefined && rule !== undefined ? { ...rest, limitName: rule } : rest;
}
