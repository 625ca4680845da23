/**
 * Notes for an agent about its own last turn (a tag that could not be delivered, a file that was
 * not sent), shown at the top of its next turn in the same CLI session: the session that wrote
 * the tag remembers it, and another sender's session must never see notes about someone else's
 * conversation. In memory only (a note is advice, not state); at most MAX_SESSIONS sessions keep
 * notes, the oldest dropped first.
 */
const MAX_SESSIONS = 500;

export class AgentNotes {
  readonly #notes = new Map<string, string[]>();

  /** Adds notes for `agentId`'s next turn in `sessionKey`. */
  add(agentId: string, sessionKey: string, notes: readonly string[]): void {
    if (notes.length === 0) return;
    const key = slot(agentId, sessionKey);
    const pending = this.#notes.get(key) ?? [];
    this.#notes.delete(key);
    this.#notes.set(key, [...pending, ...notes]);
    for (const oldest of this.#notes.keys()) {
      if (this.#notes.size <= MAX_SESSIONS) break;
      this.#notes.delete(oldest);
    }
  }

  /** The notes waiting for `agentId` in `sessionKey`, removed. */
  take(agentId: string, sessionKey: string): string[] {
    const key = slot(agentId, sessionKey);
    const pending = this.#notes.get(key) ?? [];
    this.#notes.delete(key);
    return pending;
  }
}

const slot = (agentId: string, sessionKey: string): string => `${agentId}\u0000${sessionKey}`;
