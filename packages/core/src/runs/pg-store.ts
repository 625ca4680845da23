/**
 * Runs, conversations and usage on PostgreSQL (docs/storage.md): the statements, values and
 * row mappers of the SQLite `RunStore` (runs/store.ts), over a `PgScope` (the pool, or the open
 * transaction of `tx.stores.runs`). Counters are added in place (`x = x + $1`), so two nodes
 * bumping one conversation never lose an update; `finishRun` changes a run only while it is open.
 */
import type { ConversationDelta, ConversationListQuery, RunFinish, RunStoreApi, CostSample, Spend, StartRunPatch } from './store.ts';
import type { ConversationRow, RunRow } from '../storage/rows.ts';
import { deleteInBatches } from '../storage/pg/helpers.ts';
import { numberedFrom, valuesList, type LastStatement, type Rider } from '../storage/pg/last-statement.ts';
import { positional, positionalAll, type PgScope } from '../storage/pg/scope.ts';
import { planAtEveryCall } from '../storage/pg/statements.ts';
import {
  bumpValues,
  clampEdges,
  conversationFilter,
  CONVERSATION_INSERT_COLUMNS,
  conversationInsertValues,
  insertedConversation,
  insertedRun,
  RUN_INSERT_COLUMNS,
  conversationNotFound,
  conversationPatchSets,
  finishRunValues,
  finishSpends,
  meteredValues,
  runInsertValues,
  runNotFound,
  runStatements,
  throwError,
  toConversation,
  toRun,
  USAGE_COLUMN,
  USAGE_SUMS,
  usageRange,
  type ConversationPatch,
  type ConversationRecord,
  type ConversationUsageRow,
  type CreateConversationInput,
  type CreateRunInput,
  type MeteredUsage,
  type RunRecord,
  type Usage,
  type UsageGroup,
  type UsageRow,
  type UsageSeriesRow,
} from './store.ts';

/** The UTC day of a run, as SQLite's strftime('%Y-%m-%d', … / 1000, 'unixepoch') gives it. */
const PG_DAY = "to_char(to_timestamp(floor(COALESCE(ended_at, created_at) / 1000)) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

type Statements = ReturnType<typeof runStatements>;

/** The statements over one schema, numbered once per schema (every transaction's store reuses them). */
const statementsBySchema = new Map<
  string,
  {
    s: Statements;
    runs: string;
    descendants: string;
    listRuns: string;
    children: string;
    getConversationForUpdate: string;
    insertConversationWithRun: string;
    startRuns: string;
    finishRun: string;
    finishRunSpending: string;
    pruneRuns: string;
    series: Record<string, string>;
  }
>();

/**
 * `finishRun`: the run's conversation is locked first (its CTE must run: the update names it),
 * then the run finishes; with `spending`, what the finish spent is added to the conversation's
 * totals in the same statement when the run changed. Values: `finishRunValues`, then the run.
 */
function finishStatement(scope: PgScope, finishRun: string, spending: boolean): string {
  const conversations = scope.table('conversations');
  const lock = `c AS (SELECT id FROM ${conversations} WHERE id = (SELECT conversation_id FROM ${scope.table('runs')} WHERE id = $8) FOR UPDATE)`;
  const finish = `r AS (${finishRun} AND (SELECT count(*) FROM c) >= 0 RETURNING conversation_id)`;
  const spend = `b AS (UPDATE ${conversations} SET input_tokens = input_tokens + $3, output_tokens = output_tokens + $4, cost_usd = cost_usd + $5, updated_at = $7
    WHERE id = (SELECT conversation_id FROM r))`;
  return `WITH ${lock}, ${finish}${spending ? `, ${spend}` : ''} SELECT 1 FROM r`;
}

