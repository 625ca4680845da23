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
import type { AgentSessionRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

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
  /**
   * The node whose agent CLI keeps the provider session (its files live on that machine), '' with
   * one process. The orchestrator of another node starts a new session instead of resuming it.
   */
  node: string;
  /**
   * What the agent CLI's adapter keeps about its provider session between turns ('' when
   * nothing): the point a retry resumes from, the session's usage totals (adapters/*.ts).
   */
  providerState: string;
  updatedAt: number;
}

export interface RecordTurnInput {
  provider: string;
  sessionId?: string | undefined;
  user: string;
  assistant: string;
  /** Set when the provider session received the system prompt in this turn (kept otherwise). */
  instructionsHash?: string | undefined;
  /** The adapter's state after this turn (kept otherwise, while the provider session stays the same). */
  providerState?: string | undefined;
  /** Transcript bound (messages, not turns). Default 40. */
  maxMessages?: number;
  /** The node that ran the turn (several nodes on PostgreSQL); default ''. */
  node?: string | undefined;
}

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = AgentSessionRow;

/** The statements of both backends, over the table's name (`?` placeholders: the PostgreSQL store numbers them). */
export function sessionStatements(t: string) {
  const insert = `INSERT INTO ${t} (agent_id, session_key, provider, session_id, transcript, turns, instructions_hash, node, provider_state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  return {
    get: `SELECT * FROM ${t} WHERE agent_id = ? AND session_key = ?`,
    /** A first turn (PostgreSQL, which locks the row it reads: a row inserted meanwhile is read again). */
    insertNew: `${insert} ON CONFLICT (agent_id, session_key) DO NOTHING`,
    upsert: `${insert}
       ON CONFLICT (agent_id, session_key) DO UPDATE SET provider = excluded.provider, session_id = excluded.session_id, instructions_hash = excluded.instructions_hash, node = excluded.node, provider_state = excluded.provider_state,
         transcript = excluded.transcript, turns = excluded.turns, updated_at = excluded.updated_at`,
    list: `SELECT * FROM ${t} WHERE agent_id = ? ORDER BY updated_at DESC`,
    resetKeys: (n: number) => `DELETE FROM ${t} WHERE session_key IN (${Array.from({ length: n }, () => '?').join(', ')})`,
    resetAgent: `DELETE FROM ${t} WHERE agent_id = ?`,
    resetOne: `DELETE FROM ${t} WHERE agent_id = ? AND session_key = ?`,
    /** Batches by key (SQLite's rowid is not portable); values: before, batch size. */
    prune: `DELETE FROM ${t} WHERE (agent_id, session_key) IN (SELECT agent_id, session_key FROM ${t} WHERE updated_at < ? LIMIT ?)`,
  };
}

/** The session after one more turn (`current`: the stored one, if any): what `recordTurn` writes and returns. */
export function nextTurn(agentId: string, sessionKey: string, current: AgentSessionRecord | undefined, input: RecordTurnInput): AgentSessionRecord {
  const max = Math.max(2, input.maxMessages ?? 40);
  const transcript = [...(current?.transcript ?? []), { role: 'user' as const, content: input.user }, { role: 'assistant' as const, content: input.assistant }].slice(-max);
  const sessionId = input.sessionId ?? current?.sessionId ?? '';
  const turns = (current?.turns ?? 0) + 1;
  // A new provider session has not seen any instructions yet.
  const sameSession = current !== undefined && current.sessionId === sessionId;
  const instructionsHash = input.instructionsHash ?? (sameSession ? current.instructionsHash : '');
  const providerState = input.providerState ?? (sameSession ? current.providerState : '');
  return { agentId, sessionKey, provider: input.provider, sessionId, transcript, turns, instructionsHash, node: input.node ?? '', providerState, updatedAt: Date.now() };
}

/** The values of the upsert. */
export function sessionValues(r: AgentSessionRecord): unknown[] {
  return [r.agentId, r.sessionKey, r.provider, r.sessionId, JSON.stringify(r.transcript), r.turns, r.instructionsHash, r.node, r.providerState, r.updatedAt];
}

const S = sessionStatements('agent_sessions');

export interface AgentSessionStoreApi {
  get(agentId: string, sessionKey: string): Awaitable<AgentSessionRecord | undefined>;
  list(agentId: string): Awaitable<AgentSessionRecord[]>;
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput): Awaitable<AgentSessionRecord>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
  resetKeys(sessionKeys: readonly string[]): Awaitable<number>;
  reset(agentId: string, sessionKey?: string): Awaitable<number>;
}

export class AgentSessionStore implements AgentSessionStoreApi {
  readonly #db: TinyDatabase;
  readonly #get;
  readonly #upsert;
  readonly #list;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#get = db.sqlite.prepare(S.get);
    this.#upsert = db.sqlite.prepare(S.upsert);
    this.#list = db.sqlite.prepare(S.list);
  }

  get(agentId: string, sessionKey: string): AgentSessionRecord | undefined {
    const row = this.#get.get(agentId, sessionKey) as Row | undefined;
    return row ? toSessionRecord(row) : undefined;
  }

  list(agentId: string): AgentSessionRecord[] {
    return (this.#list.all(agentId) as Row[]).map(toSessionRecord);
  }

  /** Appends one exchange and stores the provider's session id. Returns the updated record. */
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput): AgentSessionRecord {
    return this.#db.write(() => {
      const next = nextTurn(agentId, sessionKey, this.get(agentId, sessionKey), input);
      this.#upsert.run(...sessionValues(next));
      return next;
    });
  }

  /**
   * Forgets sessions not used since `beforeTs` (retention): one row per agent and session key
   * (sender, thread) would otherwise accumulate forever. Their next message starts a fresh session.
   */
  prune(beforeTs: number, batchSize = 1000): number {
    return this.#db.deleteInBatches(S.prune, [beforeTs], batchSize);
  }

  /** Forgets every agent's sessions under these keys (a chat's `/reset`). Returns how many were removed. */
  resetKeys(sessionKeys: readonly string[]): number {
    if (sessionKeys.length === 0) return 0;
    return this.#db.write(() => this.#db.prepare(S.resetKeys(sessionKeys.length)).run(...sessionKeys).changes);
  }

  /** Forgets the agent's sessions (one key, or all): the next run starts fresh. Returns how many were removed. */
  reset(agentId: string, sessionKey?: string): number {
    return this.#db.write(() => (sessionKey === undefined ? this.#db.prepare(S.resetAgent).run(agentId) : this.#db.prepare(S.resetOne).run(agentId, sessionKey)).changes);
  }
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toSessionRecord(r: Row): AgentSessionRecord {
  return {
    agentId: r.agent_id,
    sessionKey: r.session_key,
    provider: r.provider,
    sessionId: r.session_id,
    transcript: JSON.parse(r.transcript) as SessionTurnMessage[],
    turns: r.turns,
    instructionsHash: r.instructions_hash,
    node: r.node,
    providerState: r.provider_state,
    updatedAt: r.updated_at,
  };
}
