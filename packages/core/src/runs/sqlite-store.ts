/**
 * Conversations, runs, steering state and the orchestrator's read queries on SQLite: `RunStore`,
 * `RunSteeringStore` and `ConversationQueries` over the process's one connection (synchronous;
 * every method returns a plain value). The model they share with the PostgreSQL stores
 * (./pg-store.ts, ./pg-steering-store.ts, ./pg-queries.ts): the types, the store interfaces, the
 * rules, SQL and row mapping are in ./store.ts.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { AgentSessionRow, ConversationRow, RunRow } from '../storage/rows.ts';
import { AgentSessionStore } from '../sessions/sqlite-stores.ts';
import { sessionStatements, toSessionRecord, type TurnWrite } from '../sessions/store.ts';
import {
  type CompletionState,
  type ConversationDelta,
  type ConversationListQuery,
  type ConversationPatch,
  type ConversationQueriesApi,
  type ConversationRecord,
  type ConversationUsageRow,
  type CreateConversationInput,
  type CreateRunInput,
  type MeteredUsage,
  type OpenRunRow,
  type OpenRunRowRaw,
  type RunContext,
  type RunContextQuery,
  type RunFinish,
  type RunSteeringState,
  type RunSteeringStoreApi,
  type RunStoreApi,
  type CostSample,
  type Spend,
  type SteeringRow,
  type Usage,
  type UsageGroup,
  type UsageRow,
  type UsageSeriesRow,
  type RunRecord,
  USAGE_COLUMN,
  USAGE_SUMS,
  bumpValues,
  clampEdges,
  conversationFilter,
  conversationInsertValues,
  conversationNotFound,
  conversationPatchSets,
  finishRunValues,
  finishSpends,
  meteredValues,
  queryStatements,
  runInsertValues,
  runNotFound,
  runStatements,
  startRunValues,
  type StartRunPatch,
  steeringStatements,
  steeringValues,
  throwError,
  toConversation,
  toOpenRun,
  toRun,
  toSteeringStates,
  usageRange,
} from './store.ts';

/** The SQLite spellings of the statements SQLite and PostgreSQL share (./store.ts). */
const S = runStatements('conversations', 'runs', 'BINARY');
const DESCENDANTS_SQL = S.descendants('runs.depth, runs.created_at, runs.rowid');
const STEERING = steeringStatements('run_steering', 'runs');
const SESSION_GET = sessionStatements('agent_sessions').get;

