/**
 * A chat room's posts in the page: merged by id, so a page that overlaps one already shown (a
 * live catch-up racing the first load, "load older" after new posts) never shows a post twice.
 */
import type { ChatroomMessage } from '@tinyagi/client';

/** `current` and `incoming` merged, one entry per id, oldest first. */
export function mergePosts(current: readonly ChatroomMessage[], incoming: readonly ChatroomMessage[]): ChatroomMessage[] {
  if (incoming.length === 0) return current as ChatroomMessage[];
  const byId = new Map<number, ChatroomMessage>();
  for (const p of current) byId.set(p.id, p);
  for (const p of incoming) byId.set(p.id, p);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
