/**
 * Per-agent chat history (what TinyOffice shows on an agent's page): every message an agent
 * received and every reply it gave, append-only, pruned by retention.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { AgentMessageRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

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
type Row = AgentMessageRow;

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

const S = agentMessageStatements('agent_messages');

export interface AgentMessageStoreApi {
  append(input: AppendAgentMessageInput): Awaitable<number>;
  list(agentId: string, query?: { beforeId?: number; sinceId?: number; limit?: number }): Awaitable<AgentMessageRecord[]>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

export class AgentMessageStore implements AgentMessageStoreApi {
  readonly #db: TinyDatabase;
  readonly #insert;
  readonly #page;
  readonly #after;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#insert = db.sqlite.prepare(S.insert);
    this.#page = db.sqlite.prepare(S.page);
    this.#after = db.sqlite.prepare(S.after);
  }

  /** Inside the caller's transaction when one is open. */
  append(input: AppendAgentMessageInput): number {
    return Number(this.#db.write(() => this.#insert.run(...agentMessageValues(input))).lastInsertRowid);
  }

  /**
   * Oldest first: with `sinceId`, the first `limit` messages after it (catching up); otherwise
   * the newest `limit` before `beforeId` (default: the newest).
   */
  list(agentId: string, query: { beforeId?: number; sinceId?: number; limit?: number } = {}): AgentMessageRecord[] {
    const page = agentMessagePage(agentId, query);
    return ((page.after ? this.#after : this.#page).all(...page.values) as Row[]).map(toAgentMessage);
  }

  /** Deletes messages older than `beforeTs`, in batches. */
  prune(beforeTs: number, batchSize = 5000): number {
    return this.#db.deleteInBatches(S.prune, [beforeTs], batchSize);
  }
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toAgentMessage(r: Row): AgentMessageRecord {
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