function statementsOf(scope: PgScope) {
  let out = statementsBySchema.get(scope.schema);
  if (!out) {
    const runs = scope.table('runs');
    const raw = runStatements(scope.table('conversations'), runs, '"C"');
    const s = positionalAll(raw);
    const series: Record<string, string> = {};
    for (const [by, col] of Object.entries(USAGE_COLUMN)) {
      if (by === 'day') continue;
      // The buckets from the edges (n + 1 boundaries): bucket i is [edges[i], edges[i + 1]).
      series[by] = `WITH e AS (SELECT (o - 1)::int AS bucket, v AS start, LEAD(v) OVER (ORDER BY o) AS stop FROM unnest($1::bigint[]) WITH ORDINALITY AS u(v, o))
        SELECT e.bucket, ${col} AS key, ${USAGE_SUMS}
        FROM e JOIN ${runs} r ON r.created_at >= e.start AND r.created_at < e.stop
        WHERE e.stop IS NOT NULL
        GROUP BY e.bucket, key ORDER BY e.bucket, ${col} COLLATE "C"`;
    }
    out = {
      s,
      runs,
      descendants: s.descendants('runs.depth, runs.created_at, runs.id'),
      // SQLite breaks ties of created_at by rowid (insertion order); ids are ULIDs, increasing
      // within a process, so they are the closest equivalent here.
      listRuns: `SELECT * FROM ${runs} WHERE conversation_id = $1 ORDER BY created_at, id`,
      children: `SELECT * FROM ${runs} WHERE parent_run_id = $1 ORDER BY created_at, id`,
      getConversationForUpdate: `${s.getConversation} FOR UPDATE`,
      // Rows as JSON, as runs/pg-queries.ts reads several tables' rows in one statement.
      insertConversationWithRun: positional(
        `WITH c AS (${raw.insertConversation} RETURNING *), r AS (${raw.insertRun} RETURNING *) SELECT row_to_json(c) AS conversation, row_to_json(r) AS run FROM c, r`,
      ),
      // `startRun` of several runs, their patches as JSON. Planned at every call: a generic plan
      // made while the table was small would join by scanning it.
      startRuns: planAtEveryCall(`UPDATE ${runs} r SET status = 'running', started_at = COALESCE(r.started_at, $1), message_ids = COALESCE(p.message_ids, r.message_ids),
          input = COALESCE(p.input, r.input), node = COALESCE(p.node, r.node)
        FROM jsonb_to_recordset($2::jsonb) AS p(id text, message_ids text, input text, node text)
        WHERE r.id = p.id AND r.status IN ('queued', 'running') RETURNING r.*`),
      finishRun: finishStatement(scope, s.finishRun, false),
      finishRunSpending: finishStatement(scope, s.finishRun, true),
      pruneRuns: positional(raw.pruneRuns('id')),
      series,
    };
    statementsBySchema.set(scope.schema, out);
  }
  return out;
}

/** The `updateConversationAtCommit`s of one schema: one CTE per conversation in the transaction's last statement. */
const updatersBySchema = new Map<string, Rider<{ id: string; patch: ConversationPatch }>>();

function conversationUpdaterOf(scope: PgScope): Rider<{ id: string; patch: ConversationPatch }> {
  let updater = updatersBySchema.get(scope.schema);
  if (!updater) {
    const conversations = scope.table('conversations');
    updater = {
      part: (updates, first) => {
        // One update per row (two CTEs updating one row would apply only one): a conversation's patches merged in order.
        const byId = new Map<string, ConversationPatch>();
        for (const { id, patch } of updates) byId.set(id, { ...byId.get(id), ...patch });
        const ctes: string[] = [];
        const values: unknown[] = [];
        for (const [id, patch] of byId) {
          const { sets, params } = conversationPatchSets(patch);
          ctes.push(`conversation_update_${ctes.length} AS (${numberedFrom(`UPDATE ${conversations} SET ${sets} WHERE id = ?`, first + values.length)})`);
          values.push(...params, id);
        }
        return { ctes, columns: [], values };
      },
    };
    updatersBySchema.set(scope.schema, updater);
  }
  return updater;
}

/** The `createConversationWithRunAtCommit`s of one schema: one insert of each table in the transaction's last statement. */
const creatorsBySchema = new Map<string, Rider<{ conversation: unknown[]; run: unknown[] }>>();

function creatorOf(scope: PgScope): Rider<{ conversation: unknown[]; run: unknown[] }> {
  let creator = creatorsBySchema.get(scope.schema);
  if (!creator) {
    const [conversations, runs] = [scope.table('conversations'), scope.table('runs')];
    creator = {
      part: (items, first) => {
        const values: unknown[] = [];
        const ctes = [
          `conversation_insert AS (INSERT INTO ${conversations} (${CONVERSATION_INSERT_COLUMNS}) VALUES ${valuesList(
            items.map((i) => i.conversation),
            first,
            values,
          )})`,
          `run_insert AS (INSERT INTO ${runs} (${RUN_INSERT_COLUMNS}) VALUES ${valuesList(
            items.map((i) => i.run),
            first,
            values,
          )})`,
        ];
        return { ctes, columns: [], values };
      },
    };
    creatorsBySchema.set(scope.schema, creator);
  }
  return creator;
}

