/**
 * The chat rooms on SQLite: `ChatroomStore` over the process's one connection (synchronous; every method
 * returns a plain value). The model it shares with the PostgreSQL store (./pg-store.ts): the
 * types, the store interface, the rules, SQL and row mapping are in ./store.ts.
 */
import type { ChatroomRow } from '../storage/rows.ts';
import type { TinyDatabase } from '../storage/database.ts';
import { type ChatroomListQuery, type ChatroomPost, type ChatroomStoreApi, toPost } from './store.ts';

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = ChatroomRow;

export class ChatroomStore implements ChatroomStoreApi {
  readonly #db: TinyDatabase;
  readonly #insert;
  readonly #after;
  readonly #before;
  readonly #anyBefore;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#insert = db.sqlite.prepare('INSERT INTO chatroom_messages (team_id, from_agent, conversation_id, content, created_at) VALUES (?, ?, ?, ?, ?)');
    this.#after = db.sqlite.prepare('SELECT * FROM chatroom_messages WHERE team_id = ? AND id > ? ORDER BY id LIMIT ?');
    this.#before = db.sqlite.prepare('SELECT * FROM (SELECT * FROM chatroom_messages WHERE team_id = ? AND id < ? ORDER BY id DESC LIMIT ?) ORDER BY id');
    this.#anyBefore = db.sqlite.prepare('SELECT 1 FROM chatroom_messages WHERE team_id = ? AND id < ? LIMIT 1');
  }

  post(input: { teamId: string; fromAgent: string; content: string; conversationId?: string | null }): ChatroomPost {
    const createdAt = Date.now();
    const info = this.#db.write(() => this.#insert.run(input.teamId, input.fromAgent, input.conversationId ?? null, input.content, createdAt));
    return { id: Number(info.lastInsertRowid), teamId: input.teamId, fromAgent: input.fromAgent, conversationId: input.conversationId ?? null, content: input.content, createdAt };
  }

  /** Oldest first. With `beforeId` the newest posts before it; otherwise posts after `afterId` (default 0). */
  list(teamId: string, query: ChatroomListQuery = {}): ChatroomPost[] {
    const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
    const rows = query.beforeId !== undefined ? (this.#before.all(teamId, query.beforeId, limit) as Row[]) : (this.#after.all(teamId, query.afterId ?? 0, limit) as Row[]);
    return rows.map(toPost);
  }

  /** The most recent `limit` posts, oldest first. */
  latest(teamId: string, limit = 50): ChatroomPost[] {
    return this.list(teamId, { beforeId: Number.MAX_SAFE_INTEGER, limit });
  }

  /** Whether the room has a post older than `id` (so a "load older" page would not be empty). */
  hasBefore(teamId: string, id: number): boolean {
    return this.#anyBefore.get(teamId, id) !== undefined;
  }

  /** Deletes posts older than `beforeTs`, in batches (retention). Ids stay increasing, so cursors stay valid. */
  prune(beforeTs: number, batchSize = 5000): number {
    return this.#db.deleteInBatches('DELETE FROM chatroom_messages WHERE id IN (SELECT id FROM chatroom_messages WHERE created_at < ? ORDER BY id LIMIT ?)', [beforeTs], batchSize);
  }
}
