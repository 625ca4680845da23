/**
 * The whole database schema (drizzle). Migrations in ../../drizzle are generated from this file
 * by `pnpm --filter @tinyagi/core db:generate` and applied automatically when a database opens.
 * Times are integer milliseconds since the epoch. JSON columns hold text.
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Inbound work for agents. `seq` is the FIFO order; `id` is the public, sortable id. */
export const messages = sqliteTable(
  'messages',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    id: text('id').notNull().unique(),
    kind: text('kind').notNull(),
    agentId: text('agent_id').notNull(),
    teamId: text('team_id'),
    conversationId: text('conversation_id').notNull(),
    parentMessageId: text('parent_message_id'),
    parentRunId: text('parent_run_id'),
    runId: text('run_id'),
    depth: integer('depth').notNull().default(0),
    channel: text('channel').notNull(),
    sender: text('sender').notNull().default(''),
    senderId: text('sender_id').notNull().default(''),
    threadKey: text('thread_key'),
    content: text('content').notNull(),
    attachments: text('attachments').notNull().default('[]'),
    meta: text('meta').notNull().default('{}'),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    rateLimitWaits: integer('rate_limit_waits').notNull().default(0),
    availableAt: integer('available_at').notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    cancelRequested: integer('cancel_requested').notNull().default(0),
    /** Set when a collected batch failed or crashed: claim this message alone from now on. */
    solo: integer('solo').notNull().default(0),
    lastError: text('last_error'),
    /** How the last attempt failed, classified (FailureReason: rate_limited, timed_out, crashed, …). */
    lastFailure: text('last_failure'),
    idempotencyKey: text('idempotency_key').unique(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    finishedAt: integer('finished_at'),
  },
  // The hot indexes are partial: they hold only live rows (pending or processing), so they stay
  // small however many finished messages the retention window keeps, and a status change
  // touches fewer index entries. Queries must repeat the literal `status = '…'` term.
  (t) => [
    index('messages_pending_seq').on(t.seq).where(sql`status = 'pending'`),
    index('messages_pending_agent').on(t.agentId, t.seq).where(sql`status = 'pending'`),
    index('messages_pending_available').on(t.availableAt).where(sql`status = 'pending'`),
    index('messages_processing_agent').on(t.agentId).where(sql`status = 'processing'`),
    index('messages_processing_lease').on(t.leaseExpiresAt).where(sql`status = 'processing'`),
    index('messages_conversation').on(t.conversationId),
    index('messages_finished').on(t.status, t.finishedAt),
  ],
);

/** Human-facing replies, one row per reply. */
export const outbox = sqliteTable(
  'outbox',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    id: text('id').notNull().unique(),
    messageId: text('message_id'),
    runId: text('run_id'),
    conversationId: text('conversation_id'),
    agentId: text('agent_id'),
    channel: text('channel').notNull(),
    recipient: text('recipient').notNull().default('{}'),
    text: text('text').notNull(),
    files: text('files').notNull().default('[]'),
    meta: text('meta').notNull().default('{}'),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    availableAt: integer('available_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    deliveredAt: integer('delivered_at'),
  },
  (t) => [index('outbox_channel_status').on(t.channel, t.status, t.seq), index('outbox_conversation').on(t.conversationId), index('outbox_status_expires').on(t.status, t.expiresAt)],
);

/** One conversation per human request: the root of a run tree. */
export const conversations = sqliteTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id'),
    rootAgentId: text('root_agent_id').notNull(),
    channel: text('channel').notNull(),
    sender: text('sender').notNull().default(''),
    senderId: text('sender_id').notNull().default(''),
    threadKey: text('thread_key'),
    title: text('title').notNull().default(''),
    status: text('status').notNull().default('active'),
    replyMode: text('reply_mode').notNull().default('each'),
    hops: integer('hops').notNull().default(0),
    messageCount: integer('message_count').notNull().default(0),
    spawnCount: integer('spawn_count').notNull().default(0),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    costUsd: real('cost_usd').notNull().default(0),
    limitScale: real('limit_scale').notNull().default(1),
    softWarned: integer('soft_warned').notNull().default(0),
    stopReason: text('stop_reason'),
    /** The conversation's completion effects ran (re-opened to 0 when a new run starts in it). */
    finished: integer('finished').notNull().default(0),
    /** A stop or a soft budget warning waits for the person's decision. */
    awaitingDecision: integer('awaiting_decision').notNull().default(0),
    /** Teammate deliveries held back until the person decides (JSON array of HeldDelivery). */
    held: text('held').notNull().default('[]'),
    /** Whether the first message named the agent or its team. */
    addressed: text('addressed').notNull().default('agent'),
    meta: text('meta').notNull().default('{}'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    completedAt: integer('completed_at'),
  },
  (t) => [index('conversations_status').on(t.status, t.createdAt)],
);

