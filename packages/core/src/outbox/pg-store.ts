/**
 * The outbox on PostgreSQL: the contract of the SQLite `OutboxStore` (./store.ts), whose rules,
 * events and row mapping it shares, for several nodes on one database.
 *
 * - Enqueue is `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`: two nodes storing the same
 *   reply at once store it once (the second gets the first's row).
 * - `claim` leases rows with `FOR UPDATE SKIP LOCKED` in one statement: two nodes claiming a
 *   channel never get the same row (a row claimed and committed meanwhile fails the re-checked
 *   condition under the lock).
 * - `ack`/`fail` lock the row they check (`FOR UPDATE`); expiry locks its batch with SKIP LOCKED,
 *   so two nodes expire each row once (one `outbox.expired` event).
 * - Which channels have a delivering client (./delivery.ts's rule over core's `channelKinds` and
 *   the channels signed in) is shared by the pool-level store and the per-transaction ones.
 */
import { newId } from '../ids.ts';
import type { PgEventLog } from '../events/pg-log.ts';
import { pgEventLog } from '../events/pg-log.ts';
import type { OutboxStoreApi } from './store.ts';
import { heldForClient } from './delivery.ts';
import { deleteInBatches, type PgShared, sharedState, whereSet } from '../storage/pg/helpers.ts';
import { atomically, type PgScope } from '../storage/pg/scope.ts';
import { valuesList, type Rider } from '../storage/pg/last-statement.ts';
import type { OutboxTableRow } from '../storage/rows.ts';
import { notWaiting } from '../runs/store.ts';
import {
  deliveredEvent,
  enqueuedEvents,
  EXPIRE_BATCH,
  expiredEvent,
  failedEvent,
  failure,
  INSERT_COLUMNS,
  insertValues,
  mustAck,
  type OutboxInput,
  type OutboxListQuery,
  type OutboxRow,
  type OutboxStatus,
  OUTBOX_DEFAULTS,
  type OutboxTree,
  outboxNotFound,
  replyKeyTaken,
  type ReplyRun,
  toRow,
  treeOf,
} from './store.ts';

export interface PgOutboxOptions {
  clientChannels: Set<string>;
  ttlMs: number;
  maxAttempts: number;
}

/** The `enqueueAtCommit`s of one schema: one insert in the transaction's last statement. */
const insertersBySchema = new Map<string, Rider<unknown[]>>();

function inserterOf(scope: PgScope): Rider<unknown[]> {
  let inserter = insertersBySchema.get(scope.schema);
  if (!inserter) {
    const table = scope.table('outbox');
    inserter = {
      part: (items, first) => {
        const values: unknown[] = [];
        return { ctes: [`outbox_insert AS (INSERT INTO ${table} (${INSERT_COLUMNS}) VALUES ${valuesList(items, first, values)})`], columns: [], values };
      },
    };
    insertersBySchema.set(scope.schema, inserter);
  }
  return inserter;
}

export class PgOutboxStore implements OutboxStoreApi {
  readonly #scope: PgScope;
  readonly #events: PgEventLog;
  readonly #options: PgOutboxOptions;
  readonly #t: string;

  constructor(scope: PgScope, events: PgEventLog, options: PgOutboxOptions) {
    this.#scope = scope;
    this.#events = events;
    this.#options = options;
    this.#t = scope.table('outbox');
  }

  hasClient(channel: string): boolean {
    return heldForClient(channel, this.#options.clientChannels);
  }

  registerClientChannel(channel: string): void {
    this.#options.clientChannels.add(channel);
  }

  /** The tree fields of each row's events (one read of `runs` for all of them). */
  async #trees(scope: PgScope, rows: readonly OutboxRow[]): Promise<OutboxTree[]> {
    const runIds = [...new Set(rows.map((r) => r.runId).filter((id): id is string => id !== null))];
    const runs = new Map<string, ReplyRun>();
    if (runIds.length > 0) {
      for (const r of await scope.query<ReplyRun & { id: string }>(`SELECT id, parent_run_id, depth FROM ${scope.table('runs')} WHERE id = ANY($1::text[])`, [runIds])) runs.set(r.id, r);
    }
    return rows.map((r) => treeOf(r.conversationId, r.runId, r.agentId, r.runId ? runs.get(r.runId) : undefined));
  }