export class PgRunStore implements RunStoreApi {
  readonly #scope: PgScope;
  readonly #sql: ReturnType<typeof statementsOf>;
  readonly #last: (() => LastStatement) | undefined;

  /** `last`: the last statement of the scope's transaction (its event log); without it, updates "at commit" are made at once. */
  constructor(scope: PgScope, last?: () => LastStatement) {
    this.#scope = scope;
    this.#sql = statementsOf(scope);
    this.#last = last;
  }

  async createConversation(input: CreateConversationInput): Promise<ConversationRecord> {
    const [row] = await this.#scope.query<ConversationRow>(`${this.#sql.s.insertConversation} RETURNING *`, conversationInsertValues(input));
    return toConversation(row!);
  }

  async createConversationWithRun(conversation: CreateConversationInput, run: CreateRunInput): Promise<{ conversation: ConversationRecord; run: RunRecord }> {
    const [row] = await this.#scope.query<{ conversation: ConversationRow; run: RunRow }>(this.#sql.insertConversationWithRun, [...conversationInsertValues(conversation), ...runInsertValues(run)]);
    return { conversation: toConversation(row!.conversation), run: toRun(row!.run) };
  }

  async createConversationWithRunAtCommit(conversation: CreateConversationInput, run: CreateRunInput): Promise<{ conversation: ConversationRecord; run: RunRecord }> {
    if (!this.#last) return this.createConversationWithRun(conversation, run);
    const item = { conversation: conversationInsertValues(conversation), run: runInsertValues(run) };
    await this.#last().ride(creatorOf(this.#scope), item);
    return { conversation: insertedConversation(item.conversation), run: insertedRun(item.run) };
  }

  async getConversation(id: string, options: { forUpdate?: boolean } = {}): Promise<ConversationRecord | undefined> {
    const [row] = await this.#scope.query<ConversationRow>(options.forUpdate ? this.#sql.getConversationForUpdate : this.#sql.s.getConversation, [id]);
    return row ? toConversation(row) : undefined;
  }

  async mustGetConversation(id: string): Promise<ConversationRecord> {
    return (await this.getConversation(id)) ?? throwError(conversationNotFound(id));
  }

  async listConversations(query: ConversationListQuery = {}): Promise<ConversationRecord[]> {
    const { where, params } = conversationFilter(query, this.#sql.runs);
    return (await this.#scope.query<ConversationRow>(this.#sql.s.listConversations(where), params)).map(toConversation);
  }

  async latestConversationOfThread(channel: string, threadKey: string): Promise<ConversationRecord | undefined> {
    const [row] = await this.#scope.query<ConversationRow>(this.#sql.s.latestOfThread, [channel, threadKey]);
    return row ? toConversation(row) : undefined;
  }

  async bumpConversation(id: string, delta: ConversationDelta): Promise<void> {
    await this.#scope.query(this.#sql.s.bumpConversation, [...bumpValues(delta), id]);
  }

  async updateConversation(id: string, patch: ConversationPatch): Promise<void> {
    const { sets, params } = conversationPatchSets(patch);
    await this.#scope.query(this.#sql.s.updateConversation(sets), [...params, id]);
  }

  async updateConversationAtCommit(id: string, patch: ConversationPatch): Promise<void> {
    if (!this.#last) return this.updateConversation(id, patch);
    await this.#last().ride(conversationUpdaterOf(this.#scope), { id, patch });
  }

  async createRun(input: CreateRunInput): Promise<RunRecord> {
    const [row] = await this.#scope.query<RunRow>(`${this.#sql.s.insertRun} RETURNING *`, runInsertValues(input));
    return toRun(row!);
  }

  async startRun(id: string, patch: StartRunPatch = {}): Promise<RunRecord | undefined> {
    return (await this.startRuns([{ id, patch }]))[0];
  }

  async startRuns(starts: ReadonlyArray<{ id: string; patch?: StartRunPatch }>): Promise<Array<RunRecord | undefined>> {
    if (starts.length === 0) return [];
    const patches = starts.map(({ id, patch = {} }) => ({ id, message_ids: patch.messageIds ? JSON.stringify(patch.messageIds) : null, input: patch.input ?? null, node: patch.node ?? null }));
    const rows = await this.#scope.query<RunRow>(this.#sql.startRuns, [Date.now(), JSON.stringify(patches)]);
    const byId = new Map(rows.map((row) => [row.id, toRun(row)]));
    return starts.map((start) => byId.get(start.id));
  }

  async finishRun(id: string, result: RunFinish): Promise<boolean> {
    return (await this.#scope.query(finishSpends(result) ? this.#sql.finishRunSpending : this.#sql.finishRun, [...finishRunValues(result), id])).length === 1;
  }

  async addUsage(id: string, usage: Usage, costUsd: number): Promise<void> {
    await this.#scope.query(this.#sql.s.addUsage, [usage.inputTokens, usage.outputTokens, costUsd, id]);
  }

  async addMetered(id: string, metered: MeteredUsage): Promise<void> {
    await this.#scope.query(this.#sql.s.addMetered, meteredValues(id, metered));
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const [row] = await this.#scope.query<RunRow>(this.#sql.s.getRun, [id]);
    return row ? toRun(row) : undefined;
  }

  async mustGetRun(id: string): Promise<RunRecord> {
    return (await this.getRun(id)) ?? throwError(runNotFound(id));
  }

  async listRuns(conversationId: string): Promise<RunRecord[]> {
    return (await this.#scope.query<RunRow>(this.#sql.listRuns, [conversationId])).map(toRun);
  }

  async children(runId: string): Promise<RunRecord[]> {
    return (await this.#scope.query<RunRow>(this.#sql.children, [runId])).map(toRun);
  }

  async descendants(runId: string): Promise<RunRecord[]> {
    return (await this.#scope.query<RunRow>(this.#sql.descendants, [runId])).map(toRun);
  }

  async openRunCount(conversationId: string): Promise<number> {
    return (await this.#scope.query<{ n: number }>(this.#sql.s.openRunCount, [conversationId]))[0]!.n;
  }

  async agentSpend(agentId: string, sinceTs: number): Promise<Spend> {
    return (await this.#scope.query<Spend>(this.#sql.s.agentSpend, [agentId, sinceTs]))[0]!;
  }

  async globalSpend(sinceTs: number): Promise<Spend> {
    return (await this.#scope.query<Spend>(this.#sql.s.globalSpend, [sinceTs]))[0]!;
  }

  async costSamples(provider: string, model: string, limit: number): Promise<CostSample[]> {
    const rows = await this.#scope.query<CostSample>(this.#sql.s.costSamples, [provider, model, limit]);
    return rows.map((r) => ({ chars: Number(r.chars), costUsd: Number(r.costUsd), tokens: Number(r.tokens) }));
  }

  async usage(by: UsageGroup, query: { since?: number; until?: number } = {}): Promise<UsageRow[]> {
    return this.#scope.query<UsageRow>(this.#sql.s.usage(by === 'day' ? PG_DAY : USAGE_COLUMN[by]), usageRange(query));
  }

  /** As `RunStore.usageSeries`: usage per bucket (`edges`: n + 1 ascending ms boundaries) and key, ordered by bucket, key. */
  async usageSeries(by: Exclude<UsageGroup, 'day'>, edges: readonly number[], query: { since?: number; until?: number } = {}): Promise<UsageSeriesRow[]> {
    if (edges.length < 2) return [];
    return this.#scope.query<UsageSeriesRow>(this.#sql.series[by]!, [clampEdges(edges, query)]);
  }

  async topConversations(query: { since?: number; until?: number; limit: number }): Promise<ConversationUsageRow[]> {
    return this.#scope.query<ConversationUsageRow>(this.#sql.s.topConversations, [...usageRange(query), query.limit]);
  }

  async firstRunAt(): Promise<number | null> {
    return (await this.#scope.query<{ first: number | null }>(this.#sql.s.firstRunAt))[0]!.first;
  }

  async prune(beforeTs: number, batchSize = 1000): Promise<number> {
    const total = await deleteInBatches(this.#scope, this.#sql.pruneRuns, [beforeTs], batchSize);
    await this.#scope.query(this.#sql.s.pruneConversations, [beforeTs]);
    return total;
  }
}