/** Every agent invocation (including refused ones) is a run. */
export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id').notNull(),
    parentRunId: text('parent_run_id'),
    depth: integer('depth').notNull().default(0),
    maxDepth: integer('max_depth').notNull().default(5),
    agentId: text('agent_id').notNull(),
    teamId: text('team_id'),
    channel: text('channel').notNull().default(''),
    /** The agent's provider when the run was created ('' for runs from before it was recorded). */
    provider: text('provider').notNull().default(''),
    /** The agent's model when the run was created ('' for its runtime's default, and for runs from before it was recorded): a forecast prices a step from runs of the same provider and model. */
    model: text('model').notNull().default(''),
    cause: text('cause').notNull(),
    status: text('status').notNull(),
    messageIds: text('message_ids').notNull().default('[]'),
    input: text('input'),
    output: text('output'),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    costUsd: real('cost_usd').notNull().default(0),
    error: text('error'),
    /**
     * What the model proxy metered of the run's model calls, from the provider's own responses
     * (docs/sandbox.md#the-model-proxy), beside what the CLI reported above; 0 calls: not metered.
     * Input counts cache reads and writes, which are also given on their own.
     */
    meteredCalls: integer('metered_calls').notNull().default(0),
    meteredInputTokens: integer('metered_input_tokens').notNull().default(0),
    meteredOutputTokens: integer('metered_output_tokens').notNull().default(0),
    meteredCacheReadTokens: integer('metered_cache_read_tokens').notNull().default(0),
    meteredCacheWriteTokens: integer('metered_cache_write_tokens').notNull().default(0),
    /** The metered calls at the models' list prices (sandbox/model-prices.ts), beside `cost_usd`, the CLI's own figure. */
    meteredCostUsd: real('metered_cost_usd').notNull().default(0),
    /** The name of the node that ran it (several nodes on PostgreSQL); null with one process, or before it started. */
    node: text('node'),
    createdAt: integer('created_at').notNull(),
    startedAt: integer('started_at'),
    endedAt: integer('ended_at'),
  },
  (t) => [
    index('runs_conversation').on(t.conversationId),
    index('runs_parent').on(t.parentRunId),
    index('runs_status').on(t.status),
    index('runs_agent_created').on(t.agentId, t.createdAt),
    index('runs_ended').on(t.endedAt),
    index('runs_provider_model').on(t.provider, t.model, t.createdAt),
    // Usage (series, top conversations, spend) reads only these columns over a created_at range:
    // covering, it never visits the table rows (docs/benchmarks.md B11). Replaces runs_created.
    index('runs_usage_cover').on(t.createdAt, t.agentId, t.teamId, t.provider, t.channel, t.conversationId, t.inputTokens, t.outputTokens, t.costUsd),
  ],
);

/** Append-only event log; `id` is the SSE event id. */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ts: integer('ts').notNull(),
    type: text('type').notNull(),
    conversationId: text('conversation_id'),
    runId: text('run_id'),
    parentRunId: text('parent_run_id'),
    depth: integer('depth'),
    agentId: text('agent_id'),
    data: text('data').notNull().default('{}'),
  },
  (t) => [index('events_conversation').on(t.conversationId, t.id), index('events_ts').on(t.ts)],
);

