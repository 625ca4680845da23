/**
 * Team chat rooms: one persistent, append-only room per team (`chatroom_messages`).
 *
 * Contract: ids increase strictly, so `list({ afterId })` is a cursor that never repeats or
 * skips a post (the API's pagination and the TUI viewer rely on it). `post` writes inside the
 * caller's transaction when one is open, so a post and the deliveries it causes commit together.
 */
import type { ChatroomRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export interface ChatroomPost {
  id: number;
  teamId: string;
  /** Agent id, or `user` for a human post. */
  fromAgent: string;
  conversationId: string | null;
  content: string;
  createdAt: number;
}

export interface ChatroomListQuery {
  /** Only posts with an id greater than this (exclusive cursor). */
  afterId?: number;
  /** Only posts with an id smaller than this (for paging backwards). */
  beforeId?: number;
  limit?: number;
}

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = ChatroomRow;

export interface ChatroomStoreApi {
  post(input: { teamId: string; fromAgent: string; content: string; conversationId?: string | null }): Awaitable<ChatroomPost>;
  list(teamId: string, query?: ChatroomListQuery): Awaitable<ChatroomPost[]>;
  latest(teamId: string, limit?: number): Awaitable<ChatroomPost[]>;
  /** Whether the room has a post older than `id` (so a "load older" page would not be empty). */
  hasBefore(teamId: string, id: number): Awaitable<boolean>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

/** @internal A row as the post (shared with the PostgreSQL store). */
export function toPost(r: Row): ChatroomPost {
  return { id: r.id, teamId: r.team_id, fromAgent: r.from_agent, conversationId: r.conversation_id, content: r.content, createdAt: r.created_at };
}
