/**
 * Team chat rooms on PostgreSQL: the contract of the SQLite `ChatroomStore` (./store.ts). A
 * sequence alone could let a post commit after a higher id of the same room was read, and a
 * cursor would skip it; so a post takes its room's advisory lock (held to the end of its
 * transaction) before drawing its id, as the event log does: within a room, ids become visible
 * in order and `list({ afterId })` never repeats or skips a post.
 */
import type { ChatroomStoreApi } from './store.ts';
import { deleteInBatches } from '../storage/pg/helpers.ts';
import type { PgScope } from '../storage/pg/scope.ts';
import type { ChatroomRow } from '../storage/rows.ts';
import { type ChatroomListQuery, type ChatroomPost, toPost } from './store.ts';

export class PgChatroomStore implements ChatroomStoreApi {
  readonly #scope: PgScope;
  readonly #t: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#t = scope.table('chatroom_messages');
  }

  async post(input: { teamId: string; fromAgent: string; content: string; conversationId?: string | null }): Promise<ChatroomPost> {
    const [row] = await this.#scope.query<ChatroomRow>(
      `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtext('tinyagi.chatroom'), hashtext($6 || '/' || $1)))
      INSERT INTO ${this.#t} (team_id, from_agent, conversation_id, content, created_at) SELECT $1, $2, $3, $4, $5::bigint FROM lock RETURNING *`,
      [input.teamId, input.fromAgent, input.conversationId ?? null, input.content, Date.now(), this.#scope.schema],
    );
    return toPost(row!);
  }

  /** Oldest first. With `beforeId` the newest posts before it; otherwise posts after `afterId` (default 0). */
  async list(teamId: string, query: ChatroomListQuery = {}): Promise<ChatroomPost[]> {
    const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
    const rows =
      query.beforeId !== undefined
        ? await this.#scope.query<ChatroomRow>(`SELECT * FROM (SELECT * FROM ${this.#t} WHERE team_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3) p ORDER BY id`, [teamId, query.beforeId, limit])
        : await this.#scope.query<ChatroomRow>(`SELECT * FROM ${this.#t} WHERE team_id = $1 AND id > $2 ORDER BY id LIMIT $3`, [teamId, query.afterId ?? 0, limit]);
    return rows.map(toPost);
  }

  /** The most recent `limit` posts, oldest first. */
  latest(teamId: string, limit = 50): Promise<ChatroomPost[]> {
    return this.list(teamId, { beforeId: Number.MAX_SAFE_INTEGER, limit });
  }

  async hasBefore(teamId: string, id: number): Promise<boolean> {
    return (await this.#scope.query(`SELECT 1 FROM ${this.#t} WHERE team_id = $1 AND id < $2 LIMIT 1`, [teamId, id])).length > 0;
  }

  /** Deletes posts older than `beforeTs`, in batches (retention). */
  prune(beforeTs: number, batchSize = 5000): Promise<number> {
    return deleteInBatches(this.#scope, `DELETE FROM ${this.#t} WHERE id IN (SELECT id FROM ${this.#t} WHERE created_at < $1 ORDER BY id LIMIT $2)`, [beforeTs], batchSize);
  }
}

export function pgChatroomStore(scope: PgScope): PgChatroomStore {
  return new PgChatroomStore(scope);
}
