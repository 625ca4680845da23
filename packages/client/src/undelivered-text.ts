/**
 * A tag, handoff or room delivery that was not made (a `handoff.undelivered` event, docs/teams.md)
 * as every surface writes it: the router's note to the person, the terminal dashboard, TinyOffice.
 * No zod: the client's root entry loads it.
 */
import type { EventPayload } from './contract/event-map.ts';

type Undelivered = Pick<EventPayload<'handoff.undelivered'>, 'kind' | 'toAgent' | 'room'>;

/** What was not delivered: `message to @vault`, `chat-room post to #dev for @vault`, `chat-room post to #nope`. */
export function undeliveredWhat(d: Undelivered): string {
  if (d.kind === 'mention') return `message to @${d.toAgent}`;
  return `chat-room post to #${d.room}${d.toAgent ? ` for @${d.toAgent}` : ''}`;
}

/** `@other's message to @vault was not delivered: @victim (earlier in this chain) may not call @vault: …`. */
export function undeliveredText(d: Undelivered & { fromAgent: string; reason: string }): string {
  return `@${d.fromAgent}'s ${undeliveredWhat(d)} was not delivered: ${d.reason}`;
}
