/**
 * PostgreSQL implementation of the durable queue (docs/storage.md, docs/queue.md).
 *
 * - One table per schema (`migratePg`); the store takes a `pg` Pool and the schema name.
 * - Claims: a read (no lock) lists the agents whose head (lowest pending seq) is available and
 *   who have no processing message, oldest head first; one call of `tinyagi_claim`
 *   (drizzle-pg/0001) then takes a per-agent advisory transaction lock for them
 *   (`pg_try_advisory_xact_lock`, skipped if another claimer holds it) and, in one statement
 *   with a snapshot taken after the locks, checks again that each locked agent is free, locks
 *   its head with `FOR UPDATE SKIP LOCKED` (a locked head skips the agent, never overtakes it:
 *   FIFO) and claims it with the head's conversation (collect) or alone (sequential). So two
 *   nodes never hold two batches of one agent, and an agent's messages are handed out in seq
 *   order.
 * - Wake-ups: `pg_notify` in the transaction of every change that may make work claimable
 *   (except completions, which wake this process only: see #wakeLocal)
 *   (delivered at commit); `onWake` listeners LISTEN on a dedicated client and fire when the
 *   notification arrives, in this process or any other.
 * - Completions: one transaction for a group (`completeMany`): the rows are locked and checked
 *   first; items without effects are completed by one statement, items with effects each in a
 *   savepoint with their effects, so a lost lease or a throwing effect fails only its item.
 */