  async enqueue(input: OutboxInput): Promise<{ row: OutboxRow; created: boolean }> {
    const values = insertValues(newId('out'), input, !this.hasClient(input.channel), Date.now(), this.#options.ttlMs);
    // One statement (the insert, with its run's place in the tree for the events); inside a
    // transaction no savepoint, over the pool its own transaction with the events.
    return atomically(this.#scope, async (scope) => {
      const [inserted] = await scope.query<OutboxTableRow & { tree_parent_run_id: string | null; tree_depth: number | null }>(
        `WITH ins AS (INSERT INTO ${this.#t} (${INSERT_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *)
        SELECT ins.*, r.parent_run_id AS tree_parent_run_id, r.depth AS tree_depth FROM ins LEFT JOIN ${scope.table('runs')} r ON r.id = ins.run_id`,
        values,
      );
      if (!inserted) {
        const [existing] = await scope.query<OutboxTableRow>(`SELECT * FROM ${this.#t} WHERE idempotency_key = $1`, [input.idempotencyKey]);
        return { row: toRow(existing!), created: false };
      }
      const row = toRow(inserted);
      const run = inserted.tree_depth === null ? undefined : { parent_run_id: inserted.tree_parent_run_id, depth: inserted.tree_depth };
      await this.#events.appendMany(enqueuedEvents(row, treeOf(row.conversationId, row.runId, row.agentId, run)));
      return { row, created: true };
    });
  }

  /**
   * Inside a transaction the insert rides on its last statement (storage/pg/last-statement.ts):
   * a new row, which no other transaction waits for; a key taken already fails that statement
   * (the primary key's unique index). Over the pool: `enqueue`.
   */
  async enqueueAtCommit(input: OutboxInput, run?: ReplyRun): Promise<void> {
    if (!this.#scope.inTransaction) {
      if (!(await this.enqueue(input)).created) throw replyKeyTaken(input.idempotencyKey);
      return;
    }
    const id = newId('out');
    const delivered = !this.hasClient(input.channel);
    await this.#events.ride(inserterOf(this.#scope), insertValues(id, input, delivered, Date.now(), this.#options.ttlMs));
    const row = { id, channel: input.channel, text: input.text, status: delivered ? ('delivered' as const) : ('pending' as const) };
    await this.#events.appendMany(enqueuedEvents(row, treeOf(input.conversationId ?? null, input.runId ?? null, input.agentId ?? null, run)));
  }

