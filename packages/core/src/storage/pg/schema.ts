/**
 * The PostgreSQL schema (drizzle pg dialect), next to the SQLite one (`../schema.ts`): same table
 * and column names, PostgreSQL types (bigint ms timestamps read as numbers, booleans, jsonb).
 * Migrations: `drizzle-pg/` (drizzle-kit generate with `drizzle-pg.config.ts`), applied by
 * `migratePg` into one schema per installation (or per test).  *
 * The queue's table uses PostgreSQL types (jsonb, boolean). Every other table mirrors the SQLite
 * column types (JSON as text, flags as integer 0/1, ms timestamps and token counters as bigint
 * read as numbers, real as double precision), so the row-to-record mappers of the SQLite stores
 * serve both backends unchanged (docs/storage.md). `nodes` and `shared_settings` exist only here:
 * they are what several nodes on one database share.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, customType, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * Text compared byte by byte (`COLLATE "C"`), as SQLite's BINARY: the queue's keys, which its
 * indexes compare at every insert and lookup (drizzle-pg/0029). Under the database's collation
 * each comparison went through the locale (strcoll).
 */
const keyText = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });

export const messages = pgTable(
  'messages',
  {
    // The order of the queue; a lookup of one message is by id, its key (drizzle-pg/0023: an index
    // over seq got an entry for each of a message's three versions).
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    id: keyText('id').primaryKey(),
    kind: text('kind').notNull(),
    agentId: keyText('agent_id').notNull(),
    teamId: text('team_id'),
    conversationId: keyText('conversation_id').notNull(),
    parentMessageId: text('parent_message_id'),
    parentRunId: text('parent_run_id'),
    runId: text('run_id'),
    depth: integer('depth').notNull().default(0),
    channel: text('channel').notNull(),
    sender: text('sender').notNull().default(''),
    senderId: text('sender_id').notNull().default(''),
    threadKey: text('thread_key'),
    content: text('content').notNull(),
    attachments: jsonb('attachments').$type<string[]>().notNull().default([]),
    meta: jsonb('meta').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    rateLimitWaits: integer('rate_limit_waits').notNull().default(0),
    availableAt: bigint('available_at', { mode: 'number' }).notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: bigint('lease_expires_at', { mode: 'number' }),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    /** Set when a collected batch failed or crashed: claim this message alone from now on. */
    solo: boolean('solo').notNull().default(false),
    lastError: text('last_error'),
    lastFailure: text('last_failure'),
    idempotencyKey: text('idempotency_key'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    finishedAt: bigint('finished_at', { mode: 'number' }),
  },
  // Partial indexes over live rows, as on SQLite: queries repeat the literal `status = '…'` term.
  (t) => [
    index('messages_pending_seq').on(t.seq).where(sql`status = 'pending'`),
    index('messages_pending_agent').on(t.agentId, t.seq).where(sql`status = 'pending'`),
    // Delayed rows only: one available when written needs no wake-up (drizzle-pg/0023).
    index('messages_pending_delayed').on(t.availableAt).where(sql`status = 'pending' AND available_at > created_at`),
    // The busy check, the lease recovery and the wake time (drizzle-pg/0023).
    index('messages_processing').on(t.agentId, t.leaseExpiresAt).where(sql`status = 'processing'`),
    // Live rows only (a conversation's unfinished messages): a completed version gets no entry (drizzle-pg/0021).
    index('messages_conversation').on(t.conversationId).where(sql`status IN ('pending', 'processing')`),
    // Finished rows only (prune's range; dead letters by seq): a pending or processing version of
    // a row gets no entry here (drizzle-pg/0005).
    index('messages_finished').on(t.finishedAt).where(sql`status IN ('completed', 'cancelled')`),
    index('messages_dead').on(t.seq).where(sql`status = 'dead'`),
    // Unique over the rows that have a key only: a row without one (most) gets no entry in any of
    // its versions (drizzle-pg/0021).
    uniqueIndex('messages_idempotency_key').on(t.idempotencyKey).where(sql`idempotency_key IS NOT NULL`),
  ],
);

/** Human-facing replies, one row per reply. */
export const outbox = pgTable(
  'outbox',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
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
    leaseExpiresAt: bigint('lease_expires_at', { mode: 'number' }),
    availableAt: bigint('available_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    lastError: text('last_error'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    deliveredAt: bigint('delivered_at', { mode: 'number' }),
  },
  (t) => [index('outbox_channel_status').on(t.channel, t.status, t.seq), index('outbox_conversation').on(t.conversationId), index('outbox_status_expires').on(t.status, t.expiresAt)],
);

/** One conversation per human request: the root of a run tree. */
export const conversations = pgTable(
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
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    limitScale: doublePrecision('limit_scale').notNull().default(1),
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
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    completedAt: bigint('completed_at', { mode: 'number' }),
  },
  (t) => [index('conversations_status').on(t.status, t.createdAt)],
);