import pg from 'pg';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { TinyError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { StoreTransaction, TransactionalStores } from '../storage/interfaces.ts';
import { pgIdent } from '../storage/pg/migrate.ts';
import { type Awaitable, runBody, type TxBody } from '../storage/transaction.ts';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import type {
  BackoffPolicy,
  CancelOutcome,
  ClaimedBatch,
  ClaimOptions,
  CompletionEffects,
  CompletionInput,
  EnqueueInput,
  EnqueueResult,
  FailInput,
  FailOutcome,
  LeaseRenewal,
  MessageStatus,
  QueueCounts,
  QueueMessage,
  QueueStore,
  RecoveredLease,
} from './types.ts';
import { defaultReason, emptyCounts, toQueueMessage } from './message-row.ts';

export interface PgQueueStoreOptions {
  /** The schema holding the tables (created by `migratePg`). Default `tinyagi`. */
  schema?: string;
  defaultMaxAttempts?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
}

/** A `SELECT *` row of `messages` as node-postgres returns it (int8 parsed as numbers below). */
interface PgMessageRow {
  seq: number;
  id: string;
  kind: string;
  agent_id: string;
  team_id: string | null;
  conversation_id: string;
  parent_message_id: string | null;
  parent_run_id: string | null;
  run_id: string | null;
  depth: number;
  channel: string;
  sender: string;
  sender_id: string;
  thread_key: string | null;
  content: string;
  attachments: string[];
  meta: Record<string, unknown>;
  status: string;
  attempts: number;
  max_attempts: number;
  rate_limit_waits: number;
  available_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  cancel_requested: boolean;
  solo: boolean;
  last_error: string | null;
  last_failure: string | null;
  idempotency_key: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/**
 * Candidates per claim: three times the wanted count plus this. Claimers in other processes
 * see the same oldest-first list and take the first agents; the rest go to the next in line.
 */
const CLAIM_SLACK = 8;
const INT8 = 20;
const NUMERIC = 1700;

// ms timestamps and seq are bigint: read them as numbers (safe below 2^53); the rest as pg does.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

type Queryable = Pick<PoolClient, 'query'>;

/** Rows of the pending backlog, in seq order, the claim's first read looks at. */
const HEAD_WINDOW = 256;

/**
 * Candidate agents, oldest head first: whose head (lowest pending seq) is available and who have
 * nothing processing. The first read looks at the oldest HEAD_WINDOW pending rows only (their
 * agents' lowest seq there is their head: the window is a prefix in seq order); `n` says how
 * many rows it saw. When that window was full and gave too few agents (a busy agent's backlog in
 * front), the second read lists every agent with pending work by a loose index scan (one seek
 * per agent), so a long backlog costs O(agents), not O(rows).
 */
const WINDOW_CANDIDATES_SQL = (t: string) => `WITH win AS MATERIALIZED (
    SELECT seq, agent_id, available_at FROM ${t} WHERE status = 'pending' ORDER BY seq LIMIT ${HEAD_WINDOW}
  ), heads AS (
    SELECT DISTINCT ON (agent_id) agent_id, seq, available_at FROM win ORDER BY agent_id, seq
  )
  SELECT (SELECT count(*) FROM win) AS n, ARRAY(
    SELECT h.agent_id FROM heads h
    WHERE h.available_at <= $2 AND NOT (h.agent_id = ANY($1::text[]))
      AND NOT EXISTS (SELECT 1 FROM ${t} p WHERE p.status = 'processing' AND p.agent_id = h.agent_id)
    ORDER BY h.seq LIMIT $3
  ) AS agents`;

const CANDIDATES_SQL = (t: string) => `WITH RECURSIVE agents(id) AS (
    SELECT (SELECT min(agent_id) FROM ${t} WHERE status = 'pending')
    UNION ALL
    SELECT (SELECT min(agent_id) FROM ${t} WHERE status = 'pending' AND agent_id > agents.id) FROM agents WHERE agents.id IS NOT NULL
  )
  SELECT a.id AS agent_id FROM agents a
  CROSS JOIN LATERAL (SELECT seq, available_at FROM ${t} WHERE status = 'pending' AND agent_id = a.id ORDER BY seq LIMIT 1) h
  WHERE a.id IS NOT NULL AND NOT (a.id = ANY($1::text[])) AND h.available_at <= $2
    AND NOT EXISTS (SELECT 1 FROM ${t} p WHERE p.status = 'processing' AND p.agent_id = a.id)
  ORDER BY h.seq LIMIT $3`;

/**
 * Completes the items (unnested ids, owners, item numbers) whose every message the owner still
 * holds, in one statement: the rows are locked first (their newest versions are checked), items
 * with a lost lease are returned and left alone.
 */
const COMPLETE_SQL = (t: string) => `WITH w AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS w(id, owner, item)),
  l AS (SELECT id, status, lease_owner FROM ${t} WHERE id = ANY($1::text[]) FOR UPDATE),
  bad AS (SELECT DISTINCT ON (w.item) w.item, w.id FROM w LEFT JOIN l ON l.id = w.id WHERE l.id IS NULL OR l.status <> 'processing' OR l.lease_owner IS DISTINCT FROM w.owner ORDER BY w.item, w.id),
  u AS (
    UPDATE ${t} m SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = $4, updated_at = $4
    FROM w WHERE m.id = w.id AND m.status = 'processing' AND m.lease_owner = w.owner AND w.item NOT IN (SELECT item FROM bad)
    RETURNING 1
  )
  SELECT item, id FROM bad
  UNION ALL SELECT -1, NULL FROM (SELECT 1 FROM u LIMIT 1) x`;

export class PgQueueStore implements QueueStore {
  readonly #pool: Pool;
  readonly #schema: string;
  readonly #t: string;
  readonly #channel: string;
  readonly #candidatesSql: string;
  readonly #windowSql: string;
  readonly #completeSql: string;
  readonly #backoff: BackoffPolicy;
  readonly #defaultMaxAttempts: number;
  readonly #random: () => number;
  readonly #wakeListeners = new Set<() => void>();
  #listener: PoolClient | undefined;
  /** Set while the LISTEN is being set up: writes wait for it, so no notification is missed. */
  #listening: Promise<void> | undefined;
  #closed = false;

  constructor(pool: Pool, options: PgQueueStoreOptions = {}) {
    this.#pool = pool;
    this.#schema = options.schema ?? 'tinyagi';
    this.#t = `${pgIdent(this.#schema)}.messages`;
    this.#channel = `tinyagi_queue_${this.#schema}`.slice(0, 63);
    this.#candidatesSql = CANDIDATES_SQL(this.#t);
    this.#windowSql = WINDOW_CANDIDATES_SQL(this.#t);
    this.#completeSql = COMPLETE_SQL(this.#t);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#defaultMaxAttempts = options.defaultMaxAttempts ?? 5;
    this.#random = options.random ?? Math.random;
  }

  async #q<R extends QueryResultRow>(c: Queryable, text: string, values: unknown[] = []): Promise<R[]> {
    const res = await c.query<R>({ text, values, types });
    return res.rows;
  }

  /**
   * A named statement (prepared once per connection). Only for statements whose plan does not
   * depend on the table's size (the claim function's call): a generic plan made while the table
   * was small would keep sequential scans as it grows.
   */
  async #prepared<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const res = await this.#pool.query<R>({ name: `tq_${name}_${this.#schema}`, text, values, types });
    return res.rows;
  }

  async #rows<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return this.#q<R>(this.#pool, text, values);
  }

  async #inTx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    if (this.#listening) await this.#listening;
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  #notify(c: Queryable): Promise<unknown> {
    return c.query('SELECT pg_notify($1, $2)', [this.#channel, '']);
  }

  async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    return (await this.enqueueMany([input]))[0]!;
  }

  async enqueueMany(inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
    if (inputs.length === 0) return [];
    if (this.#listening) await this.#listening;
    const now = Date.now();
    const ids = inputs.map((i) => i.id ?? newId('msg'));
    const col = <T>(f: (i: EnqueueInput) => T) => inputs.map(f);
    // One statement (autocommit): the insert and its notification commit together.
    const inserted = await this.#rows<{ seq: number; id: string }>(
      `WITH ins AS (
        INSERT INTO ${this.#t} (id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments, meta, status, max_attempts, available_at, idempotency_key, created_at, updated_at)
        SELECT id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments::jsonb, meta::jsonb, 'pending', max_attempts, available_at, idempotency_key, $20, $20
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::int[], $18::bigint[], $19::text[])
          AS u(id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments, meta, max_attempts, available_at, idempotency_key)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING seq, id
      )
      SELECT seq, id, pg_notify($21, '') IS NULL AS n FROM ins`,
      [
        ids,
        col((i) => i.kind),
        col((i) => i.agentId),
        col((i) => i.teamId ?? null),
        col((i) => i.conversationId),
        col((i) => i.parentMessageId ?? null),
        col((i) => i.parentRunId ?? null),
        col((i) => i.runId ?? null),
        col((i) => i.depth ?? 0),
        col((i) => i.channel),
        col((i) => i.sender ?? ''),
        col((i) => i.senderId ?? ''),
        col((i) => i.threadKey ?? null),
        col((i) => i.content),
        col((i) => JSON.stringify(i.attachments ?? [])),
        col((i) => JSON.stringify(i.meta ?? {})),
        col((i) => i.maxAttempts ?? this.#defaultMaxAttempts),
        col((i) => i.availableAt ?? now),
        col((i) => i.idempotencyKey ?? null),
        now,
        this.#channel,
      ],
    );
    const seqOf = new Map(inserted.map((r) => [r.id, r.seq]));
    const results: EnqueueResult[] = [];
    const missing: string[] = [];
    inputs.forEach((input, k) => {
      const seq = seqOf.get(ids[k]!);
      if (seq !== undefined) results.push({ id: ids[k]!, seq, created: true, conversationId: input.conversationId });
      else missing.push(input.idempotencyKey!);
    });
    if (missing.length === 0) return results;
    const existing = new Map(
      (
        await this.#rows<{ seq: number; id: string; conversation_id: string; idempotency_key: string }>(
          `SELECT seq, id, conversation_id, idempotency_key FROM ${this.#t} WHERE idempotency_key = ANY($1::text[])`,
          [missing],
        )
      ).map((r) => [r.idempotency_key, r]),
    );
    return inputs.map((input, k) => {
      const seq = seqOf.get(ids[k]!);
      if (seq !== undefined) return { id: ids[k]!, seq, created: true, conversationId: input.conversationId };
      const row = existing.get(input.idempotencyKey!)!;
      return { id: row.id, seq: row.seq, created: false, conversationId: row.conversation_id };
    });
  }

  async claim(options: ClaimOptions): Promise<ClaimedBatch[]> {
    if (options.maxAgents <= 0) return [];
    if (this.#listening) await this.#listening;
    const now = options.now ?? Date.now();
    const collectLimit = Math.max(1, options.collectLimit ?? 50);
    const skip = [...(options.skipAgents ?? [])];
    const want = options.maxAgents;
    // A read (autocommit, no lock): the agents whose head is available and who are not busy,
    // oldest head first. A worker with nothing to claim stops here.
    const limit = want * 3 + CLAIM_SLACK;
    const [first] = await this.#rows<{ n: number; agents: string[] }>(this.#windowSql, [skip, now, limit]);
    let agents = first?.agents ?? [];
    if (agents.length < limit && (first?.n ?? 0) >= HEAD_WINDOW) {
      agents = (await this.#rows<{ agent_id: string }>(this.#candidatesSql, [skip, now, limit])).map((r) => r.agent_id);
    }
    if (agents.length === 0) return [];
    const limits = agents.map((a) => ((options.policy?.(a) ?? 'collect') === 'collect' ? collectLimit : 1));
    // The claim itself: one call of tinyagi_claim (drizzle-pg/0001): advisory lock per agent,
    // the busy check and the head's FOR UPDATE SKIP LOCKED under it, then the update.
    const rows = await this.#prepared<PgMessageRow>('claim', `SELECT * FROM ${pgIdent(this.#schema)}.tinyagi_claim($1::text[], $2::int[], $3, $4, $5, $6, $7)`, [
      agents,
      limits,
      want,
      now,
      options.owner,
      now + options.leaseMs,
      this.#schema,
    ]);
    const order = new Map(agents.map((a, k) => [a, k]));
    rows.sort((x, y) => order.get(x.agent_id)! - order.get(y.agent_id)! || x.seq - y.seq);
    const batches: ClaimedBatch[] = [];
    for (const row of rows) {
      const last = batches.at(-1);
      if (last && last.agentId === row.agent_id) last.messages.push(toMessage(row));
      else batches.push({ agentId: row.agent_id, messages: [toMessage(row)] });
    }
    return batches;
  }

  async renewLeases(owner: string, ids: readonly string[], leaseMs: number): Promise<LeaseRenewal> {
    const now = Date.now();
    const rows = await this.#rows<{ id: string; cancel_requested: boolean }>(
      `UPDATE ${this.#t} SET lease_expires_at = $1, updated_at = $2 WHERE id = ANY($3::text[]) AND status = 'processing' AND lease_owner = $4 RETURNING id, cancel_requested`,
      [now + leaseMs, now, ids, owner],
    );
    const held = new Map(rows.map((r) => [r.id, r.cancel_requested]));
    return { lost: ids.filter((id) => !held.has(id)), cancelRequested: ids.filter((id) => held.get(id) === true) };
  }

  async release(owner: string, ids: readonly string[]): Promise<void> {
    const now = Date.now();
    await this.#rows(
      `WITH r AS (UPDATE ${this.#t} SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, attempts = GREATEST(0, attempts - 1), available_at = $1, updated_at = $1
        WHERE id = ANY($2::text[]) AND status = 'processing' AND lease_owner = $3 AND NOT cancel_requested RETURNING 1)
      SELECT pg_notify($4, '') FROM (SELECT 1 FROM r LIMIT 1) x`,
      [now, ids, owner, this.#channel],
    );
  }

  complete(owner: string, ids: readonly string[], effects?: CompletionEffects): Promise<void> {
    return this.completeMany([{ owner, ids, effects }]).then(([err]) => {
      if (err) throw err;
    });
  }

  async completeMany(items: readonly CompletionInput[]): Promise<Array<Error | undefined>> {
    if (items.length === 0) return [];
    const now = Date.now();
    if (items.every((item) => !item.effects)) {
      // No effects: one statement, one round trip, one commit for the whole group.
      const ids: string[] = [];
      const owners: string[] = [];
      const nums: number[] = [];
      for (const [k, item] of items.entries()) {
        for (const id of item.ids) {
          ids.push(id);
          owners.push(item.owner);
          nums.push(k);
        }
      }
      const bad = new Map((await this.#rows<{ item: number; id: string }>(this.#completeSql, [ids, owners, nums, now])).map((r) => [r.item, r.id]));
      if (bad.size < items.length) this.#wakeLocal();
      return items.map((item, k) => {
        const lost = bad.get(k);
        return lost === undefined ? undefined : lostLease(lost, item.owner);
      });
    }
    const after: Array<() => void> = [];
    const results = await this.#inTx(async (c) => {
      const allIds = items.flatMap((i) => i.ids);
      // Lock every row first (the newest version: a lease lost meanwhile is seen).
      const held = new Map(
        (
          await this.#q<{ id: string; lease_owner: string | null; status: string }>(c, `SELECT id, lease_owner, status FROM ${this.#t} WHERE id = ANY($1::text[]) ORDER BY seq FOR UPDATE`, [allIds])
        ).map((r) => [r.id, r]),
      );
      const out: Array<Error | undefined> = items.map((item) => {
        const lost = item.ids.find((id) => {
          const r = held.get(id);
          return r?.status !== 'processing' || r.lease_owner !== item.owner;
        });
        return lost === undefined ? undefined : lostLease(lost, item.owner);
      });
      const plain = items.filter((item, k) => out[k] === undefined && !item.effects).flatMap((item) => item.ids);
      if (plain.length > 0) {
        await this.#q(c, `UPDATE ${this.#t} SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = $1, updated_at = $1 WHERE id = ANY($2::text[])`, [now, plain]);
      }
      let savepoints = 0;
      for (const [k, item] of items.entries()) {
        if (out[k] !== undefined || !item.effects) continue;
        const tx = new PgTransaction(c, () => `q${savepoints++}`);
        try {
          await tx.savepoint(async (inner) => {
            await this.#q(c, `UPDATE ${this.#t} SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = $1, updated_at = $1 WHERE id = ANY($2::text[])`, [now, item.ids]);
            await item.effects!(inner);
          });
          after.push(...tx.callbacks);
        } catch (err) {
          out[k] = err instanceof Error ? err : new Error(String(err));
        }
      }
      return out;
    });
    for (const cb of after) cb();
    if (results.some((e) => e === undefined)) this.#wakeLocal();
    return results;
  }

  async fail(owner: string, ids: readonly string[], input: FailInput): Promise<FailOutcome[]> {
    const now = input.now ?? Date.now();
    return this.#inTx(async (c) => {
      const rows = await this.#q<PgMessageRow>(c, `SELECT * FROM ${this.#t} WHERE id = ANY($1::text[]) AND status = 'processing' AND lease_owner = $2 ORDER BY seq FOR UPDATE`, [ids, owner]);
      const out: FailOutcome[] = [];
      for (const row of rows) out.push(await this.#settleFailure(c, row, input, now, ids.length > 1));
      if (out.length > 0) await this.#notify(c);
      return out;
    });
  }

  /** Decides what a failed or expired processing row becomes (the SQLite store's rules). */
  async #settleFailure(c: Queryable, row: PgMessageRow, input: FailInput, now: number, isolate: boolean): Promise<FailOutcome> {
    if (row.cancel_requested) {
      await this.#q(c, `UPDATE ${this.#t} SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, last_error = $1, finished_at = $2, updated_at = $2 WHERE seq = $3`, [
        row.last_error ?? 'cancelled',
        now,
        row.seq,
      ]);
      return { id: row.id, status: 'cancelled', attempts: row.attempts, availableAt: row.available_at };
    }
    let attempts = row.attempts;
    let waits = row.rate_limit_waits;
    let delay: number;
    if (input.kind === 'rate_limited' && waits < this.#backoff.maxRateLimitWaits) {
      attempts = Math.max(0, attempts - 1);
      waits += 1;
      delay = Math.max(input.retryAfterMs ?? 0, backoffDelay(waits, this.#backoff, this.#random));
    } else {
      delay = Math.max(input.retryAfterMs ?? 0, backoffDelay(attempts, this.#backoff, this.#random));
    }
    const exhausted = input.kind === 'permanent' || (input.kind !== 'rate_limited' && attempts >= row.max_attempts) || (input.kind === 'rate_limited' && waits === row.rate_limit_waits);
    const failure = input.reason ?? defaultReason(input.kind);
    if (exhausted) {
      const gaveUp = input.kind === 'rate_limited' ? `still rate limited after ${waits} wait${waits === 1 ? '' : 's'}` : `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
      const reason = input.kind === 'permanent' ? input.error : `${input.error} (${gaveUp})`;
      await this.#q(
        c,
        `UPDATE ${this.#t} SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL, attempts = $1, last_error = $2, last_failure = $3, finished_at = $4, updated_at = $4 WHERE seq = $5`,
        [attempts, reason, failure, now, row.seq],
      );
      return { id: row.id, status: 'dead', attempts, availableAt: row.available_at };
    }
    const availableAt = now + delay;
    await this.#q(
      c,
      `UPDATE ${this.#t} SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, available_at = $1, attempts = $2, rate_limit_waits = $3, last_error = $4, last_failure = $5, solo = $6, updated_at = $7 WHERE seq = $8`,
      [availableAt, attempts, waits, input.error, failure, isolate || row.solo, now, row.seq],
    );
    return { id: row.id, status: 'pending', attempts, availableAt };
  }

  async finishCancelled(owner: string, ids: readonly string[], reason: string): Promise<void> {
    const now = Date.now();
    await this.#rows(
      `WITH r AS (UPDATE ${this.#t} SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, last_error = $1, finished_at = $2, updated_at = $2
        WHERE id = ANY($3::text[]) AND status = 'processing' AND lease_owner = $4 RETURNING 1)
      SELECT pg_notify($5, '') FROM (SELECT 1 FROM r LIMIT 1) x`,
      [reason, now, ids, owner, this.#channel],
    );
  }

  async cancel(id: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
    const now = Date.now();
    return this.#inTx(async (c) => {
      const [row] = await this.#q<{ status: MessageStatus }>(c, `SELECT status FROM ${this.#t} WHERE id = $1 FOR UPDATE`, [id]);
      if (!row) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${id}.`);
      if (row.status === 'pending') {
        await this.#q(c, `UPDATE ${this.#t} SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, last_error = $1, finished_at = $2, updated_at = $2 WHERE id = $3`, [
          reason,
          now,
          id,
        ]);
        await this.#notify(c);
        return { id, state: 'cancelled', status: 'cancelled' };
      }
      if (row.status === 'processing') {
        await this.#q(c, `UPDATE ${this.#t} SET cancel_requested = true, last_error = $1, updated_at = $2 WHERE id = $3`, [reason, now, id]);
        return { id, state: 'cancelling', status: 'processing' };
      }
      return { id, state: 'not_cancellable', status: row.status };
    });
  }

  async recoverExpiredLeases(now = Date.now()): Promise<RecoveredLease[]> {
    const any = await this.#rows(`SELECT 1 FROM ${this.#t} WHERE status = 'processing' AND lease_expires_at < $1 LIMIT 1`, [now]);
    if (any.length === 0) return [];
    return this.#inTx(async (c) => {
      // SKIP LOCKED: rows another node is recovering (or completing) right now are its business.
      const rows = await this.#q<PgMessageRow>(c, `SELECT * FROM ${this.#t} WHERE status = 'processing' AND lease_expires_at < $1 ORDER BY seq FOR UPDATE SKIP LOCKED`, [now]);
      const batchSize = new Map<string, number>();
      const batchKey = (r: PgMessageRow) => `${r.lease_owner}\u0000${r.agent_id}\u0000${r.lease_expires_at}`;
      for (const r of rows) batchSize.set(batchKey(r), (batchSize.get(batchKey(r)) ?? 0) + 1);
      const out: RecoveredLease[] = [];
      for (const row of rows) {
        const shared = !row.solo && (batchSize.get(batchKey(row)) ?? 1) > 1;
        const charged = shared ? { ...row, attempts: Math.max(0, row.attempts - 1) } : row;
        const outcome = await this.#settleFailure(
          c,
          charged,
          { kind: 'retryable', reason: 'worker_lost', error: `lease expired while processing (worker ${row.lease_owner ?? '?'} stopped or crashed)` },
          now,
          true,
        );
        out.push({ id: row.id, agentId: row.agent_id, status: outcome.status, attempts: outcome.attempts });
      }
      if (out.length > 0) await this.#notify(c);
      return out;
    });
  }

  async expireLeases(isDead: (owner: string) => boolean, now = Date.now()): Promise<number> {
    const owners = (await this.#rows<{ lease_owner: string }>(`SELECT DISTINCT lease_owner FROM ${this.#t} WHERE status = 'processing' AND lease_owner IS NOT NULL`))
      .map((r) => r.lease_owner)
      .filter(isDead);
    if (owners.length === 0) return 0;
    const rows = await this.#rows(`UPDATE ${this.#t} SET lease_expires_at = $1, updated_at = $2 WHERE status = 'processing' AND lease_owner = ANY($3::text[]) RETURNING 1`, [now - 1, now, owners]);
    return rows.length;
  }

  async get(id: string): Promise<QueueMessage | undefined> {
    const [row] = await this.#rows<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id]);
    return row ? toMessage(row) : undefined;
  }

  async counts(): Promise<QueueCounts> {
    const counts = emptyCounts();
    for (const row of await this.#rows<{ status: MessageStatus; n: number }>(`SELECT status, count(*) AS n FROM ${this.#t} GROUP BY status`)) counts[row.status] = row.n;
    return counts;
  }

  async countsByAgent(): Promise<Array<{ agentId: string } & QueueCounts>> {
    const byAgent = new Map<string, { agentId: string } & QueueCounts>();
    for (const row of await this.#rows<{ agent_id: string; status: MessageStatus; n: number }>(`SELECT agent_id, status, count(*) AS n FROM ${this.#t} GROUP BY agent_id, status`)) {
      let entry = byAgent.get(row.agent_id);
      if (!entry) {
        entry = { agentId: row.agent_id, ...emptyCounts() };
        byAgent.set(row.agent_id, entry);
      }
      entry[row.status] = row.n;
    }
    return [...byAgent.values()];
  }

  async listProcessing(): Promise<QueueMessage[]> {
    return (await this.#rows<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE status = 'processing' ORDER BY seq`)).map(toMessage);
  }

  async listDead(limit = 100): Promise<QueueMessage[]> {
    return (await this.#rows<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE status = 'dead' ORDER BY seq DESC LIMIT $1`, [limit])).map(toMessage);
  }

  async retryDead(id: string): Promise<QueueMessage> {
    if (this.#listening) await this.#listening;
    const now = Date.now();
    const [row] = await this.#rows<PgMessageRow>(
      `WITH r AS (UPDATE ${this.#t} SET status = 'pending', attempts = 0, rate_limit_waits = 0, available_at = $1, finished_at = NULL, cancel_requested = false, updated_at = $1
        WHERE id = $2 AND status = 'dead' RETURNING *)
      SELECT r.*, pg_notify($3, '') IS NULL AS n FROM r`,
      [now, id, this.#channel],
    );
    if (!row) throw new TinyError('MESSAGE_NOT_FOUND', `No dead message with id ${id}.`);
    return toMessage(row);
  }

  async deleteDead(id: string): Promise<void> {
    const rows = await this.#rows(`DELETE FROM ${this.#t} WHERE id = $1 AND status = 'dead' RETURNING 1`, [id]);
    if (rows.length !== 1) throw new TinyError('MESSAGE_NOT_FOUND', `No dead message with id ${id}.`);
  }

  async deleteAllDead(agentId?: string): Promise<number> {
    const where = agentId === undefined ? "status = 'dead'" : "status = 'dead' AND agent_id = $2";
    return this.#deleteInBatches(`DELETE FROM ${this.#t} WHERE seq IN (SELECT seq FROM ${this.#t} WHERE ${where} LIMIT $1)`, agentId === undefined ? [] : [agentId], 1000);
  }

  async nextWakeAt(now = Date.now()): Promise<number | undefined> {
    const [row] = await this.#rows<{ p: number | null; l: number | null }>(
      `SELECT (SELECT min(available_at) FROM ${this.#t} WHERE status = 'pending' AND available_at > $1) AS p, (SELECT min(lease_expires_at) FROM ${this.#t} WHERE status = 'processing') AS l`,
      [now],
    );
    const times = [row?.p, row?.l].filter((t): t is number => typeof t === 'number');
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  async prune(beforeTs: number, batchSize = 1000): Promise<number> {
    return this.#deleteInBatches(`DELETE FROM ${this.#t} WHERE seq IN (SELECT seq FROM ${this.#t} WHERE status IN ('completed', 'cancelled') AND finished_at < $2 LIMIT $1)`, [beforeTs], batchSize);
  }

  async #deleteInBatches(text: string, params: unknown[], batchSize: number): Promise<number> {
    let total = 0;
    for (;;) {
      const res = await this.#pool.query({ text, values: [batchSize, ...params] });
      total += res.rowCount ?? 0;
      if ((res.rowCount ?? 0) < batchSize) return total;
    }
  }

  /**
   * Wake-ups by LISTEN/NOTIFY: the first listener opens a dedicated connection that LISTENs on
   * the schema's channel; every notification (an enqueue, completion, failure or release by any
   * process) calls the listeners. Writes made while the LISTEN is being set up wait for it.
   */
  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    this.#relisten();
    return () => this.#wakeListeners.delete(listener);
  }

  /**
   * Completions wake this process's listeners only, not other processes: the worker that
   * completed has a free slot and claims at once (the freed agent's next message is among the
   * oldest heads), while a NOTIFY would make every worker process claim after every completion.
   * Another process picks up a freed agent at its next wake-up or sweep (`queue.sweep_ms`).
   */
  #wakeLocal(): void {
    for (const listener of this.#wakeListeners) listener();
  }

  async #listen(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('notification', (n) => {
      if (n.channel === this.#channel) for (const listener of this.#wakeListeners) listener();
    });
    // A lost connection (server restart, network) must not crash the process: drop the client,
    // wake the listeners (something may have been missed) and listen again on a new one.
    client.on('error', () => {
      if (this.#listener !== client) return;
      this.#listener = undefined;
      client.release(true);
      for (const listener of this.#wakeListeners) listener();
      if (!this.#closed && this.#wakeListeners.size > 0) setTimeout(() => this.#relisten(), 1000).unref();
    });
    await client.query(`LISTEN ${pgIdent(this.#channel)}`);
    this.#listener = client;
  }

  #relisten(): void {
    if (this.#closed || this.#listener || this.#listening) return;
    this.#listening = this.#listen()
      .catch(() => {
        setTimeout(() => this.#relisten(), 1000).unref();
      })
      .finally(() => {
        this.#listening = undefined;
      });
  }

  /** Stops listening (the pool stays the caller's). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#listening) await this.#listening.catch(() => {});
    const l = this.#listener;
    this.#listener = undefined;
    if (l) {
      await l.query(`UNLISTEN ${pgIdent(this.#channel)}`).catch(() => {});
      l.release();
    }
  }
}

/**
 * The transaction handle completion effects receive on PostgreSQL: savepoints on the
 * transaction's client, after-commit callbacks kept until the commit. PostgreSQL stores for the
 * other tables are not built yet, so `stores` throws.
 */
export class PgTransaction implements StoreTransaction {
  readonly backend = 'postgres' as const;
  readonly callbacks: Array<() => void> = [];
  readonly #client: PoolClient;
  readonly #name: () => string;
  #open = false;

  constructor(client: PoolClient, name: () => string) {
    this.#client = client;
    this.#name = name;
  }

  get stores(): TransactionalStores {
    throw new TinyError('INVALID_STATE', 'The PostgreSQL backend has no stores for runs, outbox or events yet (docs/storage.md): completion effects cannot write through tx.stores.');
  }

  async savepoint<T>(fn: (tx: StoreTransaction) => Awaitable<T>): Promise<T> {
    if (this.#open) throw new TinyError('INVALID_STATE', 'A savepoint of this transaction handle is already open.');
    const name = this.#name();
    const inner = new PgTransaction(this.#client, this.#name);
    this.#open = true;
    await this.#client.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(inner);
      await this.#client.query(`RELEASE SAVEPOINT ${name}`);
      this.callbacks.push(...inner.callbacks);
      return out;
    } catch (err) {
      await this.#client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    } finally {
      this.#open = false;
    }
  }

  nest<T>(body: TxBody<T>): Promise<T> {
    return this.savepoint((inner) => runBody(body, inner));
  }

  afterCommit(cb: () => void): void {
    this.callbacks.push(cb);
  }

  onCommit(cb: () => void): void {
    this.callbacks.push(cb);
  }
}

function lostLease(id: string, owner: string): TinyError {
  return new TinyError('INVALID_STATE', `Cannot complete message ${id}: ${owner} no longer holds its lease (expired, cancelled or claimed elsewhere).`, { details: { id, owner } });
}

function toMessage(row: PgMessageRow): QueueMessage {
  return toQueueMessage(row, { attachments: row.attachments, meta: row.meta, cancelRequested: row.cancel_requested });
}
