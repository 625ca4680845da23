/**
 * PostgreSQL implementation of the durable queue (docs/storage.md, docs/queue.md).
 *
 * - One table per schema (`migratePg`); the store takes a `pg` Pool and the schema name.
 * - Claims: one call of `tinyagi_claim_next` (drizzle-pg/0005), one round trip: it lists the
 *   agents whose head (lowest pending seq) is available and who have no processing message,
 *   oldest head first, and claims those whose busy-policy limit the store sent along (the agents
 *   it has seen before, their policy evaluated at this claim) through `tinyagi_claim`
 *   (drizzle-pg/0001); an agent seen for the first time comes back unclaimed and is claimed by a
 *   second call, of `tinyagi_claim`, with its policy. `tinyagi_claim` takes a per-agent advisory
 *   transaction lock (`pg_try_advisory_xact_lock`, skipped if another claimer holds it) and, in
 *   one statement with a snapshot taken after the locks, checks again that each locked agent is
 *   free, locks its head with `FOR UPDATE SKIP LOCKED` (a locked head skips the agent, never
 *   overtakes it: FIFO) and claims it with the head's conversation (collect) or alone
 *   (sequential). So two nodes never hold two batches of one agent, and an agent's messages are
 *   handed out in seq order.
 * - Turns (drizzle-pg/0024): a claim after one whose batches fell short of their limits (the
 *   queue drained as fast as it fills) waits for the claims in progress (the schema's claim lock,
 *   exclusive) and then claims in one statement without per-agent locks: claims of several
 *   workers no longer race for the few messages there, each paying a claim's cost for a small
 *   batch. After full batches (a backlog) claims run side by side (the lock shared) as above.
 *   A claim gives up a lock wait after a second (drizzle-pg/0025): one that took its turn is made
 *   again without it, passing over an agent whose message an open transaction holds locked.
 * - Next wake time: the claim function also returns what `nextWakeAt(now)` would answer (a row
 *   with seq -2, drizzle-pg/0010; not when it would go unused, 0028); `nextWakeAt` with the
 *   claim's `now` answers from it while the hub listens, unless something that may bring that
 *   time earlier happened since (`PgQueueHub.changes`: a write here, a notification). The worker
 *   asks with its last claim's time, so a claim and its wake timer cost one round trip.
 * - Wake-ups: `pg_notify` in the transaction of every change that may make work claimable
 *   (except completions, which wake this process only: see #wakeLocal)
 *   (delivered at commit); `onWake` listeners LISTEN on a dedicated connection, not one of the
 *   pool's, and fire when the notification arrives, in this process or any other. Nothing waits
 *   for the LISTEN while holding a pooled connection: claims and writes over the pool
 *   wait for its first attempt (they hold none), writes inside a transaction never do; a write
 *   made while it is not active wakes this process's listeners after its commit itself, and a
 *   LISTEN restored after a loss wakes them once.
 * - Completions: one transaction for a group (`completeMany`): one statement locks and checks
 *   every row and completes the items without effects (with none, that is the whole group). Over
 *   the pool the first item with effects is completed by that statement too and its effects run
 *   without a savepoint (if they throw, the transaction runs again without it); every other item
 *   with effects has a savepoint, opened in the same message as its completion. So a lost lease
 *   or a throwing effect fails only its item.
 * - Scopes: a store runs over a `PgScope`, the pool or an open transaction (`tx.stores.queue`
 *   of `openPgStores`): an enqueue, cancel or completion there is part of that transaction, and
 *   its NOTIFY is delivered only if it commits. What is process-wide lives in `PgQueueHub`, one
 *   per process and schema (the pool, the LISTEN connection, the wake-up listeners): claims
 *   always run on the pool in their own short transaction (the claim function holds advisory
 *   locks and commits with `synchronous_commit = off`, which must not spread to a caller's
 *   transaction), and wake-ups of this process's listeners run after the commit.
 * - Events: given `eventsOf`, `message.enqueued`, `queue.retry` and `queue.dead` are appended to
 *   the event log of the same scope, in the same transaction, as the SQLite store does.
 */
import type { Pool, QueryResultRow } from 'pg';
import { TinyError } from '../errors.ts';
import { newId } from '../ids.ts';
import { MISSED_HEARTBEATS } from '../nodes/registry.ts';
import type { EventLogApi } from '../events/store.ts';
import { pgIdent } from '../storage/pg/migrate.ts';
import { deleteInBatches } from '../storage/pg/helpers.ts';
import { PgChannelListener } from '../storage/pg/listen.ts';
import { preparingStatements } from '../storage/pg/statements.ts';
import { atomically, PgPoolScope, type PgScope, type PgTxScope, pgTypes } from '../storage/pg/scope.ts';
import { NO_STORES, PgStoreTransaction, type PgStoresOf } from '../storage/pg/transaction.ts';
import { runWork } from '../storage/transaction.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
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
import { chargeExpired, emptyCounts, enqueuedEvent, leaseLost, RELEASED, settleFailure, toQueueMessage } from './message-row.ts';

export interface PgQueueStoreOptions {
  /** The schema holding the tables (created by `migratePg`). Default `tinyagi`. */
  schema?: string;
  defaultMaxAttempts?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
}