  /** Leases up to `limit` deliverable rows of a channel, oldest first (after expiring what is past its TTL). */
  async claim(options: { channel: string; owner: string; limit?: number; leaseMs?: number; now?: number }): Promise<OutboxRow[]> {
    const now = options.now ?? Date.now();
    const leaseMs = options.leaseMs ?? 30_000;
    return this.#scope.transaction(async (scope) => {
      await this.#expire(scope, now);
      const rows = await scope.query<OutboxTableRow>(
        `WITH c AS (
          SELECT seq FROM ${this.#t}
          WHERE channel = $1 AND ((status = 'pending' AND available_at <= $2) OR (status = 'delivering' AND lease_expires_at < $2))
          ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
        UPDATE ${this.#t} o SET status = 'delivering', lease_owner = $4, lease_expires_at = $5, attempts = o.attempts + 1
        FROM c WHERE o.seq = c.seq RETURNING o.*`,
        [options.channel, now, Math.max(1, Math.min(options.limit ?? 20, 500)), options.owner, now + leaseMs],
      );
      return rows.map(toRow).sort((a, b) => a.seq - b.seq);
    });
  }

  /** The platform confirmed the send. Acking twice is fine; acking an unknown id is an error. */
  async ack(id: string): Promise<OutboxRow> {
    return this.#scope.transaction(async (scope) => {
      const row = await this.#lock(scope, id);
      if (mustAck(row) === 'done') return row;
      const [updated] = await scope.query<OutboxTableRow>(`UPDATE ${this.#t} SET status = 'delivered', delivered_at = $2, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 RETURNING *`, [
        id,
        Date.now(),
      ]);
      const [tree] = await this.#trees(scope, [row]);
      await this.#events.append(deliveredEvent(row, tree!));
      return toRow(updated!);
    });
  }

  /** A send failed: retry later with backoff, or `failed` after too many attempts. */
  async fail(id: string, error: string, options: { retryAfterMs?: number; permanent?: boolean } = {}): Promise<OutboxRow> {
    return this.#scope.transaction(async (scope) => {
      const row = await this.#lock(scope, id);
      const next = failure(row, this.#options.maxAttempts, options, Date.now());
      const [updated] = await scope.query<OutboxTableRow>(
        `UPDATE ${this.#t} SET status = $2, last_error = $3, available_at = $4, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 RETURNING *`,
        [id, next.status, error, next.availableAt],
      );
      if (next.status === 'failed') {
        const [tree] = await this.#trees(scope, [row]);
        await this.#events.append(failedEvent(row, tree!, error));
      }
      return toRow(updated!);
    });
  }

  /** Marks every row past its TTL as expired (an `outbox.expired` event each), one transaction per batch. */
  async expire(now = Date.now()): Promise<OutboxRow[]> {
    const expired: OutboxRow[] = [];
    for (;;) {
      const batch = await this.#scope.transaction((scope) => this.#expire(scope, now));
      expired.push(...batch);
      if (batch.length < EXPIRE_BATCH) return expired;
    }
  }

  async #expire(scope: PgScope, now: number): Promise<OutboxRow[]> {
    const rows = (
      await scope.query<OutboxTableRow>(
        `UPDATE ${this.#t} SET status = 'expired', lease_owner = NULL, lease_expires_at = NULL
        WHERE seq IN (SELECT seq FROM ${this.#t} WHERE status IN ('pending', 'delivering') AND expires_at < $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
        [now, EXPIRE_BATCH],
      )
    )
      .map(toRow)
      .sort((a, b) => a.seq - b.seq);
    if (rows.length === 0) return rows;
    const trees = await this.#trees(scope, rows);
    await this.#events.appendMany(rows.map((row, i) => expiredEvent(row, trees[i]!)));
    return rows;
  }

  async #lock(scope: PgScope, id: string): Promise<OutboxRow> {
    const [row] = await scope.query<OutboxTableRow>(`SELECT * FROM ${this.#t} WHERE id = $1 FOR UPDATE`, [id]);
    if (!row) throw outboxNotFound(id);
    return toRow(row);
  }

  async get(id: string): Promise<OutboxRow | undefined> {
    const [row] = await this.#scope.query<OutboxTableRow>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id]);
    return row ? toRow(row) : undefined;
  }

  async list(query: OutboxListQuery = {}): Promise<OutboxRow[]> {
    const params: unknown[] = [query.afterSeq ?? 0];
    const where = [
      'seq > $1',
      ...whereSet(params, [
        ['channel = ?', query.channel],
        ['status = ?', query.status],
        ['conversation_id = ?', query.conversationId],
      ]),
    ];
    params.push(Math.max(1, Math.min(query.limit ?? 100, 1000)));
    return (await this.#scope.query<OutboxTableRow>(`SELECT * FROM ${this.#t} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${params.length}`, params)).map(toRow);
  }

  async counts(): Promise<Record<OutboxStatus, number>> {
    const out: Record<OutboxStatus, number> = { pending: 0, delivering: 0, delivered: 0, failed: 0, expired: 0 };
    for (const r of await this.#scope.query<{ status: OutboxStatus; n: number }>(`SELECT status, count(*)::int AS n FROM ${this.#t} GROUP BY status`)) out[r.status] = r.n;
    return out;
  }

  /** Deletes delivered/expired rows created before `beforeTs`, in batches. */
  prune(beforeTs: number, batchSize = 1000): Promise<number> {
    return deleteInBatches(
      this.#scope,
      `DELETE FROM ${this.#t} WHERE seq IN (SELECT seq FROM ${this.#t} WHERE status IN ('delivered', 'expired') AND created_at < $1 AND ${notWaiting(this.#scope.table('conversations'))} LIMIT $2)`,
      [beforeTs],
      batchSize,
    );
  }
}

/** The outbox over `scope`; `settings` (the first call's) are read once per `shared`. */
export function pgOutboxStore(scope: PgScope, shared: PgShared, settings: { clientChannels?: readonly string[]; outboxTtlMs?: number } = {}): PgOutboxStore {
  const options = sharedState<PgOutboxOptions>(shared, 'outbox', () => ({
    clientChannels: new Set(settings.clientChannels),
    ttlMs: settings.outboxTtlMs ?? OUTBOX_DEFAULTS.ttlMs,
    maxAttempts: OUTBOX_DEFAULTS.maxAttempts,
  }));
  return new PgOutboxStore(scope, pgEventLog(scope, shared), options);
}