/** Every agent invocation (including refused ones) is a run. */
export const runs = pgTable(
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
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    error: text('error'),
    /**
     * What the model proxy metered of the run's model calls, from the provider's own responses
     * (docs/sandbox.md#the-model-proxy), beside what the CLI reported above; 0 calls: not metered.
     * Input counts cache reads and writes, which are also given on their own.
     */
    meteredCalls: bigint('metered_calls', { mode: 'number' }).notNull().default(0),
    meteredInputTokens: bigint('metered_input_tokens', { mode: 'number' }).notNull().default(0),
    meteredOutputTokens: bigint('metered_output_tokens', { mode: 'number' }).notNull().default(0),
    meteredCacheReadTokens: bigint('metered_cache_read_tokens', { mode: 'number' }).notNull().default(0),
    meteredCacheWriteTokens: bigint('metered_cache_write_tokens', { mode: 'number' }).notNull().default(0),
    /** The metered calls at the models' list prices (sandbox/model-prices.ts), beside `cost_usd`, the CLI's own figure. */
    meteredCostUsd: doublePrecision('metered_cost_usd').notNull().default(0),
    /** The name of the node that ran it (several nodes on PostgreSQL); null with one process, or before it started. */
    node: text('node'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    startedAt: bigint('started_at', { mode: 'number' }),
    endedAt: bigint('ended_at', { mode: 'number' }),
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
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ts: bigint('ts', { mode: 'number' }).notNull(),
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
export const agentSessions = pgTable(
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
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.sessionKey] })],
);

/**
 * Operator steering of open runs (pause, injected messages, redirect), so a daemon restart
 * keeps it: `applied` holds input already handed to an invocation that has not finished, which
 * a retry of the run must see again. The row goes when the run ends.
 */
export const runSteering = pgTable('run_steering', {
  runId: text('run_id').primaryKey(),
  paused: integer('paused').notNull().default(0),
  injected: text('injected').notNull().default('[]'),
  redirect: text('redirect'),
  applied: text('applied').notNull().default('[]'),
  appliedRedirect: text('applied_redirect'),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

/** Per-agent chat history (what TinyOffice shows), pruned by retention. */
export const agentMessages = pgTable(
  'agent_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    agentId: text('agent_id').notNull(),
    role: text('role').notNull(),
    channel: text('channel').notNull(),
    sender: text('sender').notNull().default(''),
    messageId: text('message_id'),
    runId: text('run_id'),
    conversationId: text('conversation_id'),
    content: text('content').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('agent_messages_agent').on(t.agentId, t.id)],
);

export const chatroomMessages = pgTable(
  'chatroom_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    teamId: text('team_id').notNull(),
    fromAgent: text('from_agent').notNull(),
    conversationId: text('conversation_id'),
    content: text('content').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('chatroom_team').on(t.teamId, t.id)],
);

/** Sticky default target per (channel, sender); kept here, not in settings.json, to avoid write races. */
export const senderDefaults = pgTable(
  'sender_defaults',
  {
    channel: text('channel').notNull(),
    senderId: text('sender_id').notNull(),
    target: text('target').notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.senderId] })],
);