/** Where one store object runs (`openPgStores` makes one per transaction over a shared hub). */
export interface PgQueueScopeOptions<S = never> {
  /** Default: the hub's pool (each method its own transaction). */
  scope?: PgScope;
  /** The event log of a scope: the queue's events are appended there, in the same transaction. */
  eventsOf?: (scope: PgScope) => EventLogApi;
  /** The stores of a scope, which completion effects write through (`tx.stores`). */
  storesOf?: PgStoresOf<S>;
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
/**
 * Agents whose busy-policy limit a claim sends along (the agents this process enqueued for, was
 * told of by an enqueue's notification, or saw as candidates; their policy evaluated afresh at
 * every claim): their candidates are claimed in the first round trip. Beyond this many, claims
 * send none and take two round trips.
 */
const KNOWN_AGENTS_MAX = 256;
/** The claim's named statement (`PgQueueHub.claimNextSql`). */
const CLAIM_NEXT = 'claim_next';
/** Characters of agent ids an enqueue's notification carries at most (PostgreSQL's limit: 8,000 bytes). */
const NOTIFY_AGENTS_CHARS = 2000;

/**
 * Completes the items (unnested ids, owners, item numbers) whose every message the owner still
 * holds, in one statement (`tinyagi_complete`, drizzle-pg/0027): the rows are locked first (their
 * newest versions are checked), items with a lost lease are returned and left alone. `$5`: the
 * items to complete (null: all); the others are locked and checked only. A row (-1, null) says
 * some were completed.
 */
const COMPLETE_SQL = (schema: string) => `SELECT o_item AS item, o_id AS id FROM ${pgIdent(schema)}.tinyagi_complete($1::text[], $2::text[], $3::int[], $4, $5::int[])`;

/**
 * What every `PgQueueStore` of one process and schema shares: the pool claims run on, the
 * statements, the policy, and the LISTEN connection with this process's wake-up listeners.
 */
export class PgQueueHub {
  readonly pool: Pool;
  /** The pool as a scope (claims, and stores made without a scope). */
  readonly poolScope: PgPoolScope;
  readonly schema: string;
  readonly table: string;
  readonly channel: string;
  readonly completeSql: string;
  /** The claim's statement (`tinyagi_claim_next`, drizzle-pg/0024), a named one on each connection. */
  readonly claimNextSql: string;
  /** Claims are named statements, unless `TINYAGI_PG_PREPARE=off` (read when the hub is made). */
  readonly prepare = preparingStatements();
  readonly backoff: BackoffPolicy;
  readonly defaultMaxAttempts: number;
  readonly random: () => number;
  /** Agents known to this process (KNOWN_AGENTS_MAX): claims send their policy limits along. */
  readonly knownAgents = new Set<string>();
  /**
   * Counts what may bring a wake time earlier than a claim saw (a write of this process other
   * than a completion, a notification, a LISTEN restored): a claim's next wake time is used only
   * while this is unchanged.
   */
  changes = 0;
  /** The payload of this process's notifications: its own come back and are not counted in `changes` (its writes were). */
  readonly notifyPayload = newId('qh');
  readonly #wakeListeners = new Set<() => void>();
  /** The LISTEN on a dedicated connection (storage/pg/listen.ts), from the first `onWake`. */
  #listener: PgChannelListener | undefined;
  /** Resolves once the first LISTEN attempt ended (what pool-level writes and claims wait for: `#ready`). */
  ready: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(pool: Pool, options: PgQueueStoreOptions = {}) {
    this.pool = pool;
    this.schema = options.schema ?? 'tinyagi';
    this.poolScope = new PgPoolScope(pool, this.schema);
    this.table = `${pgIdent(this.schema)}.messages`;
    this.channel = `tinyagi_queue_${this.schema}`.slice(0, 63);
    this.completeSql = COMPLETE_SQL(this.schema);
    this.claimNextSql = `SELECT * FROM ${pgIdent(this.schema)}.tinyagi_claim_next($1::text[], $2::text[], $3::text[], $4::int[], $5, $6, $7, $8, $9, $10, $11)`;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.defaultMaxAttempts = options.defaultMaxAttempts ?? 5;
    this.random = options.random ?? Math.random;
  }

  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    if (!this.#closed && !this.#listener) {
      this.#listener = new PgChannelListener(this.pool, this.channel, {
        onNotify: (payload) => {
          // An enqueue's notification names its agents after its sender's payload (`enqueuePayload`).
          const [sender, ...agents] = payload.split('\n');
          if (sender !== this.notifyPayload) {
            this.changes++;
            this.learnAgents(agents);
          }
          this.wakeLocal();
        },
        // What was committed while the connection was down raised no notification here: look once.
        onRestored: () => {
          this.changes++;
          this.wakeLocal();
        },
      });
      this.ready = this.#listener.startInBackground();
    }
    return () => this.#wakeListeners.delete(listener);
  }

  /** Agents whose claims can send their policy along (up to KNOWN_AGENTS_MAX; claims may add past it). */
  learnAgents(agents: Iterable<string>): void {
    for (const agent of agents) {
      if (this.knownAgents.size >= KNOWN_AGENTS_MAX) return;
      this.knownAgents.add(agent);
    }
  }

  /**
   * An enqueue's notification: this process's payload, then the agents enqueued for, a line each
   * (as many as NOTIFY_AGENTS_CHARS holds), so that a listening process claims their first
   * messages in one round trip, their policy sent along.
   */
  enqueuePayload(agents: Iterable<string>): string {
    let payload = this.notifyPayload;
    for (const agent of new Set(agents)) {
      if (payload.length + agent.length + 1 > NOTIFY_AGENTS_CHARS || agent.includes('\n')) break;
      payload += `\n${agent}`;
    }
    return payload;
  }

  /** True while the LISTEN is active: a notification committed now reaches this process. */
  get listening(): boolean {
    return this.#listener?.listening === true;
  }

  /**
   * Completions wake this process's listeners only, not other processes: the worker that
   * completed has a free slot and claims at once (the freed agent's next message is among the
   * oldest heads), while a NOTIFY would make every worker process claim after every completion.
   * Another process picks up a freed agent at its next wake-up or sweep (`queue.sweep_ms`).
   */
  wakeLocal(): void {
    for (const listener of this.#wakeListeners) listener();
  }

  /** This process has wake-up listeners but no active LISTEN: its notifications would not reach them. */
  get deaf(): boolean {
    return this.#wakeListeners.size > 0 && !this.listening;
  }

  /** Stops listening (the pool stays the caller's). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#listener?.close();
    this.#listener = undefined;
  }
}

/** `S`: the stores completion effects write through (given by openPgStores; none on a store made on its own). */
export class PgQueueStore<S = never> implements QueueStore<S> {
  readonly hub: PgQueueHub;
  readonly #scope: PgScope;
  readonly #t: string;
  readonly #eventsOf: ((scope: PgScope) => EventLogApi) | undefined;
  readonly #storesOf: PgStoresOf<S>;
  /** Whether the next claim waits for the schema's claim lock (set by each claim; see `claim`). */
  #takeTurn = true;
  /** The next wake time the last claim read, with its `now` and the hub's `changes` before it. */
  #claimWake: { now: number; at: number | undefined; changes: number } | undefined;

  /** Over `pool` (a hub of its own) or over a shared `hub`; `options.scope` binds it to a transaction. */
  constructor(pool: Pool | PgQueueHub, options: PgQueueStoreOptions & PgQueueScopeOptions<S> = {}) {
    this.hub = pool instanceof PgQueueHub ? pool : new PgQueueHub(pool, options);
    this.#scope = options.scope ?? this.hub.poolScope;
    this.#t = this.hub.table;
    this.#eventsOf = options.eventsOf;
    this.#storesOf = options.storesOf ?? NO_STORES;
  }

  /**
   * A named statement on the pool (prepared once per connection). Only for statements whose plan
   * does not depend on the table's size (the claim function's call): a generic plan made while
   * the table was small would keep sequential scans as it grows.
   */
  async #prepared<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const res = await this.hub.pool.query<R>(this.#named(name, text, values));
    return res.rows;
  }

  /** Named unless `TINYAGI_PG_PREPARE=off` (a pooler that cannot keep prepared statements: storage/pg/statements.ts). */
  #named(name: string, text: string, values: unknown[]) {
    return { ...(this.hub.prepare ? { name: `tq_${name}_${this.hub.schema}` } : {}), text, values, types: pgTypes };
  }

  /**
   * `QueueStore.prepareConnections`: opens up to `connections` of the pool's connections at once
   * (fewer than the pool holds) and on each makes an empty claim of both kinds (beside other
   * claims, and taking its turn) and an empty completion. A connection's first claim plans the
   * claim functions there, about 25 ms on top of opening it; after this a worker's first messages
   * wait for neither. Nothing is claimed or written.
   */
  async prepareConnections(connections: number): Promise<void> {
    await this.#ready();
    const { pool } = this.hub;
    const count = Math.min(connections, (pool.options.max ?? 10) - 1);
    // All are held before any is used, so each is a connection of its own; each goes back when it
    // is ready (or at once, if another could not be had).
    const held = await Promise.allSettled(Array.from({ length: Math.max(0, count) }, () => pool.connect()));
    const clients = held.flatMap((h) => (h.status === 'fulfilled' ? [h.value] : []));
    const failed = held.find((h) => h.status === 'rejected');
    if (failed) {
      for (const client of clients) client.release();
      throw failed.reason;
    }
    const now = Date.now();
    await Promise.all(
      clients.map(async (client) => {
        try {
          for (const takeTurn of [false, true]) await client.query(this.#named(CLAIM_NEXT, this.hub.claimNextSql, [[], null, [], [], 0, 0, now, 'prepare', now, this.hub.schema, takeTurn]));
          await client.query(this.hub.completeSql, [[], [], [], now, null]);
        } finally {
          client.release();
        }
      }),
    );
  }

  /**
   * Over the pool (holding no connection) a write or claim waits for the first LISTEN attempt,
   * so its notification reaches this process's listeners exactly once and a first claim sees
   * everything committed before the LISTEN. Inside a transaction it never waits: the
   * LISTEN must not hold up a connection; `#notifying` wakes this process after the commit instead.
   */
  async #ready(): Promise<void> {
    if (!this.#scope.inTransaction) await this.hub.ready;
  }

  #notify(c: PgScope): Promise<unknown> {
    return this.#notifying(c, () => c.query('SELECT pg_notify($1, $2)', [this.hub.channel, this.hub.notifyPayload]));
  }

  /**
   * Runs a statement that notifies. Without an active LISTEN (being set up while this transaction
   * runs, or lost) its notification would not reach this process, so this process's listeners are
   * woken after the commit instead (judged before the statement: a LISTEN that becomes active
   * meanwhile may add a second wake-up, never lose one).
   */
  async #notifying<R>(c: PgScope, statement: () => Promise<R>): Promise<R> {
    this.hub.changes++;
    const deaf = this.hub.deaf;
    const out = await statement();
    if (deaf) c.afterCommit(() => this.hub.wakeLocal());
    return out;
  }

  async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    return (await this.enqueueMany([input]))[0]!;
  }

  async enqueueMany(inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
    if (inputs.length === 0) return [];
    await this.#ready();
    const eventsOf = this.#eventsOf;
    // Without an event log the insert and its notification are one statement. With one, the
    // events are written at the commit (`PgScope.collect`): inside a caller's transaction the
    // insert is the one statement, which needs no savepoint (a failure fails the transaction).
    if (!eventsOf) return this.#insert(this.#scope, inputs);
    return atomically(this.#scope, async (c) => {
      const results = await this.#insert(c, inputs);
      const events = eventsOf(c);
      for (const [k, r] of results.entries()) if (r.created) await events.append(enqueuedEvent(inputs[k]!, r.id));
      return results;
    });
  }

  async #insert(c: PgScope, inputs: readonly EnqueueInput[]): Promise<EnqueueResult[]> {
    const now = Date.now();
    const ids = inputs.map((i) => i.id ?? newId('msg'));
    const col = <T>(f: (i: EnqueueInput) => T) => inputs.map(f);
    const agents = col((i) => i.agentId);
    this.hub.learnAgents(agents);
    // The insert and its notification in one statement (delivered when it commits).
    const inserted = await this.#notifying(c, () =>
      c.query<{ seq: number; id: string }>(
        `WITH ins AS (
        INSERT INTO ${this.#t} (id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments, meta, status, max_attempts, available_at, idempotency_key, created_at, updated_at)
        SELECT id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments::jsonb, meta::jsonb, 'pending', max_attempts, available_at, idempotency_key, $20, $20
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::int[], $18::bigint[], $19::text[])
          AS u(id, kind, agent_id, team_id, conversation_id, parent_message_id, parent_run_id, run_id, depth, channel, sender, sender_id, thread_key, content, attachments, meta, max_attempts, available_at, idempotency_key)
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING seq, id
      )
      SELECT seq, id, pg_notify($21, $22) IS NULL AS n FROM ins`,
        [
          ids,
          col((i) => i.kind),
          agents,
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
          col((i) => i.maxAttempts ?? this.hub.defaultMaxAttempts),
          col((i) => i.availableAt ?? now),
          col((i) => i.idempotencyKey ?? null),
          now,
          this.hub.channel,
          this.hub.enqueuePayload(agents),
        ],
      ),
    );
    const seqOf = new Map(inserted.map((r) => [r.id, r.seq]));
    const missing = inputs.flatMap((input, k) => (seqOf.has(ids[k]!) ? [] : [input.idempotencyKey!]));
    const existing = new Map(
      missing.length === 0
        ? []
        : (
            await c.query<{ seq: number; id: string; conversation_id: string; idempotency_key: string }>(
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

  /** Always on the pool, in the claim's own transaction (see the header), whatever this store's scope. */
  async claim(options: ClaimOptions): Promise<ClaimedBatch[]> {
    if (options.maxAgents <= 0) return [];
    await this.#ready();
    const now = options.now ?? Date.now();
    const collectLimit = Math.max(1, options.collectLimit ?? 50);
    const limitOf = (agent: string) => ((options.policy?.(agent) ?? 'collect') === 'collect' ? collectLimit : 1);
    // The busy hint is not sent: a candidate's busy check is one index lookup, while the list (a
    // node's batches in flight, thousands in B5) would be sent and hashed at every claim.
    const skip = [...(options.skipAgents ?? [])];
    const only = options.agents ? [...options.agents] : null;
    if (only?.length === 0) return [];
    const want = options.maxAgents;
    const known = this.hub.knownAgents.size <= KNOWN_AGENTS_MAX ? [...this.hub.knownAgents] : [];
    const common = [now, options.owner, now + options.leaseMs, this.hub.schema];
    const changes = this.hub.changes;
    // One round trip (tinyagi_claim_next, drizzle-pg/0005): the candidates, oldest head first,
    // and the claim of those whose policy limit is sent along (tinyagi_claim's locks and checks).
    // A worker with nothing to claim stops here.
    const claimNext = (takeTurn: boolean) =>
      this.#prepared<PgMessageRow>(CLAIM_NEXT, this.hub.claimNextSql, [skip, only, known, known.map(limitOf), want, want * 3 + CLAIM_SLACK, ...common, takeTurn]);
    // A turn that met a locked message gave up after a second (drizzle-pg/0025): claim without it.
    const takeTurn = this.#takeTurn;
    const first = await claimNext(takeTurn).catch((err: unknown) => (takeTurn && isLockTimeout(err) ? claimNext(false) : Promise.reject(err)));
    const rows = first.filter((r) => r.seq >= 0);
    // No wake row when it would not be used (drizzle-pg/0028): the claim got every batch it wanted,
    // or returned agents this store did not know (claimed below); `nextWakeAt` then asks.
    const wake = first.find((r) => r.seq === -2);
    this.#claimWake = wake === undefined ? undefined : { now, at: wake.available_at ?? undefined, changes };
    // Candidates of an agent not sent along (seq -1): their policy now, then tinyagi_claim for them.
    // (An agent may be listed twice: a claim that took its turn and looked past the oldest rows.)
    const unknown = [...new Set(first.filter((r) => r.seq === -1).map((r) => r.agent_id))];
    const claimedAgents = new Set(rows.map((r) => r.agent_id)).size;
    if (unknown.length > 0 && claimedAgents < want) {
      for (const agent of unknown) this.hub.knownAgents.add(agent);
      rows.push(
        ...(await this.#prepared<PgMessageRow>('claim', `SELECT * FROM ${pgIdent(this.hub.schema)}.tinyagi_claim($1::text[], $2::int[], $3, $4, $5, $6, $7)`, [
          unknown,
          unknown.map(limitOf),
          want - claimedAgents,
          ...common,
        ])),
      );
    }
    // Batches oldest head first (the candidates' order), each in seq order.
    rows.sort((x, y) => x.seq - y.seq);
    const byAgent = new Map<string, ClaimedBatch>();
    for (const row of rows) {
      const batch = byAgent.get(row.agent_id);
      if (batch) batch.messages.push(toMessage(row));
      else byAgent.set(row.agent_id, { agentId: row.agent_id, messages: [toMessage(row)] });
    }
    const batches = [...byAgent.values()];
    // A backlog fills batches to their limits: the next claim runs beside others. Otherwise the
    // queue is drained as it fills, and the next claim takes its turn (drizzle-pg/0024).
    this.#takeTurn = batches.length === 0 || batches.some((b) => b.messages.length < limitOf(b.agentId));
    return batches;
  }

  async renewLeases(owner: string, ids: readonly string[], leaseMs: number): Promise<LeaseRenewal> {
    this.hub.changes++;
    const now = Date.now();
    // One statement for every batch of a worker (its sweep, every second by default): only the
    // ids lost or asked to cancel come back, and only leases with less than two thirds of
    // `leaseMs` left are written (a row rewritten every sweep cost a row version and its index
    // entries per running batch per second).
    const rows = await this.#scope.query<{ id: string; cancel_requested: boolean | null }>(
      `WITH h AS (SELECT id, cancel_requested, lease_expires_at FROM ${this.#t} WHERE id = ANY($3::text[]) AND status = 'processing' AND lease_owner = $4),
      r AS (UPDATE ${this.#t} m SET lease_expires_at = $1, updated_at = $2 FROM h WHERE m.id = h.id AND h.lease_expires_at < $5 AND m.status = 'processing' AND m.lease_owner = $4 RETURNING 1)
      SELECT u.id, h.cancel_requested FROM unnest($3::text[]) AS u(id) LEFT JOIN h ON h.id = u.id WHERE h.id IS NULL OR h.cancel_requested`,
      [now + leaseMs, now, ids, owner, now + Math.ceil((leaseMs * 2) / 3)],
    );
    return { lost: rows.filter((r) => r.cancel_requested === null).map((r) => r.id), cancelRequested: rows.filter((r) => r.cancel_requested === true).map((r) => r.id) };
  }

  async release(owner: string, ids: readonly string[]): Promise<void> {
    await this.#ready();
    const now = Date.now();
    const c = this.#scope;
    await this.#notifying(c, () =>
      c.query(
        `WITH r AS (UPDATE ${this.#t} SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, attempts = GREATEST(0, attempts - 1), last_error = $5, available_at = $1, updated_at = $1
        WHERE id = ANY($2::text[]) AND status = 'processing' AND lease_owner = $3 AND NOT cancel_requested RETURNING 1)
      SELECT pg_notify($4, $6) FROM (SELECT 1 FROM r LIMIT 1) x`,
        [now, ids, owner, this.hub.channel, RELEASED, this.hub.notifyPayload],
      ),
    );
  }

  complete(owner: string, ids: readonly string[], effects?: CompletionEffects<S>): Promise<void> {
    return this.completeMany([{ owner, ids, effects }]).then(([err]) => {
      if (err) throw err;
    });
  }

  async completeMany(items: readonly CompletionInput<S>[]): Promise<Array<Error | undefined>> {
    if (items.length === 0) return [];
    const now = Date.now();
    if (items.every((item) => !item.effects)) {
      // No effects: one statement, one round trip, one commit for the whole group.
      const out = await this.#lockAndComplete(this.#scope, items, now, null);
      if (out.some((e) => e === undefined)) this.#scope.afterCommit(() => this.hub.wakeLocal());
      return out;
    }
    // Over the pool this method is the whole transaction: the first item with effects runs
    // without a savepoint, and if its effects throw the transaction is rolled back and run again
    // without it (nothing else's effects ran before it; the plain completions are run again).
    const failed = new Map<number, Error>();
    for (;;) {
      try {
        return await this.#scope.transaction((c) => this.#completeWithEffects(c, items, now, failed, !this.#scope.inTransaction));
      } catch (err) {
        if (!(err instanceof ItemFailed)) throw err;
        failed.set(err.item, err.error);
      }
    }
  }

  /**
   * One transaction of `completeMany` with effects: the rows locked and checked, the items without
   * effects completed by one statement, each item with effects in a savepoint of its own (a throwing
   * effect undoes only its item: its writes and after-commit callbacks), except the first when
   * `bare`, whose failure throws `ItemFailed` for the caller to run the transaction again.
   */
  async #completeWithEffects(c: PgScope, items: readonly CompletionInput<S>[], now: number, failed: ReadonlyMap<number, Error>, bare: boolean): Promise<Array<Error | undefined>> {
    const live = items.map((_, k) => !failed.has(k));
    const first = bare ? items.findIndex((item, k) => live[k] && item.effects) : -1;
    // One statement locks and checks every row (the newest version: a lease lost meanwhile is
    // seen) and completes the items without effects and the first item, whose effects run bare.
    const checked = await this.#lockAndComplete(
      c,
      items,
      now,
      items.flatMap((item, k) => (live[k] && (!item.effects || k === first) ? [k] : [])),
    );
    const out = checked.map((lost, k) => lost ?? failed.get(k));
    const tx = (scope: PgScope) => new PgStoreTransaction(scope as PgTxScope, this.#storesOf);
    if (first >= 0 && out[first] === undefined) {
      try {
        await runWork(items[first]!.effects!, tx(c));
      } catch (err) {
        throw new ItemFailed(first, err);
      }
    }
    for (const [k, item] of items.entries()) {
      if (out[k] !== undefined || !item.effects || k === first) continue;
      // The item's completion goes with its SAVEPOINT and its effects' first statement (one
      // pipeline). One message by `id = $2`: a generic plan PostgreSQL keeps (with `ANY` it
      // planned every call, its generic estimate being ten ids).
      const one = item.ids.length === 1;
      const opening = {
        text: `UPDATE ${this.#t} SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = $1, updated_at = $1 WHERE ${one ? 'id = $2' : 'id = ANY($2::text[])'}`,
        values: [now, one ? item.ids[0] : item.ids],
      };
      try {
        await c.transaction((inner) => Promise.resolve(runWork(item.effects!, tx(inner))), opening);
      } catch (err) {
        out[k] = err instanceof Error ? err : new Error(String(err));
      }
    }
    if (out.some((e) => e === undefined)) c.afterCommit(() => this.hub.wakeLocal());
    return out;
  }

  /**
   * COMPLETE_SQL over `items`: every row locked and checked, the items `complete` (null: all)
   * completed unless a lease was lost. Returns, per item, its lost-lease error or undefined.
   */
  async #lockAndComplete(c: PgScope, items: readonly CompletionInput<S>[], now: number, complete: number[] | null): Promise<Array<TinyError | undefined>> {
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
    const bad = new Map((await c.query<{ item: number; id: string }>(this.hub.completeSql, [ids, owners, nums, now, complete])).map((r) => [r.item, r.id]));
    return items.map((item, k) => {
      const lost = bad.get(k);
      return lost === undefined ? undefined : lostLease(lost, item.owner);
    });
  }

  async fail(owner: string, ids: readonly string[], input: FailInput): Promise<FailOutcome[]> {
    await this.#ready();
    const now = input.now ?? Date.now();
    return this.#scope.transaction(async (c) => {
      const rows = await c.query<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE id = ANY($1::text[]) AND status = 'processing' AND lease_owner = $2 ORDER BY seq FOR UPDATE`, [ids, owner]);
      const out: FailOutcome[] = [];
      for (const row of rows) out.push(await this.#settleFailure(c, row, input, now, ids.length > 1));
      if (out.length > 0) await this.#notify(c);
      return out;
    });
  }

  /** Writes what a failed or expired processing row becomes (message-row.ts's rules) and its event. */
  async #settleFailure(c: PgScope, row: PgMessageRow, input: FailInput, now: number, isolate: boolean): Promise<FailOutcome> {
    const settled = settleFailure(row, input, now, isolate, this.hub.backoff, this.hub.random);
    if (settled.status === 'cancelled') {
      await c.query(`UPDATE ${this.#t} SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, last_error = $1, finished_at = $2, updated_at = $2 WHERE id = $3`, [
        settled.lastError,
        now,
        row.id,
      ]);
      return settled.outcome;
    }
    if (settled.status === 'dead') {
      await c.query(
        `UPDATE ${this.#t} SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL, attempts = $1, last_error = $2, last_failure = $3, finished_at = $4, updated_at = $4 WHERE id = $5`,
        [settled.outcome.attempts, settled.reason, settled.failure, now, row.id],
      );
    } else {
      await c.query(
        `UPDATE ${this.#t} SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, available_at = $1, attempts = $2, rate_limit_waits = $3, last_error = $4, last_failure = $5, solo = $6, updated_at = $7 WHERE id = $8`,
        [settled.outcome.availableAt, settled.outcome.attempts, settled.waits, settled.error, settled.failure, settled.solo, now, row.id],
      );
    }
    await this.#eventsOf?.(c).append(settled.event);
    return settled.outcome;
  }

  async finishCancelled(owner: string, ids: readonly string[], reason: string): Promise<void> {
    await this.#ready();
    const now = Date.now();
    const c = this.#scope;
    await this.#notifying(c, () =>
      c.query(
        `WITH r AS (UPDATE ${this.#t} SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, last_error = $1, finished_at = $2, updated_at = $2
        WHERE id = ANY($3::text[]) AND status = 'processing' AND lease_owner = $4 RETURNING 1)
      SELECT pg_notify($5, $6) FROM (SELECT 1 FROM r LIMIT 1) x`,
        [reason, now, ids, owner, this.hub.channel, this.hub.notifyPayload],
      ),
    );
  }

  async cancel(id: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
    await this.#ready();
    const now = Date.now();
    return this.#scope.transaction(async (c) => {
      const [row] = await c.query<{ status: MessageStatus }>(`SELECT status FROM ${this.#t} WHERE id = $1 FOR UPDATE`, [id]);
      if (!row) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${id}.`);
      if (row.status === 'pending') {
        await c.query(`UPDATE ${this.#t} SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, last_error = $1, finished_at = $2, updated_at = $2 WHERE id = $3`, [reason, now, id]);
        await this.#notify(c);
        return { id, state: 'cancelled', status: 'cancelled' };
      }
      if (row.status === 'processing') {
        await c.query(`UPDATE ${this.#t} SET cancel_requested = true, last_error = $1, updated_at = $2 WHERE id = $3`, [reason, now, id]);
        return { id, state: 'cancelling', status: 'processing' };
      }
      return { id, state: 'not_cancellable', status: row.status };
    });
  }

  /**
   * Takes over the expired leases whose holder is gone: a lease held by a node whose heartbeat is
   * live (by the database's clock, as the registry counts it) is left alone however late it is
   * renewed (a node stalled, or a clock ahead of the others), until that node stops or goes stale.
   */
  async recoverExpiredLeases(now = Date.now()): Promise<RecoveredLease[]> {
    const gone = `status = 'processing' AND lease_expires_at < $1 AND NOT ${this.#heldByLiveNode('m')}`;
    const any = await this.#scope.query(`SELECT 1 FROM ${this.#t} m WHERE ${gone} LIMIT 1`, [now]);
    if (any.length === 0) return [];
    await this.#ready();
    return this.#scope.transaction(async (c) => {
      // SKIP LOCKED: rows another node is recovering (or completing) right now are its business.
      const rows = await c.query<PgMessageRow>(`SELECT m.* FROM ${this.#t} m WHERE ${gone} ORDER BY seq FOR UPDATE OF m SKIP LOCKED`, [now]);
      const out: RecoveredLease[] = [];
      for (const charged of chargeExpired(rows)) {
        const outcome = await this.#settleFailure(c, charged, leaseLost(charged.lease_owner), now, true);
        out.push({ id: charged.id, agentId: charged.agent_id, status: outcome.status, attempts: outcome.attempts });
      }
      if (out.length > 0) await this.#notify(c);
      return out;
    });
  }

  /** SQL: the lease of row `m` is held by a live node (`node:<id>:…`, leaseOwner in nodes/registry.ts). */
  #heldByLiveNode(m: string): string {
    const nodes = this.#scope.table('nodes');
    const dbNow = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
    return `EXISTS (SELECT 1 FROM ${nodes} n WHERE ${m}.lease_owner LIKE 'node:%' AND n.id = split_part(${m}.lease_owner, ':', 2) AND n.stopped_at IS NULL AND n.heartbeat_at >= ${dbNow} - ${MISSED_HEARTBEATS} * n.heartbeat_ms::bigint)`;
  }

  async expireLeases(isDead: (owner: string) => boolean, now = Date.now()): Promise<number> {
    const owners = (await this.#scope.query<{ lease_owner: string }>(`SELECT DISTINCT lease_owner FROM ${this.#t} WHERE status = 'processing' AND lease_owner IS NOT NULL`))
      .map((r) => r.lease_owner)
      .filter(isDead);
    if (owners.length === 0) return 0;
    this.hub.changes++;
    const rows = await this.#scope.query(`UPDATE ${this.#t} SET lease_expires_at = $1, updated_at = $2 WHERE status = 'processing' AND lease_owner = ANY($3::text[]) RETURNING 1`, [
      now - 1,
      now,
      owners,
    ]);
    return rows.length;
  }

  async get(id: string): Promise<QueueMessage | undefined> {
    const [row] = await this.#scope.query<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id]);
    return row ? toMessage(row) : undefined;
  }

  async counts(): Promise<QueueCounts> {
    const counts = emptyCounts();
    for (const row of await this.#scope.query<{ status: MessageStatus; n: number }>(`SELECT status, count(*) AS n FROM ${this.#t} GROUP BY status`)) counts[row.status] = row.n;
    return counts;
  }

  async countsByAgent(): Promise<Array<{ agentId: string } & QueueCounts>> {
    const byAgent = new Map<string, { agentId: string } & QueueCounts>();
    for (const row of await this.#scope.query<{ agent_id: string; status: MessageStatus; n: number }>(`SELECT agent_id, status, count(*) AS n FROM ${this.#t} GROUP BY agent_id, status`)) {
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
    return (await this.#scope.query<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE status = 'processing' ORDER BY seq`)).map(toMessage);
  }

  async listDead(limit = 100): Promise<QueueMessage[]> {
    return (await this.#scope.query<PgMessageRow>(`SELECT * FROM ${this.#t} WHERE status = 'dead' ORDER BY seq DESC LIMIT $1`, [limit])).map(toMessage);
  }

  async retryDead(id: string): Promise<QueueMessage> {
    await this.#ready();
    const now = Date.now();
    const c = this.#scope;
    const [row] = await this.#notifying(c, () =>
      c.query<PgMessageRow>(
        `WITH r AS (UPDATE ${this.#t} SET status = 'pending', attempts = 0, rate_limit_waits = 0, available_at = $1, finished_at = NULL, cancel_requested = false, updated_at = $1
        WHERE id = $2 AND status = 'dead' RETURNING *)
      SELECT r.*, pg_notify($3, $4) IS NULL AS n FROM r`,
        [now, id, this.hub.channel, this.hub.notifyPayload],
      ),
    );
    if (!row) throw new TinyError('MESSAGE_NOT_FOUND', `No dead message with id ${id}.`);
    return toMessage(row);
  }

  async assignRun(id: string, runId: string): Promise<void> {
    const rows = await this.#scope.query(`UPDATE ${this.#t} SET run_id = $1, updated_at = $2 WHERE id = $3 RETURNING 1`, [runId, Date.now(), id]);
    if (rows.length !== 1) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${id}.`);
  }

  async deleteDead(id: string): Promise<void> {
    const rows = await this.#scope.query(`DELETE FROM ${this.#t} WHERE id = $1 AND status = 'dead' RETURNING 1`, [id]);
    if (rows.length !== 1) throw new TinyError('MESSAGE_NOT_FOUND', `No dead message with id ${id}.`);
  }

  async deleteAllDead(agentId?: string): Promise<number> {
    if (agentId === undefined) return deleteInBatches(this.#scope, `DELETE FROM ${this.#t} WHERE id IN (SELECT id FROM ${this.#t} WHERE status = 'dead' LIMIT $1)`, [], 1000);
    return deleteInBatches(this.#scope, `DELETE FROM ${this.#t} WHERE id IN (SELECT id FROM ${this.#t} WHERE status = 'dead' AND agent_id = $1 LIMIT $2)`, [agentId], 1000);
  }

  async nextWakeAt(now = Date.now()): Promise<number | undefined> {
    // Only while listening: other processes' changes are then counted as their notifications arrive.
    const claimed = this.#claimWake;
    if (claimed?.now === now && claimed.changes === this.hub.changes && this.hub.listening) return claimed.at;
    // The claim's own answer (tinyagi_next_wake, drizzle-pg/0023): the earliest backoff end or lease expiry.
    const [row] = await this.#scope.query<{ at: number | null }>(`SELECT ${this.#scope.table('tinyagi_next_wake')}($1::bigint) AS at`, [now]);
    return row?.at ?? undefined;
  }

  prune(beforeTs: number, batchSize = 1000): Promise<number> {
    return deleteInBatches(
      this.#scope,
      `DELETE FROM ${this.#t} WHERE id IN (SELECT id FROM ${this.#t} WHERE status IN ('completed', 'cancelled') AND finished_at < $1 LIMIT $2)`,
      [beforeTs],
      batchSize,
    );
  }

  /**
   * Wake-ups by LISTEN/NOTIFY (process-wide, the hub's): the first listener opens a dedicated
   * connection that LISTENs on the schema's channel; every notification (an enqueue, failure or
   * release by any process) and every completion of this process calls the listeners.
   */
  onWake(listener: () => void): () => void {
    return this.hub.onWake(listener);
  }

  /** Stops the hub's listening (the pool stays the caller's). */
  close(): Promise<void> {
    return this.hub.close();
  }
}

/** The effects of `completeMany`'s item run without a savepoint threw: its transaction is run again without it. */
class ItemFailed extends Error {
  readonly item: number;
  readonly error: Error;
  constructor(item: number, error: unknown) {
    super('a completion item failed');
    this.item = item;
    this.error = error instanceof Error ? error : new Error(String(error));
  }
}

/** PostgreSQL's lock_not_available: a lock wait ran past `lock_timeout`. */
function isLockTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '55P03';
}

function lostLease(id: string, owner: string): TinyError {
  return new TinyError('INVALID_STATE', `Cannot complete message ${id}: ${owner} no longer holds its lease (expired, cancelled or claimed elsewhere).`, { details: { id, owner } });
}

function toMessage(row: PgMessageRow): QueueMessage {
  return toQueueMessage(row, { attachments: row.attachments, meta: row.meta, cancelRequested: row.cancel_requested });
}
