/**
 * Runs and conversations: the observable tree.
 *
 * Every agent invocation (including a refused spawn) is a run with conversation_id (the tree's
 * root), parent_run_id and depth. Status moves queued -> running -> completed | failed |
 * cancelled, or straight to rejected; `finish` is idempotent per terminal state so each run gets
 * exactly one terminal event from its caller. Conversations carry the counters the guards use,
 * kept in the database so they survive a restart.
 */
import { TinyError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { ConversationRow, RunRow, RunSteeringRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';
import type { MemoryScope } from '@tinyagi/client/contract';
import type { AgentSessionRecord, TurnWrite } from '../sessions/store.ts';

export const RUN_CAUSES = ['user', 'mention', 'spawn', 'chatroom', 'heartbeat', 'schedule', 'system'] as const;
export type RunCause = (typeof RUN_CAUSES)[number];
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'rejected';
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled', 'rejected'];

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * What the model proxy metered of a run's model calls, from the provider's own responses
 * (docs/sandbox.md#the-model-proxy), beside the usage the CLI reported (`inputTokens`, …).
 * Input counts cache reads and writes, as the run's does; they are also given on their own.
 */
export interface MeteredUsage {
  /** Model calls through the proxy, failed ones included. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** The calls at the models' list prices (sandbox/model-prices.ts; a model not in it adds 0), beside the CLI's own `costUsd`. */
  costUsd: number;
}

export interface RunRecord {
  id: string;
  conversationId: string;
  parentRunId: string | null;
  depth: number;
  maxDepth: number;
  agentId: string;
  teamId: string | null;
  channel: string;
  cause: RunCause;
  status: RunStatus;
  messageIds: string[];
  input: string | null;
  output: string | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Metered by the model proxy; null when no call of the run went through it (the stores always set it). */
  metered?: MeteredUsage | null;
  error: string | null;
  /** The name of the node that ran it (several nodes on PostgreSQL); null with one process, or before it started. */
  node?: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

/** What a run's start records: the messages it takes, its input, and the node that runs it (several nodes). */
export interface StartRunPatch {
  messageIds?: string[];
  input?: string;
  node?: string;
}

export interface CreateRunInput {
  id?: string;
  conversationId: string;
  parentRunId?: string | null;
  depth?: number;
  maxDepth?: number;
  agentId: string;
  teamId?: string | null;
  channel?: string;
  /** The agent's provider (for usage by provider). */
  provider?: string;
  /** The agent's model ('' or absent: its runtime's default), for a workflow's forecast. */
  model?: string;
  cause: RunCause;
  status?: 'queued' | 'running' | 'rejected';
  messageIds?: string[];
  input?: string | null;
  error?: string | null;
  /** Creation time (ms); now unless given (imports, fixtures). */
  createdAt?: number;
}

/** `stopReason` says why for every status but active and completed. */
export type ConversationStatus = 'active' | 'completed' | 'failed' | 'stopped' | 'cancelled';

export interface ConversationRecord {
  id: string;
  teamId: string | null;
  rootAgentId: string;
  channel: string;
  sender: string;
  senderId: string;
  threadKey: string | null;
  title: string;
  status: ConversationStatus;
  replyMode: 'each' | 'aggregate';
  hops: number;
  messageCount: number;
  spawnCount: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  limitScale: number;
  softWarned: boolean;
  stopReason: string | null;
  /** The conversation's completion effects ran; a new run in it sets this back to false. */
  finished: boolean;
  /** A stop or a soft budget warning waits for the person's decision. */
  awaitingDecision: boolean;
  /** Teammate deliveries a guard held back, delivered if the person replies `continue`. */
  held: HeldDelivery[];
  /** Free-form data of callers (the orchestrator's state has its own columns above). */
  meta: Record<string, unknown>;
  /** Whether the first message named the agent or its team (`teamId` is the team context either way). */
  addressed: 'agent' | 'team';
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

/** Work held back by a guard, delivered if the human replies `continue`. */
export interface HeldDelivery {
  kind: 'teammate' | 'chatroom';
  agentId: string;
  teamId: string | null;
  content: string;
  body: string;
  from: string;
  hop: number;
  room?: string;
  parentRunId: string;
  parentMessageId: string | null;
  /** The agents whose confinement follows the delivery's run (teams' guards/confinement.ts). */
  confinedBy?: string[];
  /** Every agent up the delivery's chain, its sender included (teams' guards/confinement.ts). */
  callers?: string[];
}

export interface ConversationPatch {
  status?: ConversationStatus;
  stopReason?: string | null;
  limitScale?: number;
  softWarned?: boolean;
  finished?: boolean;
  awaitingDecision?: boolean;
  held?: readonly HeldDelivery[];
  meta?: Record<string, unknown>;
}

export interface CreateConversationInput {
  id?: string;
  teamId?: string | null;
  rootAgentId: string;
  channel: string;
  sender?: string;
  senderId?: string;
  threadKey?: string | null;
  title?: string;
  replyMode?: 'each' | 'aggregate';
  meta?: Record<string, unknown>;
  /** Default 'agent'. */
  addressed?: 'agent' | 'team';
}

export type UsageGroup = 'agent' | 'team' | 'conversation' | 'channel' | 'provider' | 'day';

export interface UsageRow {
  key: string;
  runs: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** Usage of one key in bucket `bucket` (an index into the boundaries asked for). */
export interface UsageSeriesRow extends UsageRow {
  bucket: number;
}

/** A conversation's usage within a time range, with what identifies it. */
export interface ConversationUsageRow extends UsageRow {
  title: string;
  rootAgentId: string;
  teamId: string | null;
  channel: string;
}

/*
 * What the SQLite and PostgreSQL run stores share: the column lists, the values of an insert,
 * the SET and WHERE clauses built from a patch or a query (with `?` placeholders: the PostgreSQL
 * store numbers them), and the row-to-record mappers (the PostgreSQL tables mirror SQLite's
 * column types, so the rows are equal).
 */

/**
 * SQL for the rows a prune leaves alone (runs, outbox): those of a conversation waiting for the
 * person's decision, whose `continue` delivers its held work from them and whose note says what
 * it waits for, however long the answer takes.
 */
export function notWaiting(conversations: string): string {
  return `(conversation_id IS NULL OR conversation_id NOT IN (SELECT id FROM ${conversations} WHERE awaiting_decision = 1))`;
}

/**
 * The statements both run stores run, over the tables' names (`?` placeholders: the PostgreSQL
 * store numbers them). `collation` orders text keys byte-wise on both backends (SQLite `BINARY`,
 * PostgreSQL `"C"`), so usage rows come in the same order.
 */
export function runStatements(conversations: string, runs: string, collation: string) {
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  // A run's tokens are what its CLI reported or what the model proxy metered, whichever is more:
  // the metered calls count as they end (a run's own usage is written when it ends, and a failed
  // attempt of a CLI that reported nothing would count nothing).
  // So is its cost: the CLI's own figure or the proxy's price of the metered calls.
  const tokens = 'CASE WHEN metered_input_tokens + metered_output_tokens > input_tokens + output_tokens THEN metered_input_tokens + metered_output_tokens ELSE input_tokens + output_tokens END';
  const cost = 'CASE WHEN metered_cost_usd > cost_usd THEN metered_cost_usd ELSE cost_usd END';
  const spend = `COALESCE(SUM(${tokens}), 0) AS tokens, COALESCE(SUM(${cost}), 0) AS "costUsd"`;
  return {
    insertConversation: `INSERT INTO ${conversations} (${CONVERSATION_INSERT_COLUMNS}) VALUES (${marks(13)})`,
    getConversation: `SELECT * FROM ${conversations} WHERE id = ?`,
    listConversations: (where: string) => `SELECT * FROM ${conversations} WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
    latestOfThread: `SELECT * FROM ${conversations} WHERE channel = ? AND thread_key = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
    bumpConversation: `UPDATE ${conversations} SET ${BUMP_SETS} WHERE id = ?`,
    updateConversation: (sets: string) => `UPDATE ${conversations} SET ${sets} WHERE id = ?`,
    insertRun: `INSERT INTO ${runs} (${RUN_INSERT_COLUMNS}) VALUES (${marks(18)})`,
    startRun: `UPDATE ${runs} SET status = 'running', started_at = COALESCE(started_at, ?), message_ids = COALESCE(?, message_ids), input = COALESCE(?, input), node = COALESCE(?, node) WHERE id = ? AND status IN ('queued', 'running')`,
    finishRun: `UPDATE ${runs} SET status = ?, output = ?, input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cost_usd = cost_usd + ?, error = ?, ended_at = ?
      WHERE id = ? AND status IN ('queued', 'running')`,
    /** What a finish spent, added to its conversation's totals (values: the usage of `finishRunValues`, the time, the run). */
    finishSpend: `UPDATE ${conversations} SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cost_usd = cost_usd + ?, updated_at = ?
      WHERE id = (SELECT conversation_id FROM ${runs} WHERE id = ?)`,
    addUsage: `UPDATE ${runs} SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cost_usd = cost_usd + ? WHERE id = ?`,
    addMetered: `UPDATE ${runs} SET metered_calls = metered_calls + ?, metered_input_tokens = metered_input_tokens + ?, metered_output_tokens = metered_output_tokens + ?,
      metered_cache_read_tokens = metered_cache_read_tokens + ?, metered_cache_write_tokens = metered_cache_write_tokens + ?, metered_cost_usd = metered_cost_usd + ? WHERE id = ?`,
    getRun: `SELECT * FROM ${runs} WHERE id = ?`,
    descendants: (order: string) => `WITH RECURSIVE tree(id) AS (SELECT id FROM ${runs} WHERE parent_run_id = ? UNION ALL SELECT r.id FROM ${runs} r JOIN tree t ON r.parent_run_id = t.id)
      SELECT runs.* FROM ${runs} runs JOIN tree ON runs.id = tree.id ORDER BY ${order}`,
    // The status is a filter, never an index condition: a conversation holds a few runs, the status
    // index thousands while many are in flight (PostgreSQL chose a bitmap AND of both before its statistics).
    openRunCount: `SELECT COUNT(*) FILTER (WHERE status IN ('queued', 'running')) AS n FROM ${runs} WHERE conversation_id = ?`,
    agentSpend: `SELECT ${spend} FROM ${runs} WHERE agent_id = ? AND created_at >= ?`,
    globalSpend: `SELECT ${spend} FROM ${runs} WHERE created_at >= ?`,
    /** The newest completed runs of a provider and model: their prompt's length, cost and tokens (values: provider, model, limit). */
    costSamples: `SELECT LENGTH(COALESCE(input, '')) AS chars, ${cost} AS "costUsd", ${tokens} AS tokens FROM ${runs}
      WHERE provider = ? AND model = ? AND status = 'completed' ORDER BY created_at DESC LIMIT ?`,
    usage: (col: string) => `SELECT ${col} AS key, ${USAGE_SUMS} FROM ${runs} WHERE created_at >= ? AND created_at < ? GROUP BY key ORDER BY ${col} COLLATE ${collation}`,
    topConversations: `SELECT t.*, COALESCE(c.title, '') AS title, COALESCE(c.root_agent_id, '') AS "rootAgentId", c.team_id AS "teamId", COALESCE(c.channel, '') AS channel
      FROM (SELECT conversation_id AS key, ${USAGE_SUMS} FROM ${runs} WHERE created_at >= ? AND created_at < ? GROUP BY conversation_id
            ORDER BY SUM(cost_usd) DESC, SUM(input_tokens) + SUM(output_tokens) DESC, conversation_id COLLATE ${collation} LIMIT ?) t
      LEFT JOIN ${conversations} c ON c.id = t.key ORDER BY t."costUsd" DESC, t."inputTokens" + t."outputTokens" DESC, t.key COLLATE ${collation}`,
    firstRunAt: `SELECT MIN(created_at) AS first FROM ${runs}`,
    /** Batches of finished runs (by `key`: rowid on SQLite, id on PostgreSQL), but a waiting conversation's; values: before, batch size. */
    pruneRuns: (key: string) => `DELETE FROM ${runs} WHERE ${key} IN (SELECT ${key} FROM ${runs} WHERE status NOT IN ('queued', 'running') AND ended_at < ? AND ${notWaiting(conversations)} LIMIT ?)`,
    pruneConversations: `DELETE FROM ${conversations} WHERE status != 'active' AND awaiting_decision = 0 AND completed_at < ? AND NOT EXISTS (SELECT 1 FROM ${runs} r WHERE r.conversation_id = ${conversations}.id)`,
  };
}

/** [since, until) as statement values. */
export function usageRange(query: { since?: number; until?: number }): [number, number] {
  return [query.since ?? 0, query.until ?? Number.MAX_SAFE_INTEGER];
}

/**
 * [since, until) clamps the outer bucket edges instead of being a second condition on
 * created_at, which SQLite would pick as the index range of every bucket (each bucket a full scan).
 */
export function clampEdges(edges: readonly number[], query: { since?: number; until?: number }): number[] {
  return edges.map((edge, i) => (i === 0 ? Math.max(edge, query.since ?? edge) : i === edges.length - 1 ? Math.min(edge, query.until ?? edge) : edge));
}

export function throwError(err: Error): never {
  throw err;
}

export const CONVERSATION_INSERT_COLUMNS = 'id, team_id, root_agent_id, channel, sender, sender_id, thread_key, title, reply_mode, addressed, meta, created_at, updated_at';

/** The values of CONVERSATION_INSERT_COLUMNS, in its order. */
export type ConversationInsertValues = [
  id: string,
  teamId: string | null,
  rootAgentId: string,
  channel: string,
  sender: string,
  senderId: string,
  threadKey: string | null,
  title: string,
  replyMode: string,
  addressed: string,
  meta: string,
  createdAt: number,
  updatedAt: number,
];

/** The values of CONVERSATION_INSERT_COLUMNS; the first is the id. */
export function conversationInsertValues(input: CreateConversationInput, now = Date.now()): ConversationInsertValues {
  return [
    input.id ?? newId('conv'),
    input.teamId ?? null,
    input.rootAgentId,
    input.channel,
    input.sender ?? '',
    input.senderId ?? '',
    input.threadKey ?? null,
    (input.title ?? '').slice(0, 200),
    input.replyMode ?? 'each',
    input.addressed === 'team' ? 'team' : 'agent',
    JSON.stringify(input.meta ?? {}),
    now,
    now,
  ];
}

export const RUN_INSERT_COLUMNS =
  'id, conversation_id, parent_run_id, depth, max_depth, agent_id, team_id, channel, provider, model, cause, status, message_ids, input, error, created_at, started_at, ended_at';

/** The values of RUN_INSERT_COLUMNS, in its order. */
export type RunInsertValues = [
  id: string,
  conversationId: string,
  parentRunId: string | null,
  depth: number,
  maxDepth: number,
  agentId: string,
  teamId: string | null,
  channel: string,
  provider: string,
  model: string,
  cause: string,
  status: string,
  messageIds: string,
  input: string | null,
  error: string | null,
  createdAt: number,
  startedAt: number | null,
  endedAt: number | null,
];

/** The values of RUN_INSERT_COLUMNS; the first is the id. */
export function runInsertValues(input: CreateRunInput): RunInsertValues {
  const now = input.createdAt ?? Date.now();
  const status = input.status ?? 'queued';
  return [
    input.id ?? newId('run'),
    input.conversationId,
    input.parentRunId ?? null,
    input.depth ?? 0,
    input.maxDepth ?? 5,
    input.agentId,
    input.teamId ?? null,
    input.channel ?? '',
    input.provider ?? '',
    input.model ?? '',
    input.cause,
    status,
    JSON.stringify(input.messageIds ?? []),
    input.input ?? null,
    input.error ?? null,
    now,
    status === 'running' ? now : null,
    status === 'rejected' ? now : null,
  ];
}

/** The conversation an insert of `conversationInsertValues` makes (the table's defaults for the other columns). */
export function insertedConversation(values: ConversationInsertValues): ConversationRecord {
  const [id, teamId, rootAgentId, channel, sender, senderId, threadKey, title, replyMode, addressed, meta, createdAt, updatedAt] = values;
  return toConversation({
    id,
    team_id: teamId,
    root_agent_id: rootAgentId,
    channel,
    sender,
    sender_id: senderId,
    thread_key: threadKey,
    title,
    status: 'active',
    reply_mode: replyMode,
    hops: 0,
    message_count: 0,
    spawn_count: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    limit_scale: 1,
    soft_warned: 0,
    stop_reason: null,
    finished: 0,
    awaiting_decision: 0,
    held: '[]',
    addressed,
    meta,
    created_at: createdAt,
    updated_at: updatedAt,
    completed_at: null,
  });
}

/** The run an insert of `runInsertValues` makes (the table's defaults for the other columns). */
export function insertedRun(values: RunInsertValues): RunRecord {
  const [id, conversationId, parentRunId, depth, maxDepth, agentId, teamId, channel, provider, model, cause, status, messageIds, input, error, createdAt, startedAt, endedAt] = values;
  return toRun({
    id,
    conversation_id: conversationId,
    parent_run_id: parentRunId,
    depth,
    max_depth: maxDepth,
    agent_id: agentId,
    team_id: teamId,
    channel,
    provider,
    model,
    cause,
    status,
    message_ids: messageIds,
    input,
    output: null,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    metered_calls: 0,
    metered_input_tokens: 0,
    metered_output_tokens: 0,
    metered_cache_read_tokens: 0,
    metered_cache_write_tokens: 0,
    metered_cost_usd: 0,
    error,
    node: null,
    created_at: createdAt,
    started_at: startedAt,
    ended_at: endedAt,
  });
}

/** WHERE (and the LIMIT's value, last) of `listConversations`; `runs` names the runs table (the agent filter looks there). */
export function conversationFilter(query: ConversationListQuery, runs: string): { where: string; params: unknown[] } {
  const where: string[] = ['1 = 1'];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  // As the client's `conversationStatus` shows them: a conversation a guard holds for the
  // person's decision is `waiting`, whatever its status; the other filters leave it out.
  if (query.status === 'waiting') where.push('awaiting_decision = 1');
  else if (query.status) {
    add('status = ?', query.status);
    where.push('awaiting_decision = 0');
  }
  if (query.teamId) add('team_id = ?', query.teamId);
  // Any agent that ran in the conversation, not only the one it started with.
  if (query.agentId) {
    where.push(`(root_agent_id = ? OR id IN (SELECT conversation_id FROM ${runs} WHERE agent_id = ?))`);
    params.push(query.agentId, query.agentId);
  }
  if (query.before) add('created_at < ?', query.before);
  params.push(Math.max(1, Math.min(query.limit ?? 50, 500)));
  return { where: where.join(' AND '), params };
}

/** SET of `bumpConversation` (counters added in place: no read-modify-write between nodes); its values are `bumpValues`. */
export const BUMP_SETS =
  'hops = hops + ?, message_count = message_count + ?, spawn_count = spawn_count + ?, input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cost_usd = cost_usd + ?, updated_at = ?';

export function bumpValues(delta: ConversationDelta): unknown[] {
  return [delta.hops ?? 0, delta.messages ?? 0, delta.spawns ?? 0, delta.inputTokens ?? 0, delta.outputTokens ?? 0, delta.costUsd ?? 0, Date.now()];
}

/** SET of `updateConversation` and its values (flags as 0/1, JSON as text on both backends). */
export function conversationPatchSets(patch: ConversationPatch): { sets: string; params: unknown[] } {
  const now = Date.now();
  const sets: string[] = ['updated_at = ?'];
  const params: unknown[] = [now];
  const set = (clause: string, value: unknown) => {
    sets.push(clause);
    params.push(value);
  };
  if (patch.status) {
    set('status = ?', patch.status);
    if (patch.status !== 'active') set('completed_at = COALESCE(completed_at, ?)', now);
    else sets.push('completed_at = NULL');
  }
  if (patch.stopReason !== undefined) set('stop_reason = ?', patch.stopReason);
  if (patch.limitScale !== undefined) set('limit_scale = ?', patch.limitScale);
  if (patch.softWarned !== undefined) set('soft_warned = ?', patch.softWarned ? 1 : 0);
  if (patch.finished !== undefined) set('finished = ?', patch.finished ? 1 : 0);
  if (patch.awaitingDecision !== undefined) set('awaiting_decision = ?', patch.awaitingDecision ? 1 : 0);
  if (patch.held !== undefined) set('held = ?', JSON.stringify(patch.held));
  if (patch.meta !== undefined) set('meta = ?', JSON.stringify(patch.meta));
  return { sets: sets.join(', '), params };
}

export function startRunValues(patch: StartRunPatch): unknown[] {
  return [Date.now(), patch.messageIds ? JSON.stringify(patch.messageIds) : null, patch.input ?? null, patch.node ?? null];
}

/** Whether a finish spent anything its conversation's totals take. */
export function finishSpends(result: RunFinish): boolean {
  return result.usage !== undefined || result.costUsd !== undefined;
}

export function finishRunValues(result: RunFinish): unknown[] {
  return [result.status, result.output ?? null, result.usage?.inputTokens ?? 0, result.usage?.outputTokens ?? 0, result.costUsd ?? 0, result.error ?? null, Date.now()];
}

export function conversationNotFound(id: string): TinyError {
  return new TinyError('CONVERSATION_NOT_FOUND', `No conversation with id ${id}.`);
}

export function runNotFound(id: string): TinyError {
  return new TinyError('RUN_NOT_FOUND', `No run with id ${id}.`);
}

/** The usage sums (aliases quoted: PostgreSQL folds unquoted names to lower case). */
export const USAGE_SUMS = 'COUNT(*) AS runs, SUM(input_tokens) AS "inputTokens", SUM(output_tokens) AS "outputTokens", SUM(cost_usd) AS "costUsd"';

/** The grouping expression of each usage group (`day` differs per backend). */
export const USAGE_COLUMN: Record<UsageGroup, string> = {
  agent: 'agent_id',
  team: "COALESCE(team_id, '')",
  conversation: 'conversation_id',
  channel: 'channel',
  provider: 'provider',
  day: "strftime('%Y-%m-%d', COALESCE(ended_at, created_at) / 1000, 'unixepoch')",
};

export type ConversationListQuery = { status?: ConversationStatus | 'waiting'; teamId?: string; agentId?: string; before?: number; limit?: number };

export type ConversationDelta = { hops?: number; messages?: number; spawns?: number; inputTokens?: number; outputTokens?: number; costUsd?: number };

export type RunFinish = { status: Exclude<RunStatus, 'queued' | 'running'>; output?: string | null; usage?: Usage | undefined; costUsd?: number | undefined; error?: string | null };

export type Spend = { tokens: number; costUsd: number };

/** A finished run as a workflow's forecast reads it: its prompt's length and what it cost. */
export type CostSample = { chars: number; costUsd: number; tokens: number };

/** Conversations, runs and usage (the `conversations` and `runs` tables). */
export interface RunStoreApi {
  createConversation(input: CreateConversationInput): Awaitable<ConversationRecord>;
  /** A conversation with its first run (one statement on PostgreSQL). */
  createConversationWithRun(conversation: CreateConversationInput, run: CreateRunInput): Awaitable<{ conversation: ConversationRecord; run: RunRecord }>;
  /**
   * `forUpdate` (inside a transaction): also holds the conversation's row until the commit, so a
   * decision read after it (is every run of the conversation finished?) sees what other
   * transactions on the conversation committed, and theirs sees this one's. PostgreSQL: `SELECT …
   * FOR UPDATE`; SQLite: a plain read (a write transaction already excludes every other).
   */
  getConversation(id: string, options?: { forUpdate?: boolean }): Awaitable<ConversationRecord | undefined>;
  /** Throws CONVERSATION_NOT_FOUND. */
  mustGetConversation(id: string): Awaitable<ConversationRecord>;
  listConversations(query?: ConversationListQuery): Awaitable<ConversationRecord[]>;
  latestConversationOfThread(channel: string, threadKey: string): Awaitable<ConversationRecord | undefined>;
  /** Adds to the counters in place (no read-modify-write race between nodes). */
  bumpConversation(id: string, delta: ConversationDelta): Awaitable<void>;
  updateConversation(id: string, patch: ConversationPatch): Awaitable<void>;
  /**
   * `updateConversation` as the transaction's last write: on PostgreSQL a part of the statement
   * that writes its events just before its COMMIT (storage/pg/last-statement.ts), elsewhere at
   * once. Only for a conversation whose row the transaction has locked (`finishRun`,
   * `getConversation` with `forUpdate`) and that nothing later in it reads.
   */
  updateConversationAtCommit(id: string, patch: ConversationPatch): Awaitable<void>;
  /**
   * `createConversationWithRun` as part of the transaction's last statement (PostgreSQL: the one
   * that writes its events, just before its COMMIT; elsewhere at once): returns the records the
   * insert makes. For new rows nothing in the transaction reads before it commits (a record
   * observer included).
   */
  createConversationWithRunAtCommit(conversation: CreateConversationInput, run: CreateRunInput): Awaitable<{ conversation: ConversationRecord; run: RunRecord }>;
  createRun(input: CreateRunInput): Awaitable<RunRecord>;
  /** The run as the start left it; undefined when it was not open (ended meanwhile: nothing changed). */
  startRun(id: string, patch?: StartRunPatch): Awaitable<RunRecord | undefined>;
  /** `startRun` of several runs in one write (PostgreSQL: one statement); each result in the place of its run. */
  startRuns(starts: ReadonlyArray<{ id: string; patch?: StartRunPatch }>): Awaitable<Array<RunRecord | undefined>>;
  /**
   * False when the run had already ended (nothing changed). A finish that changed it adds its usage
   * and cost to the conversation's totals as well (the run's own are added in place). On PostgreSQL
   * it also locks the run's conversation until the transaction ends (SQLite's writes are serialised
   * already), so a completion check later in the transaction needs no lock of its own.
   */
  finishRun(id: string, result: RunFinish): Awaitable<boolean>;
  addUsage(id: string, usage: Usage, costUsd: number): Awaitable<void>;
  /** Adds metered model calls to a run, whatever its status (a call may end after its run did); counters added in place. */
  addMetered(id: string, metered: MeteredUsage): Awaitable<void>;
  getRun(id: string): Awaitable<RunRecord | undefined>;
  /** Throws RUN_NOT_FOUND. */
  mustGetRun(id: string): Awaitable<RunRecord>;
  listRuns(conversationId: string): Awaitable<RunRecord[]>;
  children(runId: string): Awaitable<RunRecord[]>;
  descendants(runId: string): Awaitable<RunRecord[]>;
  openRunCount(conversationId: string): Awaitable<number>;
  /** Usage: spend of one agent / of everyone since a time, and usage grouped. */
  agentSpend(agentId: string, sinceTs: number): Awaitable<Spend>;
  globalSpend(sinceTs: number): Awaitable<Spend>;
  /** The newest `limit` completed runs of `provider` and `model` ('' : the runtime's default): each one's prompt length in characters, cost and tokens. */
  costSamples(provider: string, model: string, limit: number): Awaitable<CostSample[]>;
  usage(by: UsageGroup, query?: { since?: number; until?: number }): Awaitable<UsageRow[]>;
  /** Usage per bucket (`edges`: n + 1 ascending boundaries, ms) and key, ordered by bucket, key; runs outside [since, until) not counted. */
  usageSeries(by: Exclude<UsageGroup, 'day'>, edges: readonly number[], query?: { since?: number; until?: number }): Awaitable<UsageSeriesRow[]>;
  /** The conversations that cost most in [since, until) (then most tokens), with their titles. */
  topConversations(query: { since?: number; until?: number; limit: number }): Awaitable<ConversationUsageRow[]>;
  /** Creation time of the oldest run (ms), or null when there are none. */
  firstRunAt(): Awaitable<number | null>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    parentRunId: r.parent_run_id,
    depth: r.depth,
    maxDepth: r.max_depth,
    agentId: r.agent_id,
    teamId: r.team_id,
    channel: r.channel,
    cause: r.cause as RunCause,
    status: r.status as RunStatus,
    messageIds: JSON.parse(r.message_ids) as string[],
    input: r.input,
    output: r.output,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    costUsd: r.cost_usd,
    metered:
      r.metered_calls > 0
        ? {
            calls: r.metered_calls,
            inputTokens: r.metered_input_tokens,
            outputTokens: r.metered_output_tokens,
            cacheReadTokens: r.metered_cache_read_tokens,
            cacheWriteTokens: r.metered_cache_write_tokens,
            costUsd: r.metered_cost_usd,
          }
        : null,
    error: r.error,
    ...(r.node ? { node: r.node } : {}),
    createdAt: r.created_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}

/** The values of `addMetered` (the run's id last). */
export function meteredValues(id: string, m: MeteredUsage): unknown[] {
  return [m.calls, m.inputTokens, m.outputTokens, m.cacheReadTokens, m.cacheWriteTokens, m.costUsd, id];
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toConversation(r: ConversationRow): ConversationRecord {
  return {
    id: r.id,
    teamId: r.team_id,
    rootAgentId: r.root_agent_id,
    channel: r.channel,
    sender: r.sender,
    senderId: r.sender_id,
    threadKey: r.thread_key,
    title: r.title,
    status: r.status as ConversationStatus,
    replyMode: r.reply_mode === 'aggregate' ? 'aggregate' : 'each',
    hops: r.hops,
    messageCount: r.message_count,
    spawnCount: r.spawn_count,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    costUsd: r.cost_usd,
    limitScale: r.limit_scale,
    softWarned: r.soft_warned === 1,
    stopReason: r.stop_reason,
    finished: r.finished === 1,
    awaitingDecision: r.awaiting_decision === 1,
    held: r.held === '[]' ? [] : (JSON.parse(r.held) as HeldDelivery[]),
    meta: JSON.parse(r.meta) as Record<string, unknown>,
    addressed: r.addressed === 'team' ? 'team' : 'agent',
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

/**
 * Read queries across the queue, runs and conversations tables that the orchestrator needs
 * (open runs, unfinished messages of a conversation, children of a run …). They live in core
 * with the tables, so no other package runs SQL of its own. Read-only: every write goes
 * through the stores.
 */
export interface OpenRunRow {
  id: string;
  conversationId: string;
  parentRunId: string | null;
  depth: number;
  agentId: string;
  cause: RunRecord['cause'];
  status: 'queued' | 'running';
  messageIds: string[];
}

/** Read queries across queue, runs and conversations (what the orchestrator asks). */
/** What the handler of a claimed batch reads before it plans (`ConversationQueriesApi.runContext`). */
export interface RunContextQuery {
  conversationId: string;
  /** The runs the batch's messages name. */
  runIds: readonly string[];
  /** The agent's CLI session the batch's turn resumes. */
  session?: { agentId: string; sessionKey: string } | undefined;
  /** The memory scopes the turn's recall reads: PostgreSQL answers in the same read whether they hold an entry recall can find (`memoryHeld`). */
  memoryScopes?: readonly MemoryScope[] | undefined;
}

export interface RunContext {
  conversation: ConversationRecord | undefined;
  /** Those of `runIds` that exist, in no particular order. */
  runs: RunRecord[];
  session: AgentSessionRecord | undefined;
  /** Whether `memoryScopes` hold an entry recall can find; undefined when not asked, or on SQLite, whose recall asks itself in microseconds. */
  memoryHeld?: boolean | undefined;
}

/**
 * Where a conversation stands for its completion (`ConversationQueriesApi.completionState`): the
 * conversation, its open runs and unfinished messages, and (only when both are 0) all its runs,
 * oldest first.
 */
export interface CompletionState {
  conversation: ConversationRecord | undefined;
  openRuns: number;
  unfinishedMessages: number;
  runs: RunRecord[] | undefined;
}

export interface ConversationQueriesApi {
  /** The conversation, the runs and the session a batch needs, in one read (one round trip on PostgreSQL). */
  runContext(query: RunContextQuery): Awaitable<RunContext>;
  /**
   * `CompletionState` in one read (one round trip on PostgreSQL). The caller holds the
   * conversation's lock from an earlier statement of its transaction (`getConversation(id, {
   * forUpdate: true })`, or `finishRun` of one of its runs), so the counts see what other nodes
   * committed before it. `turn`: a session's turn written by the same statement (on SQLite, the
   * same write), which reads neither of its tables (`AgentSessionStoreApi.recordTurn`).
   */
  completionState(conversationId: string, turn?: TurnWrite): Awaitable<CompletionState>;
  unfinishedMessages(conversationId: string): Awaitable<number>;
  pendingMessagesOf(conversationId: string): Awaitable<string[]>;
  messageStatus(messageId: string): Awaitable<string | undefined>;
  activeStartedBefore(createdBefore: number, limit: number): Awaitable<string[]>;
  openRuns(): Awaitable<OpenRunRow[]>;
  openRunsOf(conversationId: string): Awaitable<OpenRunRow[]>;
  recentConversationsOf(channel: string, senderId: string, sinceTs: number): Awaitable<string[]>;
  activeRoomConversation(teamId: string): Awaitable<string | undefined>;
  spawnedChildren(runId: string): Awaitable<{ total: number; running: number }>;
}

/**
 * The statements of both backends' queries, over the tables' names (`?` placeholders: the
 * PostgreSQL store numbers them; `no` is false as the flag column stores it: 0 or false).
 */
export function queryStatements(t: { messages: string; runs: string; conversations: string }, no: string) {
  const openRun = `SELECT id, conversation_id, parent_run_id, depth, agent_id, cause, status, message_ids FROM ${t.runs}`;
  return {
    // A processing message whose cancel was requested is finished for the conversation's sake:
    // its run already ended, the worker only has to stop.
    // (the status a filter, as in openRunCount: the pending and processing indexes hold every agent's
    // queue; the WHERE's status is the predicate of PostgreSQL's live-rows conversation index)
    unfinishedMessages: `SELECT COUNT(*) FILTER (WHERE status = 'pending' OR (status = 'processing' AND cancel_requested = ${no})) AS n FROM ${t.messages} WHERE conversation_id = ? AND status IN ('pending', 'processing')`,
    messageStatus: `SELECT status FROM ${t.messages} WHERE id = ?`,
    pendingOf: `SELECT id FROM ${t.messages} WHERE conversation_id = ? AND status = 'pending' ORDER BY seq`,
    openRuns: (order: string) => `${openRun} WHERE status IN ('queued', 'running') ORDER BY ${order}`,
    openRunsOf: (order: string) => `${openRun} WHERE conversation_id = ? AND status IN ('queued', 'running') ORDER BY ${order}`,
    latestOfSender: `SELECT id FROM ${t.conversations} WHERE channel = ? AND sender_id = ? AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT 20`,
    runningChildren: `SELECT COUNT(*) AS n FROM ${t.runs} WHERE parent_run_id = ? AND cause = 'spawn' AND status = 'running'`,
    activeRoom: `SELECT id FROM ${t.conversations} WHERE channel = 'chatroom' AND team_id = ? AND status = 'active' ORDER BY created_at DESC, id DESC LIMIT 1`,
    oldestActive: `SELECT id FROM ${t.conversations} WHERE status = 'active' AND created_at <= ? ORDER BY created_at, id LIMIT ?`,
    spawnedChildren: `SELECT COUNT(*) AS n FROM ${t.runs} WHERE parent_run_id = ? AND cause = 'spawn' AND status != 'rejected'`,
  };
}

/** @internal A `SELECT *` row (type derived from the drizzle schema; kept out of the published types, which must not reach drizzle's). */
export type OpenRunRowRaw = Pick<RunRow, 'id' | 'conversation_id' | 'parent_run_id' | 'depth' | 'agent_id' | 'cause' | 'status' | 'message_ids'>;

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toOpenRun(r: OpenRunRowRaw): OpenRunRow {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    parentRunId: r.parent_run_id,
    depth: r.depth,
    agentId: r.agent_id,
    cause: r.cause as RunRecord['cause'],
    status: r.status as 'queued' | 'running',
    messageIds: JSON.parse(r.message_ids) as string[],
  };
}

/**
 * Durable steering state of open runs (see the `run_steering` table). The orchestrator's
 * steering board writes through to it on every change and reads it back at start, so a pause,
 * an injected message or a redirect survives a daemon restart.
 *
 * Contract: `save` is one upsert (inside the caller's transaction when open); `loadOpen`
 * returns the rows of runs that are still queued or running and deletes the others (a run
 * that ended while its row's removal was lost in a crash). With several nodes, a command for a
 * queued run is kept here for whichever node starts it: `saveIfQueued` writes only while the
 * run is queued, holding the run's row meanwhile (PostgreSQL `FOR SHARE`), so a start commits
 * either before it (nothing written) or after it (the starting node's `load` sees the row).
 */
export interface RunSteeringState {
  paused: boolean;
  /** Operator messages not yet handed to the run, oldest first. */
  injected: string[];
  redirect?: string | undefined;
  /** Input already handed to the current attempt; a retry after a crash gets it again. */
  applied: string[];
  appliedRedirect?: string | undefined;
}

/** @internal A `SELECT *` row (type derived from the drizzle schema). */
export type SteeringRow = Pick<RunSteeringRow, 'run_id' | 'paused' | 'injected' | 'redirect' | 'applied' | 'applied_redirect'>;

/** The statements of both backends, over the tables' names (`?` placeholders: the PostgreSQL store numbers them). */
export function steeringStatements(steering: string, runs: string, lockRun = '') {
  const upsert = `ON CONFLICT (run_id) DO UPDATE SET paused = excluded.paused, injected = excluded.injected, redirect = excluded.redirect,
        applied = excluded.applied, applied_redirect = excluded.applied_redirect, updated_at = excluded.updated_at`;
  return {
    save: `INSERT INTO ${steering} (run_id, paused, injected, redirect, applied, applied_redirect, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ${upsert}`,
    saveIfQueued: `INSERT INTO ${steering} (run_id, paused, injected, redirect, applied, applied_redirect, updated_at)
      SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM ${runs} WHERE id = ? AND status = 'queued'${lockRun})
      ${upsert} RETURNING run_id`,
    load: `SELECT * FROM ${steering} WHERE run_id = ?`,
    delete: `DELETE FROM ${steering} WHERE run_id = ?`,
    // Rows of runs that ended (their removal was lost in a crash) go.
    deleteClosed: `DELETE FROM ${steering} WHERE run_id NOT IN (SELECT id FROM ${runs} WHERE status IN ('queued', 'running'))`,
    all: `SELECT * FROM ${steering}`,
  };
}

/** The values of `save` after the run id. */
export function steeringValues(state: RunSteeringState): unknown[] {
  return [state.paused ? 1 : 0, JSON.stringify(state.injected), state.redirect ?? null, JSON.stringify(state.applied), state.appliedRedirect ?? null, Date.now()];
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toSteeringStates(rows: readonly SteeringRow[]): Map<string, RunSteeringState> {
  return new Map(
    rows.map((r) => [
      r.run_id,
      {
        paused: r.paused === 1,
        injected: JSON.parse(r.injected) as string[],
        redirect: r.redirect ?? undefined,
        applied: JSON.parse(r.applied) as string[],
        appliedRedirect: r.applied_redirect ?? undefined,
      },
    ]),
  );
}

export interface RunSteeringStoreApi {
  save(runId: string, state: RunSteeringState): Awaitable<void>;
  delete(runId: string): Awaitable<void>;
  loadOpen(): Awaitable<Map<string, RunSteeringState>>;
  /** One run's row (a node starting a run another node may have steered while it was queued). */
  load(runId: string): Awaitable<RunSteeringState | undefined>;
  /**
   * `load` as the transaction's last read: inside a PostgreSQL transaction the rows of every run
   * asked for are read in one statement just before its COMMIT, after its other statements (a
   * start's update of the run has waited for any `saveIfQueued` of it), and the promise resolves
   * then (never if the transaction or its savepoint rolls back: do not await it inside the body).
   * Elsewhere it reads at once.
   */
  loadAtCommit(runId: string): Promise<RunSteeringState | undefined>;
  /** Saves only while the run is queued (a concurrent start waits for it): false when it is not queued. */
  saveIfQueued(runId: string, state: RunSteeringState): Awaitable<boolean>;
}
