/**
 * Agent sessions per (agent, session key): the provider's session id to resume (claude
 * --resume, codex resume, opencode --session) and a bounded transcript of the turns, which the
 * HTTP and mock providers receive as history and sub-agent sessions use to continue a child.
 *
 * Contract: `recordTurn` is one upsert (inside the caller's transaction when open); the
 * transcript keeps at most `maxMessages` entries, dropping the oldest; `turns` counts every
 * recorded turn, also the dropped ones.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { AgentSessionStoreApi } from '../storage/interfaces.ts';
import type { AgentSessionRow } from '../storage/rows.ts';

export interface SessionTurnMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface AgentSessionRecord {
  agentId: string;
  sessionKey: string;
  provider: string;
  /** Empty when the provider has no resumable session. */
  sessionId: string;
  transcript: SessionTurnMessage[];
  turns: number;
  /** Hash of the system prompt the provider session last received in-band ('' when none). */
  instructionsHash: string;
  updatedAt: number;
}

export interface RecordTurnInput {
  provider: string;
  sessionId?: string | undefined;
  user: string;
  assistant: string;
  /** Set when the provider session received the system prompt in this turn (kept otherwise). */
  instructionsHash?: string | undefined;
  /** Transcript bound (messages, not turns). Default 40. */
  maxMessages?: number;
}

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = AgentSessionRow;

export class AgentSessionStore implements AgentSessionStoreApi {
  readonly #db: TinyDatabase;
  readonly #get;
  readonly #upsert;
  readonly #list;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#get = db.sqlite.prepare('SELECT * FROM agent_sessions WHERE agent_id = ? AND session_key = ?');
    this.#upsert = db.sqlite.prepare(
      `INSERT INTO agent_sessions (agent_id, session_key, provider, session_id, transcript, turns, instructions_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent_id, session_key) DO UPDATE SET provider = excluded.provider, session_id = excluded.session_id, instructions_hash = excluded.instructions_hash,
         transcript = excluded.transcript, turns = excluded.turns, updated_at = excluded.updated_at`,
    );
    this.#list = db.sqlite.prepare('SELECT * FROM agent_sessions WHERE agent_id = ? ORDER BY updated_at DESC');
  }

  get(agentId: string, sessionKey: string): AgentSessionRecord | undefined {
    const row = this.#get.get(agentId, sessionKey) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  list(agentId: string): AgentSessionRecord[] {
    return (this.#list.all(agentId) as Row[]).map(toRecord);
  }

  /** Appends one exchange and stores the provider's session id. Returns the updated record. */
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput): AgentSessionRecord {
    const max = Math.max(2, input.maxMessages ?? 40);
    return this.#db.write(() => {
      const current = this.get(agentId, sessionKey);
      const transcript = [...(current?.transcript ?? []), { role: 'user' as const, content: input.user }, { role: 'assistant' as const, content: input.assistant }].slice(-max);
      const sessionId = input.sessionId ?? current?.sessionId ?? '';
      const turns = (current?.turns ?? 0) + 1;
      // A new provider session has not seen any instructions yet.
      const sameSession = current !== undefined && current.sessionId === sessionId;
      const instructionsHash = input.instructionsHash ?? (sameSession ? current.instructionsHash : '');
      const updatedAt = Date.now();
      this.#upsert.run(agentId, sessionKey, input.provider, sessionId, JSON.stringify(transcript), turns, instructionsHash, updatedAt);
      return { agentId, sessionKey, provider: input.provider, sessionId, transcript, turns, instructionsHash, updatedAt };
    });
  }

  /**
   * Forgets sessions not used since `beforeTs` (retention): one row per agent and session key
   * (sender, thread) would otherwise accumulate forever. Their next message starts a fresh session.
   */
  prune(beforeTs: number, batchSize = 1000): number {
    return this.#db.deleteInBatches('DELETE FROM agent_sessions WHERE rowid IN (SELECT rowid FROM agent_sessions WHERE updated_at < ? LIMIT ?)', [beforeTs], batchSize);
  }

  /** Forgets every agent's sessions under these keys (a chat's `/reset`). Returns how many were removed. */
  resetKeys(sessionKeys: readonly string[]): number {
    if (sessionKeys.length === 0) return 0;
    return this.#db.write(() => this.#db.prepare(`DELETE FROM agent_sessions WHERE session_key IN (${sessionKeys.map(() => '?').join(', ')})`).run(...sessionKeys).changes);
  }

  /** Forgets the agent's sessions (one key, or all): the next run starts fresh. Returns how many were removed. */
  reset(agentId: string, sessionKey?: string): number {
    return this.#db.write(() =>
      sessionKey === undefined
        ? this.#db.prepare('DELETE FROM agent_sessions WHERE agent_id = ?').run(agentId).changes
        : this.#db.prepare('DELETE FROM agent_sessions WHERE agent_id = ? AND session_key = ?').run(agentId, sessionKey).changes,
    );
  }
}

function toRecord(r: Row): AgentSessionRecord {
  return {
    agentId: r.agent_id,
    sessionKey: r.session_key,
    provider: r.provider,
    sessionId: r.session_id,
    transcript: JSON.parse(r.transcript) as SessionTurnMessage[],
    turns: r.turns,
    instructionsHash: r.instructions_hash,
    updatedAt: r.updated_at,
  };
}
