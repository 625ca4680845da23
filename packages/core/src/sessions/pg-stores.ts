/**
 * Agent sessions, the agents' chat history and sender defaults on PostgreSQL: the statements,
 * values and mappers of the SQLite stores (./store.ts, ./sqlite-stores.ts) over a `PgScope`.
 */
import { deleteInBatches } from '../storage/pg/helpers.ts';
import { positionalFor, type PgScope } from '../storage/pg/scope.ts';
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

/** A store over a scope with its table's statements (`?` placeholders numbered for PostgreSQL). */
abstract class PgTableStore<S extends Record<string, string | ((...args: never[]) => string)>> {
  protected readonly scope: PgScope;
  protected readonly s: S;

  constructor(scope: PgScope, table: string, statements: (table: string) => S) {
    this.scope = scope;
    this.s = positionalFor(statements, scope.table(table));
  }
}

export class PgAgentSessionStore extends PgTableStore<ReturnType<typeof sessionStatements>> implements AgentSessionStoreApi {
  constructor(scope: PgScope) {
    super(scope, 'agent_sessions', sessionStatements);
  }

  async get(agentId: string, sessionKey: string): Promise<AgentSessionRecord | undefined> {
    const [row] = await this.scope.query<AgentSessionRow>(this.s.get, [agentId, sessionKey]);
    return row ? toSessionRecord(row) : undefined;
  }

  async list(agentId: string): Promise<AgentSessionRecord[]> {
    return (await this.scope.query<AgentSessionRow>(this.s.list, [agentId])).map(toSessionRecord);
  }

  /**
   * One statement, `nextTurn` in SQL: an insert of the first turn, or (the row exists) an update
   * of the row it locks, appending the turn to the stored transcript and keeping its last
   * `maxMessages`. Two nodes recording turns of one session wait for each other's row lock and
   * lose neither turn; no savepoint, no read first.
   */
  async recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput, history: readonly AppendAgentMessageInput[] = []): Promise<AgentSessionRecord> {
    const values = recordTurnValues(agentId, sessionKey, input);
    const upsert = recordTurnSql(this.scope.table('agent_sessions'), 1);
    // The history's insert rides on the upsert (a CTE of its own statement: no statement of its own).
    const sql = history.length === 0 ? upsert : `WITH m AS (${appendManySql(this.scope, 15)}) ${upsert}`;
    const [row] = await this.scope.query<AgentSessionRow>(sql, history.length === 0 ? values : [...values, ...appendManyValues(history)]);
    return toSessionRecord(row!);
  }

  prune(beforeTs: number, batchSize = 1000): Promise<number> {
    return deleteInBatches(this.scope, this.s.prune, [beforeTs], batchSize);
  }

  async resetKeys(sessionKeys: readonly string[]): Promise<number> {
    if (sessionKeys.length === 0) return 0;
    return (await this.scope.query(`${this.s.resetKeys(sessionKeys.length)} RETURNING 1`, [...sessionKeys])).length;
  }

  async reset(agentId: string, sessionKey?: string): Promise<number> {
    const rows = await (sessionKey === undefined ? this.scope.query(`${this.s.resetAgent} RETURNING 1`, [agentId]) : this.scope.query(`${this.s.resetOne} RETURNING 1`, [agentId, sessionKey]));
    return rows.length;
  }
}

export class PgAgentMessageStore extends PgTableStore<ReturnType<typeof agentMessageStatements>> implements AgentMessageStoreApi {
  constructor(scope: PgScope) {
    super(scope, 'agent_messages', agentMessageStatements);
  }

  async append(input: AppendAgentMessageInput): Promise<number> {
    return (await this.scope.query<{ id: number }>(`${this.s.insert} RETURNING id`, agentMessageValues(input)))[0]!.id;
  }

  async appendMany(inputs: readonly AppendAgentMessageInput[]): Promise<number[]> {
    if (inputs.length === 0) return [];
    if (inputs.length === 1) return [await this.append(inputs[0]!)];
    const [row] = await this.scope.query<{ ids: number[] }>(`WITH ins AS (${appendManySql(this.scope, 1)}) SELECT array_agg(id ORDER BY id) AS ids FROM ins`, appendManyValues(inputs));
    return row!.ids.map(Number);
  }

  async list(agentId: string, query: { beforeId?: number; sinceId?: number; limit?: number } = {}): Promise<AgentMessageRecord[]> {
    const page = agentMessagePage(agentId, query);
    return (await this.scope.query<AgentMessageRow>(page.after ? this.s.after : this.s.page, page.values)).map(toAgentMessage);
  }

