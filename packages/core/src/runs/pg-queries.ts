/**
 * The orchestrator's read queries across queue, runs and conversations on PostgreSQL: the
 * statements and mappers of the SQLite `ConversationQueries` (runs/store.ts, runs/sqlite-store.ts), over a `PgScope`
 * (inside a transaction they see its uncommitted writes).
 */
import type { CompletionState, ConversationQueriesApi, RunContext, RunContextQuery } from './store.ts';
import { positional, positionalAll, type PgScope } from '../storage/pg/scope.ts';
import { planAtEveryCall } from '../storage/pg/statements.ts';
import type { AgentSessionRow, ConversationRow, RunRow } from '../storage/rows.ts';
import { appendManySql, appendManyValues, recordTurnSql, recordTurnValues } from '../sessions/pg-stores.ts';
import { toSessionRecord, type TurnWrite } from '../sessions/store.ts';
import { queryStatements, runStatements, toConversation, toOpenRun, toRun, type OpenRunRow } from './store.ts';

const statementsBySchema = new Map<string, ReturnType<typeof pgStatements>>();

function pgStatements(scope: PgScope) {
  const t = { messages: scope.table('messages'), runs: scope.table('runs'), conversations: scope.table('conversations') };
  const raw = queryStatements(t, 'false');
  const q = positionalAll(raw);
  // Rows as JSON (bigint and numeric as numbers, jsonb as objects, as node-postgres with our
  // parsers gives them), so several tables' rows come back in one statement. A batch's context,
  // for one batch or several at once (`PgConversationQueries.runContext`): one row per query, its
  // arrays as JSON; `= ANY(ARRAY(…))` keeps each query's runs an index lookup. Planned at every
  // call: its runs lookup got a generic plan on some connections while the table was small, a
  // sequential scan that grew with it (B5: 1–5 ms a call at 10,000 runs, against 0.1 ms by the index).
  const runContexts = planAtEveryCall(`SELECT q.n, (SELECT row_to_json(c) FROM ${t.conversations} c WHERE c.id = q.conversation_id) AS conversation,
      (SELECT json_agg(r) FROM ${t.runs} r WHERE r.id = ANY(ARRAY(SELECT jsonb_array_elements_text(q.run_ids)))) AS runs,
      (SELECT row_to_json(s) FROM ${scope.table('agent_sessions')} s WHERE s.agent_id = q.agent_id AND s.session_key = q.session_key) AS session,
      CASE WHEN jsonb_array_length(q.kinds) > 0 THEN ${scope.table('memory_scopes_hold')}(ARRAY(SELECT jsonb_array_elements_text(q.kinds)), ARRAY(SELECT jsonb_array_elements_text(q.ids))) END AS memory_held
    FROM jsonb_to_recordset($1::jsonb) AS q(n int, conversation_id text, run_ids jsonb, agent_id text, session_key text, kinds jsonb, ids jsonb)`);
  // `turnSql` puts a session's turn before it (`completionState`'s `turn`).
  const completionState = `n AS (SELECT (${positional(runStatements(t.conversations, t.runs, '"C"').openRunCount)}) AS open_runs,
      (${positional(raw.unfinishedMessages)}) AS unfinished)
    SELECT (SELECT row_to_json(c) FROM ${t.conversations} c WHERE c.id = $1) AS conversation, n.open_runs, n.unfinished,
      CASE WHEN n.open_runs = 0 AND n.unfinished = 0 THEN (SELECT json_agg(r ORDER BY r.created_at, r.id) FROM ${t.runs} r WHERE r.conversation_id = $1) END AS runs
    FROM n`;
  // Ties of created_at by id (ULIDs, increasing within a process), where SQLite uses rowid.
  const sessions = scope.table('agent_sessions');
  const turnSql = (history: boolean) => `WITH session_turn AS (${recordTurnSql(sessions, 2)}),${history ? ` turn_history AS (${appendManySql(scope, 16)}),` : ''} ${completionState}`;
  return {
    ...q,
    runContexts,
    completionState: `WITH ${completionState}`,
    turnSql: [turnSql(false), turnSql(true)] as const,
    openRuns: q.openRuns('created_at, id'),
    openRunsOf: q.openRunsOf('depth DESC, created_at, id'),
  };
}

type RunContextRow = { conversation: ConversationRow | null; runs: RunRow[] | null; session: AgentSessionRow | null; memory_held: boolean | null };

function toRunContext(row: RunContextRow): RunContext {
  return {
    conversation: row.conversation ? toConversation(row.conversation) : undefined,
    runs: (row.runs ?? []).map(toRun),
    session: row.session ? toSessionRecord(row.session) : undefined,
    ...(row.memory_held === null ? {} : { memoryHeld: row.memory_held }),
  };
}

export class PgConversationQueries implements ConversationQueriesApi {
  readonly #scope: PgScope;
  readonly #q: ReturnType<typeof pgStatements>;
  /** `runContext` calls over the pool waiting for this turn's read. */
  #contextsAsked: Array<{ query: RunContextQuery; resolve: (context: RunContext) => void; reject: (err: unknown) => void }> = [];

