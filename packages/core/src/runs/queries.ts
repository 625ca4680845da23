/**
 * Read queries across the queue, runs and conversations tables that the orchestrator needs
 * (open runs, unfinished messages of a conversation, children of a run …). They live in core
 * with the tables, so no other package runs SQL of its own. Read-only: every write goes
 * through the stores.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { RunRecord } from './model.ts';
import type { RunRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

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
export interface ConversationQueriesApi {
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

export class ConversationQueries implements ConversationQueriesApi {
  readonly #unfinishedMessages;
  readonly #messageStatus;
  readonly #openRuns;
  readonly #openRunsOf;
  readonly #latestOfSender;
  readonly #runningChildren;
  readonly #spawnedChildren;
  readonly #activeRoom;
  readonly #oldestActive;
  readonly #pendingOf;

  constructor(db: TinyDatabase) {
    const s = db.sqlite;
    const q = queryStatements({ messages: 'messages', runs: 'runs', conversations: 'conversations' }, '0');
    this.#unfinishedMessages = s.prepare(q.unfinishedMessages).pluck();
    this.#messageStatus = s.prepare(q.messageStatus).pluck();
    this.#pendingOf = s.prepare(q.pendingOf).pluck();
    this.#openRuns = s.prepare(q.openRuns('created_at, rowid'));
    this.#openRunsOf = s.prepare(q.openRunsOf('depth DESC, created_at, rowid'));
    this.#latestOfSender = s.prepare(q.latestOfSender).pluck();
    this.#runningChildren = s.prepare(q.runningChildren).pluck();
    this.#activeRoom = s.prepare(q.activeRoom).pluck();
    this.#oldestActive = s.prepare(q.oldestActive).pluck();
    this.#spawnedChildren = s.prepare(q.spawnedChildren).pluck();
  }

  /** Messages of the conversation still waiting or being processed. */
  unfinishedMessages(conversationId: string): number {
    return this.#unfinishedMessages.get(conversationId) as number;
  }

  /** Ids of the conversation's messages still waiting in the queue. */
  pendingMessagesOf(conversationId: string): string[] {
    return this.#pendingOf.all(conversationId) as string[];
  }

  messageStatus(messageId: string): string | undefined {
    return (this.#messageStatus.get(messageId) as string | undefined) ?? undefined;
  }

  /** Active conversations started at or before `createdBefore`, oldest first. */
  activeStartedBefore(createdBefore: number, limit: number): string[] {
    return this.#oldestActive.all(createdBefore, limit) as string[];
  }

  openRuns(): OpenRunRow[] {
    return (this.#openRuns.all() as Row[]).map(toOpenRun);
  }

  /** Open runs of a conversation, deepest first (children are cancelled before parents). */
  openRunsOf(conversationId: string): OpenRunRow[] {
    return (this.#openRunsOf.all(conversationId) as Row[]).map(toOpenRun);
  }

  /** Recent conversations of a sender, newest first. */
  recentConversationsOf(channel: string, senderId: string, sinceTs: number): string[] {
    return this.#latestOfSender.all(channel, senderId, sinceTs) as string[];
  }

  /** The team room's conversation still in progress, if any (human posts join it). */
  activeRoomConversation(teamId: string): string | undefined {
    return (this.#activeRoom.get(teamId) as string | undefined) ?? undefined;
  }

  spawnedChildren(runId: string): { total: number; running: number } {
    return { total: this.#spawnedChildren.get(runId) as number, running: this.#runningChildren.get(runId) as number };
  }
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
    unfinishedMessages: `SELECT COUNT(*) AS n FROM ${t.messages} WHERE conversation_id = ? AND (status = 'pending' OR (status = 'processing' AND cancel_requested = ${no}))`,
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

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = Pick<RunRow, 'id' | 'conversation_id' | 'parent_run_id' | 'depth' | 'agent_id' | 'cause' | 'status' | 'message_ids'>;

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toOpenRun(r: Row): OpenRunRow {
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