export const pairings = pgTable(
  'pairings',
  {
    channel: text('channel').notNull(),
    senderId: text('sender_id').notNull(),
    sender: text('sender').notNull().default(''),
    code: text('code').notNull(),
    status: text('status').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    approvedAt: bigint('approved_at', { mode: 'number' }),
    lastSeenAt: bigint('last_seen_at', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.channel, t.senderId] }), uniqueIndex('pairings_code').on(t.code)],
);

export const schedules = pgTable('schedules', {
  id: text('id').primaryKey(),
  label: text('label').notNull(),
  agentId: text('agent_id'),
  teamId: text('team_id'),
  message: text('message').notNull(),
  cron: text('cron'),
  timezone: text('timezone').notNull().default('UTC'),
  runAt: bigint('run_at', { mode: 'number' }),
  enabled: integer('enabled').notNull().default(1),
  missedPolicy: text('missed_policy').notNull().default('run-once'),
  channel: text('channel').notNull().default('schedule'),
  senderId: text('sender_id').notNull().default(''),
  lastFiredAt: bigint('last_fired_at', { mode: 'number' }),
  nextRunAt: bigint('next_run_at', { mode: 'number' }),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull().unique(),
  description: text('description').notNull().default(''),
  nextNumber: integer('next_number').notNull().default(1),
  /** Set when archived (hidden from the active list, tasks kept); null while active. */
  archivedAt: bigint('archived_at', { mode: 'number' }),
  /** The repository binding as JSON text (as on SQLite), or null (docs/git-tasks.md). */
  repo: text('repo'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id'),
    identifier: text('identifier'),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: text('status').notNull().default('backlog'),
    position: doublePrecision('position').notNull().default(0),
    assigneeAgent: text('assignee_agent'),
    assigneeTeam: text('assignee_team'),
    conversationId: text('conversation_id'),
    /** The task's worktree as JSON text (as on SQLite), or null (docs/git-tasks.md). */
    git: text('git'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('tasks_status_position').on(t.status, t.position)],
);

export const taskComments = pgTable(
  'task_comments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
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
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('task_comments_task').on(t.taskId, t.id)],
);

/** The nodes (daemons and `tinyagi worker`s) on this database, with their heartbeat. */
export const nodes = pgTable('nodes', {
  id: text('id').primaryKey(),
  /** The node's name (settings' `node` of an agent refers to it); unique among live nodes. */
  name: text('name').notNull(),
  /** 'api' (serves the API, runs agents unless it is configured not to) or 'worker'. */
  role: text('role').notNull(),
  hostname: text('hostname').notNull().default(''),
  pid: integer('pid').notNull().default(0),
  version: text('version').notNull().default(''),
  startedAt: bigint('started_at', { mode: 'number' }).notNull(),
  heartbeatAt: bigint('heartbeat_at', { mode: 'number' }).notNull(),
  /** The node's heartbeat interval: it counts as stale after three intervals without one (nodes/registry.ts). */
  heartbeatMs: integer('heartbeat_ms').notNull().default(5000),
  /** Set when the node stopped cleanly; null while it runs (or until its heartbeat goes stale). */
  stoppedAt: bigint('stopped_at', { mode: 'number' }),
  meta: text('meta').notNull().default('{}'),
});

/** settings.json shared by every node (one row, key 'settings'); `version` increases on each write. */
export const sharedSettings = pgTable('shared_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  version: bigint('version', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  updatedBy: text('updated_by').notNull().default(''),
});