  constructor(scope: PgScope) {
    this.#scope = scope;
    let q = statementsBySchema.get(scope.schema);
    if (!q) {
      q = pgStatements(scope);
      statementsBySchema.set(scope.schema, q);
    }
    this.#q = q;
  }

  async #count(sql: string, values: unknown[]): Promise<number> {
    return (await this.#scope.query<{ n: number }>(sql, values))[0]!.n;
  }

  async #ids(sql: string, values: unknown[]): Promise<string[]> {
    return (await this.#scope.query<{ id: string }>(sql, values)).map((r) => r.id);
  }

  /**
   * Over the pool, the queries asked in one event-loop turn are read in one statement: the
   * batches of a claim start together, so a claim's contexts cost one round trip, not one each.
   * Inside a transaction, a statement of its own.
   */
  runContext(query: RunContextQuery): Promise<RunContext> {
    if (this.#scope.inTransaction) return this.#readContexts([query]).then(([context]) => context!);
    return new Promise((resolve, reject) => {
      if (this.#contextsAsked.push({ query, resolve, reject }) === 1) setImmediate(() => void this.#answerAsked());
    });
  }

  async #answerAsked(): Promise<void> {
    const asked = this.#contextsAsked;
    this.#contextsAsked = [];
    try {
      const contexts = await this.#readContexts(asked.map((a) => a.query));
      for (const [i, { resolve }] of asked.entries()) resolve(contexts[i]!);
    } catch (err) {
      for (const { reject } of asked) reject(err);
    }
  }

  /** The contexts of `queries`, in their order, in one statement. */
  async #readContexts(queries: readonly RunContextQuery[]): Promise<RunContext[]> {
    const items = queries.map((query, n) => ({
      n,
      conversation_id: query.conversationId,
      run_ids: query.runIds,
      agent_id: query.session?.agentId ?? null,
      session_key: query.session?.sessionKey ?? null,
      kinds: (query.memoryScopes ?? []).map((s) => s.kind),
      ids: (query.memoryScopes ?? []).map((s) => s.id),
    }));
    const contexts: RunContext[] = [];
    for (const row of await this.#scope.query<RunContextRow & { n: number }>(this.#q.runContexts, [JSON.stringify(items)])) contexts[row.n] = toRunContext(row);
    return contexts;
  }

  async completionState(conversationId: string, turn?: TurnWrite): Promise<CompletionState> {
    const history = (turn?.history.length ?? 0) > 0;
    const [sql, values] = turn
      ? [this.#q.turnSql[history ? 1 : 0], [conversationId, ...recordTurnValues(turn.agentId, turn.sessionKey, turn.input), ...(history ? appendManyValues(turn.history) : [])]]
      : [this.#q.completionState, [conversationId]];
    const [row] = await this.#scope.query<{ conversation: ConversationRow | null; open_runs: number; unfinished: number; runs: RunRow[] | null }>(sql, values);
    return {
      conversation: row!.conversation ? toConversation(row!.conversation) : undefined,
      openRuns: row!.open_runs,
      unfinishedMessages: row!.unfinished,
      runs: row!.runs ? row!.runs.map(toRun) : undefined,
    };
  }

  unfinishedMessages(conversationId: string): Promise<number> {
    return this.#count(this.#q.unfinishedMessages, [conversationId]);
  }

  pendingMessagesOf(conversationId: string): Promise<string[]> {
    return this.#ids(this.#q.pendingOf, [conversationId]);
  }

  async messageStatus(messageId: string): Promise<string | undefined> {
    return (await this.#scope.query<{ status: string }>(this.#q.messageStatus, [messageId]))[0]?.status;
  }

  activeStartedBefore(createdBefore: number, limit: number): Promise<string[]> {
    return this.#ids(this.#q.oldestActive, [createdBefore, limit]);
  }

  async openRuns(): Promise<OpenRunRow[]> {
    return (await this.#scope.query<Parameters<typeof toOpenRun>[0]>(this.#q.openRuns)).map(toOpenRun);
  }

  async openRunsOf(conversationId: string): Promise<OpenRunRow[]> {
    return (await this.#scope.query<Parameters<typeof toOpenRun>[0]>(this.#q.openRunsOf, [conversationId])).map(toOpenRun);
  }

  recentConversationsOf(channel: string, senderId: string, sinceTs: number): Promise<string[]> {
    return this.#ids(this.#q.latestOfSender, [channel, senderId, sinceTs]);
  }

  async activeRoomConversation(teamId: string): Promise<string | undefined> {
    return (await this.#ids(this.#q.activeRoom, [teamId]))[0];
  }

  async spawnedChildren(runId: string): Promise<{ total: number; running: number }> {
    return { total: await this.#count(this.#q.spawnedChildren, [runId]), running: await this.#count(this.#q.runningChildren, [runId]) };
  }
}
