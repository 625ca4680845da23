import type { AgentMessageRow, AgentSessionRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

/**
 * Agent sessions per (agent, session key): the runtime's session id to resume (claude
 * --resume, codex resume, opencode --session) and a bounded transcript of the turns, which the
 * HTTP and mock providers receive as history and sub-agent sessions use to continue a child.
 *
 * Contract: `recordTurn` is one upsert (inside the caller's transaction when open); the
 * transcript keeps at most `maxMessages` entries, dropping the oldest; `turns` counts every
 * recorded turn, also the dropped ones.
 */
export interface SessionTurnMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface AgentSessionRecord {
  agentId: string;
  sessionKey: string;
  provider: string;
  /** Empty when the provider has no resumable session. */
  sessionId: string;
  transcript: SessionTurnMessage[];
  turns: number;
  /** Hash of the system prompt the session last received in-band ('' when none). */
  instructionsHash: string;
  /**
   * The node whose agent CLI keeps the session (its files live on that machine), '' with
   * one process. The orchestrator of another node starts a new session instead of resuming it.
   */
  node: string;
  /**
   * What the agent CLI's runtime keeps about its session between turns ('' when
   * nothing): the point a retry resumes from, the session's usage totals (runtimes/*.ts); for a
   * CLI, with the side of the boundary `sessionId` lives on and the other side's session
   * (invoker/session-side.ts).
   */
  runtimeState: string;
  updatedAt: number;
}

export interface RecordTurnInput {
  provider: string;
  sessionId?: string | undefined;
  user: string;
  assistant: string;
  /** Set when the session received the system prompt in this turn (kept otherwise). */
  instructionsHash?: string | undefined;
  /** The runtime's state after this turn (kept otherwise, while the session stays the same). */
  runtimeState?: string | undefined;
  /** Transcript bound (messages, not turns). Default 40. */
  maxMessages?: number;
  /** The node that ran the turn (several nodes on PostgreSQL); default ''. */
  node?: string | undefined;
}

/** A `SELECT *` row (type derived from the drizzle schema). */

/** The statements of both backends, over the table's name (`?` placeholders: the PostgreSQL store numbers them). */
export function sessionStatements(t: string) {
  const insert = `INSERT INTO ${t} (agent_id, session_key, provider, session_id, transcript, turns, instructions_hash, node, runtime_state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  return {
    get: `SELECT * FROM ${t} WHERE agent_id = ? AND session_key = ?`,
    /** A first turn (PostgreSQL, which locks the row it reads: a row inserted meanwhile is read again). */
    insertNew: `${insert} ON CONFLICT (agent_id, session_key) DO NOTHING`,
    upsert: `${insert}
       ON CONFLICT (agent_id, session_key) DO UPDATE SET provider = excluded.provider, session_id = excluded.session_id, instructions_hash = excluded.instructions_hash, node = excluded.node, runtime_state = excluded.runtime_state,
         transcript = excluded.transcript, turns = excluded.turns, updated_at = excluded.updated_at`,
    list: `SELECT * FROM ${t} WHERE agent_id = ? ORDER BY updated_at DESC`,
    resetKeys: (n: number) => `DELETE FROM ${t} WHERE session_key IN (${Array.from({ length: n }, () => '?').join(', ')})`,
    resetAgent: `DELETE FROM ${t} WHERE agent_id = ?`,
    resetOne: `DELETE FROM ${t} WHERE agent_id = ? AND session_key = ?`,
    /** Batches by key (SQLite's rowid is not portable); values: before, batch size. */
    prune: `DELETE FROM ${t} WHERE (agent_id, session_key) IN (SELECT agent_id, session_key FROM ${t} WHERE updated_at < ? LIMIT ?)`,
  };
}

/** The session after one more turn (`current`: the stored one, if any): what `recordTurn` writes and returns. */
export function nextTurn(agentId: string, sessionKey: string, current: AgentSessionRecord | undefined, input: RecordTurnInput): AgentSessionRecord {
  const max = Math.max(2, input.maxMessages ?? 40);
  const transcript = [...(current?.transcript ?? []), { role: 'user' as const, content: input.user }, { role: 'assistant' as const, content: input.assistant }].slice(-max);
  const sessionId = input.sessionId ?? current?.sessionId ?? '';
  const turns = (current?.turns ?? 0) + 1;
  // A new session has not seen any instructions yet.
  const sameSession = current !== undefined && current.sessionId === sessionId;
  const instructionsHash = input.instructionsHash ?? (sameSession ? current.instructionsHash : '');
  const runtimeState = input.runtimeState ?? (sameSession ? current.runtimeState : '');
  return { agentId, sessionKey, provider: input.provider, sessionId, transcript, turns, instructionsHash, node: input.node ?? '', runtimeState, updatedAt: Date.now() };
}

/** The values of the upsert. */
export function sessionValues(r: AgentSessionRecord): unknown[] {
  return [r.agentId, r.sessionKey, r.provider, r.sessionId, JSON.stringify(r.transcript), r.turns, r.instructionsHash, r.node, r.runtimeState, r.updatedAt];
}

/** A turn of an agent's session with its chat messages: `AgentSessionStoreApi.recordTurn`'s arguments. */
export interface TurnWrite {
  agentId: string;
  sessionKey: string;
  input: RecordTurnInput;
  history: readonly AppendAgentMessageInput[];
}

export interface AgentSessionStoreApi {
  get(agentId: string, sessionKey: string): Awaitable<AgentSessionRecord | undefined>;
  list(agentId: string): Awaitable<AgentSessionRecord[]>;
  /** `history`: the agent's chat messages of the turn (`AgentMessageStoreApi.appendMany`), appended in order in the same write (one statement on PostgreSQL). */
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput, history?: readonly AppendAgentMessageInput[]): Awaitable<AgentSessionRecord>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
  resetKeys(sessionKeys: readonly string[]): Awaitable<number>;
  reset(agentId: string, sessionKey?: string): Awaitable<number>;
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toSessionRecord(r: AgentSessionRow): AgentSessionRecord {
  return {
    agentId: r.agent_id,
    sessionKey: r.session_key,
    provider: r.provider,
    sessionId: r.session_id,
    transcript: JSON.parse(r.transcript) as SessionTurnMessage[],
    turns: r.turns,
    instructionsHash: r.instructions_hash,
    node: r.node,
    runtimeState: r.runtime_state,
    updatedAt: r.updated_at,
  };
}

/**
 * Per-agent chat history (what TinyOffice shows on an agent's page): every message an agent
 * received and every reply it gave, append-only, pruned by retention.
 */
export interface AgentMessageRecord {
  id: number;
  agentId: string;
  role: 'user' | 'assistant';
  channel: string;
  sender: string;
  messageId: string | null;
  runId: string | null;
  conversationId: string | null;
  content: string;
  createdAt: number;
}

export interface AppendAgentMessageInput {
  agentId: string;
  role: 'user' | 'assistant';
  channel: string;
  sender?: string;
  messageId?: string | null;
  runId?: string | null;
  conversationId?: string | null;
  content: string;
}

/** A `SELECT *` row (type derived from the drizzle schema). */

/** The statements of both backends, over the table's name (`?` placeholders: the PostgreSQL store numbers them). */
export function agentMessageStatements(t: string) {
  return {
    insert: `INSERT INTO ${t} (agent_id, role, channel, sender, message_id, run_id, conversation_id, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    page: `SELECT * FROM (SELECT * FROM ${t} WHERE agent_id = ? AND id < ? ORDER BY id DESC LIMIT ?) p ORDER BY id`,
    after: `SELECT * FROM ${t} WHERE agent_id = ? AND id > ? ORDER BY id LIMIT ?`,
    prune: `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE created_at < ? ORDER BY id LIMIT ?)`,
  };
}

export function agentMessageValues(input: AppendAgentMessageInput): unknown[] {
  return [input.agentId, input.role, input.channel, input.sender ?? '', input.messageId ?? null, input.runId ?? null, input.conversationId ?? null, input.content, Date.now()];
}

/** Which statement `list` runs and its values. */
export function agentMessagePage(agentId: string, query: { beforeId?: number; sinceId?: number; limit?: number }): { after: boolean; values: unknown[] } {
  const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
  return query.sinceId !== undefined ? { after: true, values: [agentId, query.sinceId, limit] } : { after: false, values: [agentId, query.beforeId ?? Number.MAX_SAFE_INTEGER, limit] };
}

export interface AgentMessageStoreApi {
  append(input: AppendAgentMessageInput): Awaitable<number>;
  /** Several messages in order (one statement on PostgreSQL); returns their ids. */
  appendMany(inputs: readonly AppendAgentMessageInput[]): Awaitable<number[]>;
  list(agentId: string, query?: { beforeId?: number; sinceId?: number; limit?: number }): Awaitable<AgentMessageRecord[]>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toAgentMessage(r: AgentMessageRow): AgentMessageRecord {
  return {
    id: r.id,
    agentId: r.agent_id,
    role: r.role as 'user' | 'assistant',
    channel: r.channel,
    sender: r.sender,
    messageId: r.message_id,
    runId: r.run_id,
    conversationId: r.conversation_id,
    content: r.content,
    createdAt: r.created_at,
  };
}

/**
 * Sticky default targets per (channel, sender id): `@coder` alone makes coder the sender's
 * default, `@default` clears it. Kept in the database, not settings.json, so channel traffic
 * never races the user's edits of the settings file.
 */
/** The statements of both backends, over the table's name (`?` placeholders: the PostgreSQL store numbers them). */
export function senderDefaultStatements(t: string) {
  return {
    get: `SELECT target FROM ${t} WHERE channel = ? AND sender_id = ?`,
    set: `INSERT INTO ${t} (channel, sender_id, target, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel, sender_id) DO UPDATE SET target = excluded.target, updated_at = excluded.updated_at`,
    clear: `DELETE FROM ${t} WHERE channel = ? AND sender_id = ?`,
  };
}

export interface SenderDefaultsStoreApi {
  get(channel: string, senderId: string): Awaitable<string | undefined>;
  set(channel: string, senderId: string, target: string): Awaitable<void>;
  clear(channel: string, senderId: string): Awaitable<boolean>;
}