/** CLI session ids per (agent, session key) for claude/codex/opencode resume. */
export const agentSessions = sqliteTable(
  'agent_sessions',
  {
    agentId: text('agent_id').notNull(),
    sessionKey: text('session_key').notNull(),
    provider: text('provider').notNull(),
    sessionId: text('session_id').notNull(),
    transcript: text('transcript').notNull().default('[]'),
    turns: integer('turns').notNull().default(0),
    /** Hash of the system prompt the session last received in-band (codex threads). */
    instructionsHash: text('instructions_hash').notNull().default(''),
    /** The node whose CLI holds the session ('' with one process): another node starts a new one. */
    node: text('node').notNull().default(''),
    /** What the agent CLI's runtime keeps about its session between turns (JSON, '' when nothing): resume point, usage totals. */
    runtimeState: text('runtime_state').notNull().default(''),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.sessionKey] })],
);

/**
 * Operator steering of open runs (pause, injected messages, redirect), so a daemon restart
 * keeps it: `applied` holds input already handed to an invocation that has not finished, which
 * a retry of the run must see again. The row goes when the run ends.
 */
export const runSteering = sqliteTable('run_steering', {
  runId: text('run_id').primaryKey(),
  paused: integer('paused').notNull().default(0),
  injected: text('injected').notNull().default('[]'),
  redirect: text('redirect'),
  applied: text('applied').notNull().default('[]'),
  appliedRedirect: text('applied_redirect'),
  updatedAt: integer('updated_at').notNull(),
});

/** Per-agent chat history (what TinyOffice shows), pruned by retention. */
export const agentMessages = sqliteTable(
  'agent_messages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    agentId: text('agent_id').notNull(),
    role: text('role').notNull(),
    channel: text('channel').notNull(),
    sender: text('sender').notNull().default(''),
    messageId: text('message_id'),
    runId: text('run_id'),
    conversationId: text('conversation_id'),
    content: text('content').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('agent_messages_agent').on(t.agentId, t.id)],
);

export const chatroomMessages = sqliteTable(
  'chatroom_messages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    teamId: text('team_id').notNull(),
    fromAgent: text('from_agent').notNull(),
    conversationId: text('conversation_id'),
    content: text('content').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('chatroom_team').on(t.teamId, t.id)],
);

/** Sticky default target per (channel, sender); kept here, not in settings.json, to avoid write races. */
export const senderDefaults = sqliteTable(
  'sender_defaults',
  {
    channel: text('channel').notNull(),
    senderId: text('sender_id').notNull(),
    target: text('target').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.senderId] })],
);

export const pairings = sqliteTable(
  'pairings',
  {
    channel: text('channel').notNull(),
    senderId: text('sender_id').notNull(),
    sender: text('sender').notNull().default(''),
    code: text('code').notNull(),
    status: text('status').notNull(),
    createdAt: integer('created_at').notNull(),
    approvedAt: integer('approved_at'),
    lastSeenAt: integer('last_seen_at'),
  },
  (t) => [primaryKey({ columns: [t.channel, t.senderId] }), uniqueIndex('pairings_code').on(t.code)],
);

