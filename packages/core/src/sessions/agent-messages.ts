/**
 * Per-agent chat history (what TinyOffice shows on an agent's page): every message an agent
 * received and every reply it gave, append-only, pruned by retention.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { AgentMessageStoreApi } from '../storage/interfaces.ts';
import type { AgentMessageRow } from '../storage/rows.ts';

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

export class AgentMessageStore implements AgentMessageStoreApi {
  readonly #db: TinyDatabase;
  readonly #insert;
  readonly #page;
  readonly #after;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#insert = db.sqlite.prepare('INSERT INTO agent_messages (agent_id, role, channel, sender, message_id, run_id, conversation_id, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.#page = db.sqlite.prepare('SELECT * FROM (SELECT * FROM agent_messages WHERE agent_id = ? AND id < ? ORDER BY id DESC LIMIT ?) ORDER BY id');
    this.#after = db.sqlite.prepare('SELECT * FROM agent_messages WHERE agent_id = ? AND id > ? ORDER BY id LIMIT ?');
  }

  /** Inside the caller's transaction when one is open. */
  append(input: AppendAgentMessageInput): number {
    const info = this.#db.write(() =>
      this.#insert.run(input.agentId, input.role, input.channel, input.sender ?? '', input.messageId ?? null, input.runId ?? null, input.conversationId ?? null, input.content, Date.now()),
    );
    return Number(info.lastInsertRowid);
  }

  /**
   * Oldest first: with `sinceId`, the first `limit` messages after it (catching up); otherwise
   * the newest `limit` before `beforeId` (default: the newest).
   */
  list(agentId: string, query: { beforeId?: number; sinceId?: number; limit?: number } = {}): AgentMessageRecord[] {
    const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
    const rows = query.sinceId !== undefined ? this.#after.all(agentId, query.sinceId, limit) : this.#page.all(agentId, query.beforeId ?? Number.MAX_SAFE_INTEGER, limit);
    return (rows as Row[]).map(toRecord);
  }

  /** Deletes messages older than `beforeTs`, in batches. */
  prune(beforeTs: number, batchSize = 5000): number {
    return this.#db.deleteInBatches('DELETE FROM agent_messages WHERE id IN (SELECT id FROM agent_messages WHERE created_at < ? ORDER BY id LIMIT ?)', [beforeTs], batchSize);
  }
}

function toRecord(r: Row): AgentMessageRecord {
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
