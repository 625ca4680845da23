/**
 * Agent sessions, the agents' chat history and the senders' default targets on SQLite:
 * `AgentSessionStore`, `AgentMessageStore` and `SenderDefaultsStore` over the process's one
 * connection (synchronous). The model they share with the PostgreSQL stores (./pg-stores.ts):
 * the types, the store interfaces, SQL and row mapping are in ./store.ts.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { AgentMessageRow, AgentSessionRow } from '../storage/rows.ts';
import {
  agentMessagePage,
  agentMessageStatements,
  agentMessageValues,
  nextTurn,
  senderDefaultStatements,
  sessionStatements,
  sessionValues,
  toAgentMessage,
  toSessionRecord,
  type AgentMessageRecord,
  type AgentMessageStoreApi,
  type AgentSessionRecord,
  type AgentSessionStoreApi,
  type AppendAgentMessageInput,
  type RecordTurnInput,
  type SenderDefaultsStoreApi,
} from './store.ts';

const SESSIONS = sessionStatements('agent_sessions');
const MESSAGES = agentMessageStatements('agent_messages');
const DEFAULTS = senderDefaultStatements('sender_defaults');

export class AgentSessionStore implements AgentSessionStoreApi {
  readonly #db: TinyDatabase;
  readonly #get;
  readonly #upsert;
  readonly #list;
  readonly #insertMessage;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#get = db.sqlite.prepare(SESSIONS.get);
    this.#upsert = db.sqlite.prepare(SESSIONS.upsert);
    this.#list = db.sqlite.prepare(SESSIONS.list);
    this.#insertMessage = db.sqlite.prepare(MESSAGES.insert);
  }

  get(agentId: string, sessionKey: string): AgentSessionRecord | undefined {
    const row = this.#get.get(agentId, sessionKey) as AgentSessionRow | undefined;
    return row ? toSessionRecord(row) : undefined;
  }

  list(agentId: string): AgentSessionRecord[] {
    return (this.#list.all(agentId) as AgentSessionRow[]).map(toSessionRecord);
  }

  /** Appends one exchange and stores the runtime's session id. Returns the updated record. */
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput, history: readonly AppendAgentMessageInput[] = []): AgentSessionRecord {
    return this.#db.write(() => {
      const next = nextTurn(agentId, sessionKey, this.get(agentId, sessionKey), input);
      this.#upsert.run(...sessionValues(next));
      for (const message of history) this.#insertMessage.run(...agentMessageValues(message));
      return next;
    });
  }

  /**
   * Forgets sessions not used since `beforeTs` (retention): one row per agent and session key
   * (sender, thread) would otherwise accumulate forever. Their next message starts a fresh session.
   */
  prune(beforeTs: number, batchSize = 1000): number {
    return this.#db.deleteInBatches(SESSIONS.prune, [beforeTs], batchSize);
  }

  /** Forgets every agent's sessions under these keys (a chat's `/reset`). Returns how many were removed. */
  resetKeys(sessionKeys: readonly string[]): number {
    if (sessionKeys.length === 0) return 0;
    return this.#db.write(() => this.#db.prepare(SESSIONS.resetKeys(sessionKeys.length)).run(...sessionKeys).changes);
  }

  /** Forgets the agent's sessions (one key, or all): the next run starts fresh. Returns how many were removed. */
  reset(agentId: string, sessionKey?: string): number {
    return this.#db.write(() => (sessionKey === undefined ? this.#db.prepare(SESSIONS.resetAgent).run(agentId) : this.#db.prepare(SESSIONS.resetOne).run(agentId, sessionKey)).changes);
  }
}

export class AgentMessageStore implements AgentMessageStoreApi {
  readonly #db: TinyDatabase;
  readonly #insert;
  readonly #page;
  readonly #after;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#insert = db.sqlite.prepare(MESSAGES.insert);
    this.#page = db.sqlite.prepare(MESSAGES.page);
    this.#after = db.sqlite.prepare(MESSAGES.after);
  }

  /** Inside the caller's transaction when one is open. */
  append(input: AppendAgentMessageInput): number {
    return Number(this.#db.write(() => this.#insert.run(...agentMessageValues(input))).lastInsertRowid);
  }

  appendMany(inputs: readonly AppendAgentMessageInput[]): number[] {
    return this.#db.write(() => inputs.map((input) => Number(this.#insert.run(...agentMessageValues(input)).lastInsertRowid)));
  }

  /**
   * Oldest first: with `sinceId`, the first `limit` messages after it (catching up); otherwise
   * the newest `limit` before `beforeId` (default: the newest).
   */
  list(agentId: string, query: { beforeId?: number; sinceId?: number; limit?: number } = {}): AgentMessageRecord[] {
    const page = agentMessagePage(agentId, query);
    return ((page.after ? this.#after : this.#page).all(...page.values) as AgentMessageRow[]).map(toAgentMessage);
  }

  /** Deletes messages older than `beforeTs`, in batches. */
  prune(beforeTs: number, batchSize = 5000): number {
    return this.#db.deleteInBatches(MESSAGES.prune, [beforeTs], batchSize);
  }
}

export class SenderDefaultsStore implements SenderDefaultsStoreApi {
  readonly #db: TinyDatabase;
  readonly #get;
  readonly #set;
  readonly #clear;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#get = db.sqlite.prepare(DEFAULTS.get).pluck();
    this.#set = db.sqlite.prepare(DEFAULTS.set);
    this.#clear = db.sqlite.prepare(DEFAULTS.clear);
  }

  /** The agent or team id the sender talks to by default, if one is set. */
  get(channel: string, senderId: string): string | undefined {
    return (this.#get.get(channel, senderId) as string | undefined) ?? undefined;
  }

  set(channel: string, senderId: string, target: string): void {
    this.#db.write(() => this.#set.run(channel, senderId, target, Date.now()));
  }

  /** Returns true when a default existed. */
  clear(channel: string, senderId: string): boolean {
    return this.#db.write(() => this.#clear.run(channel, senderId).changes > 0);
  }
}