export const schedules = sqliteTable('schedules', {
  id: text('id').primaryKey(),
  label: text('label').notNull(),
  agentId: text('agent_id'),
  teamId: text('team_id'),
  message: text('message').notNull(),
  cron: text('cron'),
  timezone: text('timezone').notNull().default('UTC'),
  runAt: integer('run_at'),
  enabled: integer('enabled').notNull().default(1),
  missedPolicy: text('missed_policy').notNull().default('run-once'),
  channel: text('channel').notNull().default('schedule'),
  senderId: text('sender_id').notNull().default(''),
  lastFiredAt: integer('last_fired_at'),
  nextRunAt: integer('next_run_at'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const projects = sqliteTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull().unique(),
  description: text('description').notNull().default(''),
  nextNumber: integer('next_number').notNull().default(1),
  /** Set when archived (hidden from the active list, tasks kept); null while active. */
  archivedAt: integer('archived_at'),
  /** The repository binding (`ProjectRepoSchema`, parsed) as JSON, or null (docs/git-tasks.md). */
  repo: text('repo'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const tasks = sqliteTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id'),
    identifier: text('identifier'),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: text('status').notNull().default('backlog'),
    position: real('position').notNull().default(0),
    assigneeAgent: text('assignee_agent'),
    assigneeTeam: text('assignee_team'),
    conversationId: text('conversation_id'),
    /** The task's worktree (`TaskGitSchema`) as JSON, or null (docs/git-tasks.md). */
    git: text('git'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('tasks_status_position').on(t.status, t.position)],
);

export const taskComments = sqliteTable(
  'task_comments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    taskId: text('task_id').notNull(),
    author: text('author').notNull(),
    content: text('content').notNull(),
    /** A review comment's place in the task's diff (docs/git-tasks.md, "Review comments"); all four null for a plain comment. */
    anchorPath: text('anchor_path'),
    anchorLine: integer('anchor_line'),
    /** 'new' (the branch's line) or 'old' (the base's). */
    anchorSide: text('anchor_side'),
    /** The branch's commit the comment was written against. */
    anchorCommitSha: text('anchor_commit_sha'),
    /** The round in which the comment went to the task's owner (request changes), or null. */
    sentRound: integer('sent_round'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('task_comments_task').on(t.taskId, t.id)],
);

/**
 * Accounts a runtime reported exhausted (quotas/): every agent whose target uses the account is
 * held (its messages not claimed) until `resets_at`. `account` is the runtime and a hash of the
 * credentials, never the secret itself.
 */
export const quotaHolds = sqliteTable('quota_holds', {
  account: text('account').primaryKey(),
  runtime: text('runtime').notNull(),
  label: text('label').notNull(),
  status: text('status').notNull(),
  resetsAt: integer('resets_at').notNull(),
  limitName: text('limit_name'),
  message: text('message'),
  reportedBy: text('reported_by'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Approval requests (approvals/): what an agent asked to do, for which run and session, when it
 * expires and how it was answered. `status` moves from `pending` once (the first answer wins).
 */
export const approvals = sqliteTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    status: text('status').notNull(),
    agentId: text('agent_id').notNull(),
    /** Null for a run-less request (`task_rounds`: a task's, not a run's; `workflow_budget`: a workflow run's). */
    runId: text('run_id'),
    conversationId: text('conversation_id'),
    sessionKey: text('session_key'),
    tool: text('tool').notNull(),
    input: text('input').notNull(),
    summary: text('summary').notNull(),
    requestedAt: integer('requested_at').notNull(),
    expiresAt: integer('expires_at'),
    decidedAt: integer('decided_at'),
    decidedBy: text('decided_by'),
    decision: text('decision'),
    reason: text('reason'),
    /** `permission`, `question`, `egress`, `task_rounds` or `workflow_budget` (APPROVAL_KINDS). */
    kind: text('kind').notNull().default('permission'),
    /** A question's answer, as the agent receives it. */
    answer: text('answer'),
    /** The task a `task_rounds` request is about (null for the others). */
    taskId: text('task_id'),
    /** Set when a person answered it together with others in one request (the same id on each): decided as part of a group. */
    batchId: text('batch_id'),
  },
  (t) => [index('approvals_status_idx').on(t.status, t.requestedAt), index('approvals_conversation_idx').on(t.conversationId), index('approvals_task_idx').on(t.taskId)],
);

/**
 * Memory entries and proposals (memory/, docs/memory.md): one row per entry of a scope (`agent`,
 * `team`, `project` + id) with its provenance and decision. A `forget` proposal is a row of its own
 * whose `target_id` is the entry it retires. Full-text search is the FTS5 table `memory_fts`
 * (written by triggers in migration 0023, unknown to drizzle-kit: virtual tables have no schema here).
 */
export const memoryEntries = sqliteTable(
  'memory_entries',
  {
    id: text('id').primaryKey(),
    scopeKind: text('scope_kind').notNull(),
    scopeId: text('scope_id').notNull(),
    kind: text('kind').notNull(),
    action: text('action').notNull().default('remember'),
    status: text('status').notNull(),
    text: text('text').notNull(),
    name: text('name'),
    /** An imported `memory/*.md` file's `summary` (its index line), else null. */
    summary: text('summary'),
    reason: text('reason'),
    targetId: text('target_id'),
    pinned: integer('pinned').notNull().default(0),
    conversationId: text('conversation_id'),
    runId: text('run_id'),
    messageId: text('message_id'),
    proposedBy: text('proposed_by').notNull(),
    decidedBy: text('decided_by'),
    decidedAt: integer('decided_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    lastUsedAt: integer('last_used_at'),
    expiresAt: integer('expires_at'),
  },
  (t) => [
    index('memory_entries_scope_idx').on(t.scopeKind, t.scopeId, t.status),
    index('memory_entries_status_idx').on(t.status, t.createdAt),
    index('memory_entries_pinned_idx').on(t.scopeKind, t.scopeId).where(sql`pinned = 1 AND status = 'accepted'`),
  ],
);

/**
 * Memory vectors (memory/vectors.ts): one embedding per entry and model (`model`, or
 * `model@dimensions`), float32 bytes, of the entry's text as of `entry_updated_at`.
 */
export const memoryVectors = sqliteTable(
  'memory_vectors',
  {
    entryId: text('entry_id').notNull(),
    model: text('model').notNull(),
    dims: integer('dims').notNull(),
    vector: blob('vector', { mode: 'buffer' }).notNull(),
    entryUpdatedAt: integer('entry_updated_at').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.entryId, t.model] })],
);

/** What went into a run's context from memory before its turn (one row per run; memory/). */
export const memoryInjections = sqliteTable('memory_injections', {
  runId: text('run_id').primaryKey(),
  agentId: text('agent_id').notNull(),
  /** JSON array of entry ids, in the block's order. */
  entryIds: text('entry_ids').notNull(),
  tokens: integer('tokens').notNull(),
  budget: integer('budget').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Workflow runs (workflows/): a person's program and its state; `owner` drives it while `lease_until` is ahead. */
export const workflowRuns = sqliteTable(
  'workflow_runs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    file: text('file').notNull(),
    /** The registered workflow it was started as (settings' `workflows.<name>`); null for a module started by its path. */
    registered: text('registered'),
    /** `person`, or the agent whose run started it. */
    startedBy: text('started_by').notNull().default('person'),
    /** JSON `{ callers, confinedBy }` its agent and task steps are held to (an agent started it); null when a person did. */
    chain: text('chain'),
    /** The conversation of the agent run that started it (a question about the run, such as its budget's, goes there); null when a person did. */
    conversationId: text('conversation_id'),
    /** JSON. */
    input: text('input').notNull(),
    status: text('status').notNull(),
    /** JSON (null until completed). */
    result: text('result'),
    reason: text('reason'),
    budgetUsd: real('budget_usd'),
    budgetTokens: integer('budget_tokens'),
    owner: text('owner'),
    leaseUntil: integer('lease_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    endedAt: integer('ended_at'),
  },
  (t) => [index('workflow_runs_status').on(t.status, t.createdAt)],
);

/** A workflow run's journal (workflows/): one row per step id, written before the step starts, so a step is never started twice. */
export const workflowSteps = sqliteTable(
  'workflow_steps',
  {
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    /** The order the steps started in. */
    seq: integer('seq').notNull(),
    kind: text('kind').notNull(),
    agentId: text('agent_id'),
    label: text('label').notNull(),
    /** What the call was (agent, prompt, options): a replay that makes another call at this id is refused. */
    fingerprint: text('fingerprint').notNull(),
    attempt: integer('attempt').notNull().default(1),
    status: text('status').notNull(),
    conversationId: text('conversation_id'),
    /** The task a `task` step made. */
    taskId: text('task_id'),
    /** JSON (null until completed). */
    output: text('output'),
    error: text('error'),
    costUsd: real('cost_usd').notNull().default(0),
    tokens: integer('tokens').notNull().default(0),
    startedAt: integer('started_at').notNull(),
    endedAt: integer('ended_at'),
  },
  // The next step's seq is the run's max + 1: read from this index, not the run's every step.
  (t) => [primaryKey({ columns: [t.runId, t.stepId] }), index('workflow_steps_seq').on(t.runId, t.seq)],
);