export class RunStore implements RunStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  createConversation(input: CreateConversationInput): ConversationRecord {
    const values = conversationInsertValues(input);
    this.#db.write(() => this.#db.prepare(S.insertConversation).run(...values));
    return this.getConversation(values[0] as string)!;
  }

  createConversationWithRun(conversation: CreateConversationInput, run: CreateRunInput): { conversation: ConversationRecord; run: RunRecord } {
    return this.#db.write(() => ({ conversation: this.createConversation(conversation), run: this.createRun(run) }));
  }

  /** SQLite's writes are serialised: at once. */
  createConversationWithRunAtCommit(conversation: CreateConversationInput, run: CreateRunInput): { conversation: ConversationRecord; run: RunRecord } {
    return this.createConversationWithRun(conversation, run);
  }

  /** `forUpdate` needs nothing here: SQLite's write transactions are already serialised (see the interface). */
  getConversation(id: string, _options?: { forUpdate?: boolean }): ConversationRecord | undefined {
    const row = this.#db.prepare(S.getConversation).get(id) as ConversationRow | undefined;
    return row ? toConversation(row) : undefined;
  }

  mustGetConversation(id: string): ConversationRecord {
    return this.getConversation(id) ?? throwError(conversationNotFound(id));
  }

  listConversations(query: ConversationListQuery = {}): ConversationRecord[] {
    const { where, params } = conversationFilter(query, 'runs');
    return (this.#db.prepare(S.listConversations(where)).all(...params) as ConversationRow[]).map(toConversation);
  }

  /** The latest conversation started in a channel's chat (its thread key), if any. */
  latestConversationOfThread(channel: string, threadKey: string): ConversationRecord | undefined {
    const row = this.#db.prepare(S.latestOfThread).get(channel, threadKey) as ConversationRow | undefined;
    return row ? toConversation(row) : undefined;
  }

  /** Adds to the conversation's counters (inside the caller's transaction when open). */
  bumpConversation(id: string, delta: ConversationDelta): void {
    this.#db.write(() => this.#db.prepare(S.bumpConversation).run(...bumpValues(delta), id));
  }

  updateConversation(id: string, patch: ConversationPatch): void {
    const { sets, params } = conversationPatchSets(patch);
    this.#db.write(() => this.#db.prepare(S.updateConversation(sets)).run(...params, id));
  }

  /** SQLite's writes are serialised: at once. */
  updateConversationAtCommit(id: string, patch: ConversationPatch): void {
    this.updateConversation(id, patch);
  }

  createRun(input: CreateRunInput): RunRecord {
    const values = runInsertValues(input);
    this.#db.write(() => this.#db.prepare(S.insertRun).run(...values));
    return this.getRun(values[0] as string)!;
  }

  startRuns(starts: ReadonlyArray<{ id: string; patch?: StartRunPatch }>): Array<RunRecord | undefined> {
    return this.#db.write(() => starts.map((start) => this.startRun(start.id, start.patch)));
  }

  startRun(id: string, patch: StartRunPatch = {}): RunRecord | undefined {
    const changed = this.#db.write(() => this.#db.prepare(S.startRun).run(...startRunValues(patch), id).changes === 1);
    return changed ? this.getRun(id) : undefined;
  }

  /**
   * Moves a run to a terminal state. Returns false (and changes nothing) if the run already
   * ended, so callers emit the terminal event only when this returns true.
   */
  finishRun(id: string, result: RunFinish): boolean {
    const values = finishRunValues(result);
    return this.#db.write(() => {
      if (this.#db.prepare(S.finishRun).run(...values, id).changes !== 1) return false;
      if (finishSpends(result)) this.#db.prepare(S.finishSpend).run(values[2], values[3], values[4], values[6], id);
      return true;
    });
  }

  /** Adds what a failed attempt spent to a run that goes on (retried) or has ended. */
  addUsage(id: string, usage: Usage, costUsd: number): void {
    this.#db.write(() => this.#db.prepare(S.addUsage).run(usage.inputTokens, usage.outputTokens, costUsd, id));
  }

  addMetered(id: string, metered: MeteredUsage): void {
    this.#db.write(() => this.#db.prepare(S.addMetered).run(...meteredValues(id, metered)));
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.#db.prepare(S.getRun).get(id) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  mustGetRun(id: string): RunRecord {
    return this.getRun(id) ?? throwError(runNotFound(id));
  }

  // `= +?`: no re-prepare per bound value (queue/sqlite-store.ts says why).
  listRuns(conversationId: string): RunRecord[] {
    return (this.#db.prepare('SELECT * FROM runs WHERE conversation_id = +? ORDER BY created_at, rowid').all(conversationId) as RunRow[]).map(toRun);
  }

  children(runId: string): RunRecord[] {
    return (this.#db.prepare('SELECT * FROM runs WHERE parent_run_id = +? ORDER BY created_at, rowid').all(runId) as RunRow[]).map(toRun);
  }

  /** All descendants of a run (breadth first). */
  descendants(runId: string): RunRecord[] {
    return (this.#db.prepare(DESCENDANTS_SQL).all(runId) as RunRow[]).map(toRun);
  }

  /** Runs of the conversation not yet in a terminal state. */
  openRunCount(conversationId: string): number {
    return (this.#db.prepare(S.openRunCount).get(conversationId) as { n: number }).n;
  }

  /** Tokens and cost spent by an agent since `sinceTs` (for per-agent daily budgets). */
  agentSpend(agentId: string, sinceTs: number): Spend {
    return this.#db.prepare(S.agentSpend).get(agentId, sinceTs) as Spend;
  }

  globalSpend(sinceTs: number): Spend {
    return this.#db.prepare(S.globalSpend).get(sinceTs) as Spend;
  }

  costSamples(provider: string, model: string, limit: number): CostSample[] {
    return this.#db.prepare(S.costSamples).all(provider, model, limit) as CostSample[];
  }

  usage(by: UsageGroup, query: { since?: number; until?: number } = {}): UsageRow[] {
    return this.#db.prepare(S.usage(USAGE_COLUMN[by])).all(...usageRange(query)) as UsageRow[];
  }

  /**
   * Usage per bucket and key in one GROUP BY: `edges` are n + 1 ascending bucket boundaries
   * (ms), and each bucket is a range scan of the covering `runs_usage_cover` index. Runs outside
   * [since, until) are not counted even when their bucket is. Rows are ordered by bucket, key.
   */
  usageSeries(by: Exclude<UsageGroup, 'day'>, edges: readonly number[], query: { since?: number; until?: number } = {}): UsageSeriesRow[] {
    if (edges.length < 2) return [];
    const col = USAGE_COLUMN[by];
    return (
      this.#db
        // MATERIALIZED: the buckets are computed once; CROSS JOIN: SQLite keeps them the outer
        // loop, so each bucket is one range scan of the runs_usage_cover index (covering: no table rows read).
        .prepare(`WITH b(bucket, start, end) AS MATERIALIZED (SELECT CAST(key AS INTEGER), value, LEAD(value) OVER (ORDER BY key) FROM json_each(?))
        SELECT b.bucket AS bucket, ${col} AS key, ${USAGE_SUMS}
        FROM b CROSS JOIN runs ON runs.created_at >= b.start AND runs.created_at < b.end
        WHERE b.end IS NOT NULL
        GROUP BY b.bucket, key ORDER BY b.bucket, key`)
        .all(JSON.stringify(clampEdges(edges, query))) as UsageSeriesRow[]
    );
  }

  /** The conversations that cost most in [since, until) (then most tokens), with their titles. */
  topConversations(query: { since?: number; until?: number; limit: number }): ConversationUsageRow[] {
    return this.#db.prepare(S.topConversations).all(...usageRange(query), query.limit) as ConversationUsageRow[];
  }

  /** Creation time of the oldest run (ms), or null when there are none. */
  firstRunAt(): number | null {
    return (this.#db.prepare(S.firstRunAt).get() as { first: number | null }).first;
  }

  /** Deletes finished runs and their conversations' completed records older than `beforeTs`, except those of conversations waiting for a decision. */
  prune(beforeTs: number, batchSize = 1000): number {
    const total = this.#db.deleteInBatches(S.pruneRuns('rowid'), [beforeTs], batchSize);
    this.#db.write(() => this.#db.prepare(S.pruneConversations).run(beforeTs));
    return total;
  }
}

export class ConversationQueries implements ConversationQueriesApi {
  readonly #unfinishedMessages;
  readonly #messageStatus;
  readonly #openRuns;
  readonly #openRunsOf;
  readonly #latestOfSender;
  readonly #runningChildren;
  readonly #spawnedChildren;
  readonly #activeRoom;
  readonly #oldestActive;
  readonly #pendingOf;

  /** For `completionState`'s turn. */
  #sessions: AgentSessionStore | undefined;
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
    const s = db.sqlite;
    const q = queryStatements({ messages: 'messages', runs: 'runs', conversations: 'conversations' }, '0');
    this.#unfinishedMessages = s.prepare(q.unfinishedMessages).pluck();
    this.#messageStatus = s.prepare(q.messageStatus).pluck();
    this.#pendingOf = s.prepare(q.pendingOf).pluck();
    this.#openRuns = s.prepare(q.openRuns('created_at, rowid'));
    this.#openRunsOf = s.prepare(q.openRunsOf('depth DESC, created_at, rowid'));
    this.#latestOfSender = s.prepare(q.latestOfSender).pluck();
    this.#runningChildren = s.prepare(q.runningChildren).pluck();
    this.#activeRoom = s.prepare(q.activeRoom).pluck();
    this.#oldestActive = s.prepare(q.oldestActive).pluck();
    this.#spawnedChildren = s.prepare(q.spawnedChildren).pluck();
  }

  runContext(query: RunContextQuery): RunContext {
    const db = this.#db;
    const conversation = db.prepare(S.getConversation).get(query.conversationId) as ConversationRow | undefined;
    const runs: RunRecord[] = [];
    for (const id of query.runIds) {
      const row = db.prepare(S.getRun).get(id) as RunRow | undefined;
      if (row) runs.push(toRun(row));
    }
    const session = query.session ? (db.prepare(SESSION_GET).get(query.session.agentId, query.session.sessionKey) as AgentSessionRow | undefined) : undefined;
    return { conversation: conversation ? toConversation(conversation) : undefined, runs, session: session ? toSessionRecord(session) : undefined };
  }

  completionState(conversationId: string, turn?: TurnWrite): CompletionState {
    if (turn) {
      this.#sessions ??= new AgentSessionStore(this.#db);
      this.#sessions.recordTurn(turn.agentId, turn.sessionKey, turn.input, turn.history);
    }
    const openRuns = (this.#db.prepare(S.openRunCount).get(conversationId) as { n: number }).n;
    const unfinishedMessages = this.unfinishedMessages(conversationId);
    const runs =
      openRuns === 0 && unfinishedMessages === 0
        ? (this.#db.prepare('SELECT * FROM runs WHERE conversation_id = +? ORDER BY created_at, rowid').all(conversationId) as RunRow[]).map(toRun)
        : undefined;
    const conversation = this.#db.prepare(S.getConversation).get(conversationId) as ConversationRow | undefined;
    return { conversation: conversation ? toConversation(conversation) : undefined, openRuns, unfinishedMessages, runs };
  }

  /** Messages of the conversation still waiting or being processed. */
  unfinishedMessages(conversationId: string): number {
    return this.#unfinishedMessages.get(conversationId) as number;
  }

  /** Ids of the conversation's messages still waiting in the queue. */
  pendingMessagesOf(conversationId: string): string[] {
    return this.#pendingOf.all(conversationId) as string[];
  }

  messageStatus(messageId: string): string | undefined {
    return (this.#messageStatus.get(messageId) as string | undefined) ?? undefined;
  }

  /** Active conversations started at or before `createdBefore`, oldest first. */
  activeStartedBefore(createdBefore: number, limit: number): string[] {
    return this.#oldestActive.all(createdBefore, limit) as string[];
  }

  openRuns(): OpenRunRow[] {
    return (this.#openRuns.all() as OpenRunRowRaw[]).map(toOpenRun);
  }

  /** Open runs of a conversation, deepest first (children are cancelled before parents). */
  openRunsOf(conversationId: string): OpenRunRow[] {
    return (this.#openRunsOf.all(conversationId) as OpenRunRowRaw[]).map(toOpenRun);
  }

  /** Recent conversations of a sender, newest first. */
  recentConversationsOf(channel: string, senderId: string, sinceTs: number): string[] {
    return this.#latestOfSender.all(channel, senderId, sinceTs) as string[];
  }

  /** The team room's conversation still in progress, if any (human posts join it). */
  activeRoomConversation(teamId: string): string | undefined {
    return (this.#activeRoom.get(teamId) as string | undefined) ?? undefined;
  }

  spawnedChildren(runId: string): { total: number; running: number } {
    return { total: this.#spawnedChildren.get(runId) as number, running: this.#runningChildren.get(runId) as number };
  }
}

export class RunSteeringStore implements RunSteeringStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  save(runId: string, state: RunSteeringState): void {
    this.#db.write(() => this.#db.prepare(STEERING.save).run(runId, ...steeringValues(state)));
  }

  delete(runId: string): void {
    this.#db.write(() => this.#db.prepare(STEERING.delete).run(runId));
  }

  load(runId: string): RunSteeringState | undefined {
    return toSteeringStates(this.#db.prepare(STEERING.load).all(runId) as SteeringRow[]).get(runId);
  }

  loadAtCommit(runId: string): Promise<RunSteeringState | undefined> {
    return Promise.resolve(this.load(runId));
  }

  saveIfQueued(runId: string, state: RunSteeringState): boolean {
    return this.#db.write(() => this.#db.prepare(STEERING.saveIfQueued).all(runId, ...steeringValues(state), runId).length > 0);
  }

  loadOpen(): Map<string, RunSteeringState> {
    return this.#db.write(() => {
      this.#db.prepare(STEERING.deleteClosed).run();
      return toSteeringStates(this.#db.prepare(STEERING.all).all() as SteeringRow[]);
    });
  }
}