  prune(beforeTs: number, batchSize = 5000): Promise<number> {
    return deleteInBatches(this.scope, this.s.prune, [beforeTs], batchSize);
  }
}

export class PgSenderDefaultsStore extends PgTableStore<ReturnType<typeof senderDefaultStatements>> implements SenderDefaultsStoreApi {
  constructor(scope: PgScope) {
    super(scope, 'sender_defaults', senderDefaultStatements);
  }

  async get(channel: string, senderId: string): Promise<string | undefined> {
    return (await this.scope.query<{ target: string }>(this.s.get, [channel, senderId]))[0]?.target;
  }

  async set(channel: string, senderId: string, target: string): Promise<void> {
    await this.scope.query(this.s.set, [channel, senderId, target, Date.now()]);
  }

  async clear(channel: string, senderId: string): Promise<boolean> {
    return (await this.scope.query(`${this.s.clear} RETURNING 1`, [channel, senderId])).length > 0;
  }
}

/**
 * The insert of `appendMany`, its nine values (`appendManyValues`) from `$first` on: in input
 * order, so the ids drawn follow it.
 */
export function appendManySql(scope: PgScope, first: number): string {
  const p = (i: number, type: string) => `$${first + i}::${type}[]`;
  return `INSERT INTO ${scope.table('agent_messages')} (agent_id, role, channel, sender, message_id, run_id, conversation_id, content, created_at)
    SELECT a, r, ch, s, m, ru, c, co, t FROM unnest(${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => p(i, 'text')).join(', ')}, ${p(8, 'bigint')})
      WITH ORDINALITY AS u(a, r, ch, s, m, ru, c, co, t, n) ORDER BY n RETURNING id`;
}

/** The values of `appendManySql`: one array per column. */
export function appendManyValues(inputs: readonly AppendAgentMessageInput[]): unknown[][] {
  const rows = inputs.map(agentMessageValues);
  return [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => rows.map((r) => r[k]));
}

/** The values of `recordTurnSql` (14). */
export function recordTurnValues(agentId: string, sessionKey: string, input: RecordTurnInput): unknown[] {
  const first = nextTurn(agentId, sessionKey, undefined, input);
  return [...sessionValues(first), input.sessionId ?? null, input.instructionsHash ?? null, input.runtimeState ?? null, Math.max(2, input.maxMessages ?? 40)];
}

/** A template whose `$n` placeholders are moved by `by` (a statement's part after other values). */
function shifted(by: number): (strings: TemplateStringsArray, ...parts: unknown[]) => string {
  return (strings, ...parts) => String.raw({ raw: strings }, ...parts).replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + by}`);
}

/**
 * `recordTurn` on PostgreSQL. $1–$10 are `sessionValues` of the first turn (what a new row holds),
 * $11–$13 the turn's own session id, instructions hash and runtime state (null: kept while the
 * session stays the same, as `nextTurn` keeps them), $14 the transcript's bound. `json`, not
 * `jsonb`, so the stored text's escapes (a NUL's included) stay as they are.
 */
export function recordTurnSql(t: string, first: number): string {
  const same = 's.session_id = COALESCE($11, s.session_id)';
  return shifted(first - 1)`INSERT INTO ${t} AS s (agent_id, session_key, provider, session_id, transcript, turns, instructions_hash, node, runtime_state, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (agent_id, session_key) DO UPDATE SET
      provider = excluded.provider,
      session_id = COALESCE($11, s.session_id),
      instructions_hash = COALESCE($12, CASE WHEN ${same} THEN s.instructions_hash ELSE '' END),
      runtime_state = COALESCE($13, CASE WHEN ${same} THEN s.runtime_state ELSE '' END),
      node = excluded.node,
      transcript = (SELECT COALESCE(json_agg(k.m ORDER BY k.n), '[]'::json)::text FROM (
        SELECT m, n FROM (
          SELECT m, n FROM json_array_elements(s.transcript::json) WITH ORDINALITY AS a(m, n)
          UNION ALL SELECT m, n + 1000000000 FROM json_array_elements(excluded.transcript::json) WITH ORDINALITY AS b(m, n)
        ) e ORDER BY n DESC LIMIT $14) k),
      turns = s.turns + 1,
      updated_at = excluded.updated_at
    RETURNING *`;
}
