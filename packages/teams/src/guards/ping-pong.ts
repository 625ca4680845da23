/**
 * Ping-pong detection: A -> B -> A -> B … without new human input. Every teammate message
 * carries the length of the back-and-forth run it continues; a reply to the agent that just
 * wrote to you continues the run, anything else starts a new one. Pure.
 */
export interface PingPongState {
  /** Agents of the current back-and-forth (sorted), or null for a fresh exchange. */
  pair: [string, string] | null;
  count: number;
}

export function nextPingPong(previous: PingPongState | undefined, previousFrom: string | null, from: string, to: string): PingPongState {
  const pair = [from, to].sort() as [string, string];
  const last = previous?.pair;
  const continues = last != null && previousFrom === to && last[0] === pair[0] && last[1] === pair[1];
  return { pair, count: continues ? (previous?.count ?? 0) + 1 : 1 };
}