/** Accounts a runtime reported exhausted, held until `resets_at` (quotas/; the SQLite table's twin). */
export const quotaHolds = pgTable('quota_holds', {
  account: text('account').primaryKey(),
  runtime: text('runtime').notNull(),
  label: text('label').notNull(),
  status: text('status').notNull(),
  resetsAt: bigint('resets_at', { mode: 'number' }).notNull(),
  limitName: text('limit_name'),
  message: text('message'),
  reportedBy: text('reported_by'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

/** Approval requests (approvals/; the SQLite table's twin). */
export const approvals = pgTable(
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
    requestedAt: bigint('requested_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }),
    decidedAt: bigint('decided_at', { mode: 'number' }),
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

/** A stored `tsvector` (drizzle has no type for it). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * Memory entries and proposals (memory/; the SQLite table's twin). Full-text search is the GIN
 * index on `search`, the text's `to_tsvector('english', text)` stored with the row (so ranking a
 * match reads it instead of parsing the text again); the SQLite table's is FTS5.
 */
export const memoryEntries = pgTable(
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
    decidedAt: bigint('decided_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    lastUsedAt: bigint('last_used_at', { mode: 'number' }),
    expiresAt: bigint('expires_at', { mode: 'number' }),
    search: tsvector('search').generatedAlwaysAs(sql`to_tsvector('english', text)`),
  },
  (t) => [
    index('memory_entries_scope_idx').on(t.scopeKind, t.scopeId, t.status),
    index('memory_entries_status_idx').on(t.status, t.createdAt),
    index('memory_entries_search_idx').using('gin', t.search),
    index('memory_entries_pinned_idx').on(t.scopeKind, t.scopeId).where(sql`pinned = 1 AND status = 'accepted'`),
  ],
);

/**
 * How many memory entries hold each lexeme of their `search` vector, kept exact by the trigger of
 * migration 0019: a turn's recall searches only its rarest words (rarestTerms in memory/store.ts).
 */
export const memoryLexemes = pgTable('memory_lexemes', {
  lexeme: text('lexeme').primaryKey(),
  entries: integer('entries').notNull(),
});

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/** Memory vectors (memory/vectors.ts; the SQLite table's twin): float32 bytes per entry and model. */
export const memoryVectors = pgTable(
  'memory_vectors',
  {
    entryId: text('entry_id').notNull(),
    model: text('model').notNull(),
    dims: integer('dims').notNull(),
    vector: bytea('vector').notNull(),
    entryUpdatedAt: bigint('entry_updated_at', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.entryId, t.model] })],
);

/** What went into a run's context from memory before its turn (memory/; the SQLite table's twin). */
export const memoryInjections = pgTable('memory_injections', {
  runId: text('run_id').primaryKey(),
  agentId: text('agent_id').notNull(),
  entryIds: text('entry_ids').notNull(),
  tokens: integer('tokens').notNull(),
  budget: integer('budget').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
});

/** Workflow runs (workflows/; the SQLite table's twin). */
export const workflowRuns = pgTable(
  'workflow_runs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    file: text('file').notNull(),
    registered: text('registered'),
    startedBy: text('started_by').notNull().default('person'),
    chain: text('chain'),
    conversationId: text('conversation_id'),
    input: text('input').notNull(),
    status: text('status').notNull(),
    result: text('result'),
    reason: text('reason'),
    budgetUsd: doublePrecision('budget_usd'),
    budgetTokens: bigint('budget_tokens', { mode: 'number' }),
    owner: text('owner'),
    leaseUntil: bigint('lease_until', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    endedAt: bigint('ended_at', { mode: 'number' }),
  },
  (t) => [index('workflow_runs_status').on(t.status, t.createdAt)],
);

/** A workflow run's journal (workflows/; the SQLite table's twin). */
export const workflowSteps = pgTable(
  'workflow_steps',
  {
    runId: text('run_id').notNull(),
    stepId: text('step_id').notNull(),
    seq: integer('seq').notNull(),
    kind: text('kind').notNull(),
    agentId: text('agent_id'),
    label: text('label').notNull(),
    fingerprint: text('fingerprint').notNull(),
    attempt: integer('attempt').notNull().default(1),
    status: text('status').notNull(),
    conversationId: text('conversation_id'),
    taskId: text('task_id'),
    output: text('output'),
    error: text('error'),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    tokens: bigint('tokens', { mode: 'number' }).notNull().default(0),
    startedAt: bigint('started_at', { mode: 'number' }).notNull(),
    endedAt: bigint('ended_at', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stepId] }), index('workflow_steps_seq').on(t.runId, t.seq)],
);
