/**
 * The event log on PostgreSQL (docs/storage.md, "Events"): the same contract as the SQLite
 * `EventLog` (./log.ts), across nodes.
 *
 * - **Ids in commit order.** `bigserial` alone gives unique ids, not commit order: a transaction
 *   could take id 7, another id 8 and commit first, and a reader at "after 8" would never see 7.
 *   Every insert therefore takes the schema's `events` advisory lock (transaction-scoped) before
 *   its ids are drawn, in the same statement, and holds it until its transaction ends. PostgreSQL
 *   makes a commit visible before it releases the transaction's locks, so when a transaction
 *   draws id n, every lower id is committed (or rolled back) and visible: no event with a lower
 *   id becomes visible after a higher one. `readSince(id)` is a gap-free resume, and
 *   "everything above the last published id" is exactly what is new. The price: transactions
 *   that append events are serialised from their first append to their commit.
 * - **Publishing.** The insert statement also calls `pg_notify('tinyagi_events_<schema>', <its
 *   highest id>)` (delivered at commit, dropped on rollback). Each process keeps one `PgEventHub`
 *   (in `PgShared.state`, shared by the pool-level store and the per-transaction ones) with the
 *   subscribers and `lastPublished`. After a local commit its events are published straight from
 *   memory when they follow `lastPublished` without a gap; otherwise, and on a notification with a
 *   higher id from any process, the hub reads `id > lastPublished` in id order and publishes each
 *   row. One pump at a time does this, so every subscriber sees every event once, in id order.
 * - **Listening.** The first subscriber makes the hub LISTEN on a dedicated connection, not one
 *   of the pool's (`PgChannelListener`, kept until `close`). When that connection is lost, the hub listens again on a new one
 *   (retrying every second) and then reads what it missed. While nobody subscribes, nothing is
 *   read: `lastPublished` moves to the highest id known committed (events before a subscription
 *   are history, as on SQLite, read with `readSince`).
 * - **emit** buffers events process-wide; the next turn of the event loop (or `flush`) writes
 *   them in one statement over the pool, outside any transaction. A failed write keeps them
 *   buffered, in emit order, and tries again a second later.
 */
import type { Pool } from 'pg';
import type { EventLogApi } from './store.ts';
import { deleteInBatches, schemaLockSql, sharedState, whereSet, type PgShared } from '../storage/pg/helpers.ts';
import { PgChannelListener } from '../storage/pg/listen.ts';
import { isRiderItem, withRiders, type Rider, type RiderItem } from '../storage/pg/last-statement.ts';
import { PgPoolScope, type PgScope } from '../storage/pg/scope.ts';
import type { EventRow } from '../storage/rows.ts';
import { type EventFilter, type EventListener, eventOf, maskedInput, rowToEvent, Subscribers } from './store.ts';
import type { EventInput, EventOf, EventType, TinyEvent } from './types.ts';

const PAGE = 1000;
/** Events per insert statement when a large buffer is flushed. */
const WRITE_CHUNK = 1000;
const RETRY_MS = 1000;

/** The LISTEN/NOTIFY channel of a schema's events (identifiers are at most 63 bytes). */
export function eventsChannel(schema: string): string {
  return `tinyagi_events_${schema}`.slice(0, 63);
}

/**
 * Inserts events under the schema's events lock and notifies their highest id at commit; returns
 * them with their ids, in input order. The only way events are written: anything else inserting
 * into `events` must take the same lock (`schemaLockSql('events', …)`) or resume breaks.
 */
export async function insertEvents(scope: PgScope, unmasked: readonly EventInput[], riders: readonly RiderItem[] = []): Promise<TinyEvent[]> {
  const inputs = unmasked.map(maskedInput);
  const ts = Date.now();
  const statement = withRiders(inputs.length > 0 ? eventsPart(scope, inputs, ts) : { ctes: [], columns: [], values: [] }, riders);
  let row: Record<string, unknown> | undefined;
  try {
    [row] = await scope.query(statement.text, statement.values);
  } catch (err) {
    statement.failed(err);
    throw err;
  }
  statement.done(row!);
  if (inputs.length === 0) return [];
  // Ids are drawn in the statement's row order (ORDER BY e.n), so the sorted ids follow the inputs.
  const ids = (row!.event_ids as Array<number | string>).map(Number);
  return inputs.map((input, i) => eventOf(input, ids[i]!, ts));
}

/** The events' part of the statement that writes them (riders may join it: storage/pg/last-statement.ts). */
function eventsPart(scope: PgScope, inputs: readonly EventInput[], ts: number): { ctes: string[]; columns: string[]; values: unknown[] } {
  const col = <T>(f: (i: EventInput) => T) => inputs.map(f);
  return {
    ctes: [
      `events_lock AS MATERIALIZED (SELECT ${schemaLockSql('events', '$1')})`,
      `events_ins AS (
      INSERT INTO ${scope.table('events')} (ts, type, conversation_id, run_id, parent_run_id, depth, agent_id, data)
      SELECT $2::bigint, e.type, e.conversation_id, e.run_id, e.parent_run_id, e.depth, e.agent_id, e.data
      FROM events_lock, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[])
        WITH ORDINALITY AS e(type, conversation_id, run_id, parent_run_id, depth, agent_id, data, n)
      ORDER BY e.n
      RETURNING id)`,
    ],
    columns: ['(SELECT array_agg(id ORDER BY id) FROM events_ins) AS event_ids', '(SELECT pg_notify($10, max(id)::text) FROM events_ins) AS events_notified'],
    values: [
      scope.schema,
      ts,
      col((i) => i.type),
      col((i) => i.conversationId ?? null),
      col((i) => i.runId ?? null),
      col((i) => i.parentRunId ?? null),
      col((i) => i.depth ?? null),
      col((i) => i.agentId ?? null),
      col((i) => JSON.stringify(i.data)),
      eventsChannel(scope.schema),
    ],
  };
}

/** What one process shares for a schema's events: subscribers, the publishing cursor, LISTEN, the emit buffer. */
export class PgEventHub {
  readonly #pool: Pool;
  readonly #scope: PgPoolScope;
  readonly #channel: string;
  readonly #subscribers = new Subscribers();
  /** Resolves once `lastPublished` holds the highest id committed at open (older events are history). */
  readonly ready: Promise<void>;
  #isReady = false;
  #lastPublished = 0;
  /** The highest id known to be committed (local commits, notifications). */
  #knownMax = 0;
  /** Read the table even without a known higher id (after (re)listening: notifications may have been missed). */
  #catchUp = false;
  /** Events committed by this process, not yet published (ids above `#lastPublished`). */
  readonly #local = new Map<number, TinyEvent>();
  #pumping = false;
  #again = false;
  #listener: PgChannelListener | undefined;
  #buffer: EventInput[] = [];
  #flushScheduled = false;
  #flushing: Promise<void> = Promise.resolve();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(pool: Pool, schema: string) {
    this.#pool = pool;
    this.#scope = new PgPoolScope(pool, schema);
    this.#channel = eventsChannel(schema);
    this.ready = this.#scope.query<{ id: number | null }>(`SELECT max(id) AS id FROM ${this.#scope.table('events')}`).then(([row]) => {
      this.#lastPublished = Math.max(this.#lastPublished, row?.id ?? 0);
      this.#knownMax = Math.max(this.#knownMax, this.#lastPublished);
      this.#isReady = true;
    });
  }

  /**
   * Writes the events a transaction appended, with the parts that ride on that statement
   * (`PgEventLog.ride`), on its client just before its COMMIT (`PgScope.collect`); the events are
   * published once it committed.
   */
  readonly writeAtCommit = async (root: PgScope, items: Array<EventInput | RiderItem>): Promise<void> => {
    const inputs: EventInput[] = [];
    const riders: RiderItem[] = [];
    for (const item of items) {
      if (isRiderItem(item)) riders.push(item);
      else inputs.push(item);
    }
    const events = await insertEvents(root, inputs, riders);
    root.afterCommit(() => this.committed(events));
  };

  /** Events of this process are committed: publish them (in id order, after any lower foreign ones). */
  committed(events: readonly TinyEvent[]): void {
    if (this.#closed || events.length === 0) return;
    for (const event of events) {
      if (this.#subscribers.size > 0) this.#local.set(event.id, event);
      this.#knownMax = Math.max(this.#knownMax, event.id);
    }
    // Fast path, as on SQLite: no lower id is unpublished, so subscribers get them at once.
    if (!this.#pumping && this.#isReady && this.#subscribers.size > 0) {
      this.#publishLocal();
      if (this.#knownMax <= this.#lastPublished) return;
    }
    this.#pump();
  }

  subscribe(listener: EventListener): () => void {
    this.#subscribers.add(listener);
    this.#startListening();
    return () => {
      this.#subscribers.delete(listener);
    };
  }

  emit(input: EventInput): void {
    this.#buffer.push(input);
    this.#scheduleFlush();
  }

  /** A flush on the next turn of the event loop. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      // A failure keeps the events and schedules another attempt (#writeBuffer).
      this.flush().catch(() => {});
    });
  }

  /** Writes every buffered event (one statement per 1000), after any flush already under way. */
  flush(): Promise<void> {
    this.#flushScheduled = false;
    const done = this.#flushing.then(() => this.#writeBuffer());
    this.#flushing = done.catch(() => {});
    return done;
  }

  async #writeBuffer(): Promise<void> {
    while (this.#buffer.length > 0) {
      const chunk = this.#buffer.splice(0, WRITE_CHUNK);
      try {
        this.committed(await insertEvents(this.#scope, chunk));
      } catch (err) {
        // Kept, in order, ahead of anything emitted since; written again a second later.
        this.#buffer.unshift(...chunk);
        this.#later(() => this.#scheduleFlush());
        throw err;
      }
    }
  }

  /** Stops listening and publishing (the pool stays its owner's). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.close();
  }

  #later(fn: () => void): void {
    if (this.#closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, RETRY_MS);
    t.unref();
    this.#timers.add(t);
  }

  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.#run().finally(() => {
      this.#pumping = false;
    });
  }

  async #run(): Promise<void> {
    try {
      await this.ready;
      do {
        this.#again = false;
        if (this.#closed) return;
        if (this.#subscribers.size === 0) {
          // Nobody to publish to: what is committed so far is history for later subscribers.
          this.#lastPublished = Math.max(this.#lastPublished, this.#knownMax);
          this.#local.clear();
          continue;
        }
        this.#publishLocal();
        if (this.#knownMax > this.#lastPublished || this.#catchUp) {
          this.#catchUp = false;
          await this.#publishStored();
          this.#publishLocal();
        }
      } while (this.#again);
    } catch {
      // The database is unreachable: read again in a moment (nothing was skipped).
      this.#catchUp = true;
      this.#later(() => this.#pump());
    }
  }

  /** Local events that follow the cursor without a gap go out from memory (no read). */
  #publishLocal(): void {
    for (let next = this.#local.get(this.#lastPublished + 1); next; next = this.#local.get(this.#lastPublished + 1)) {
      this.#local.delete(next.id);
      this.#lastPublished = next.id;
      this.#subscribers.publish(next);
    }
  }

  /** Reads and publishes every committed event after the cursor, in id order. */
  async #publishStored(): Promise<void> {
    // Every id up to here was committed before this read began, so the read sees all of them.
    const known = this.#knownMax;
    for (;;) {
      const rows = await this.#scope.query<EventRow>(`SELECT * FROM ${this.#scope.table('events')} WHERE id > $1 ORDER BY id LIMIT $2`, [this.#lastPublished, PAGE]);
      if (this.#closed) return;
      for (const row of rows) {
        if (row.id <= this.#lastPublished) continue;
        const event = this.#local.get(row.id) ?? rowToEvent(row);
        this.#lastPublished = row.id;
        this.#subscribers.publish(event);
      }
      const last = rows.length < PAGE;
      // At the end, ids up to `known` that the read did not return are gone (pruned): nothing to wait for.
      if (last) this.#lastPublished = Math.max(this.#lastPublished, known);
      for (const id of this.#local.keys()) if (id <= this.#lastPublished) this.#local.delete(id);
      if (last) return;
    }
  }

  /** The LISTEN on a dedicated connection (storage/pg/listen.ts), from the first subscriber. */
  #startListening(): void {
    if (this.#closed || this.#listener) return;
    this.#listener = new PgChannelListener(this.#pool, this.#channel, {
      onNotify: (payload) => {
        const id = Number(payload);
        if (Number.isFinite(id) && id <= this.#knownMax) return;
        if (Number.isFinite(id)) this.#knownMax = id;
        else this.#catchUp = true;
        this.#pump();
      },
      // Anything committed before the LISTEN took effect raised no notification here.
      onListening: () => {
        this.#catchUp = true;
        this.#pump();
      },
      retryMs: RETRY_MS,
    });
    this.#listener.startInBackground();
  }
}

export function pgEventHub(shared: PgShared): PgEventHub {
  return sharedState(shared, 'events', () => new PgEventHub(shared.pool, shared.schema));
}

/** The event log over one scope (the pool, or an open transaction whose commit publishes its events). */
export class PgEventLog implements EventLogApi {
  readonly #scope: PgScope;
  readonly #hub: PgEventHub;

  constructor(scope: PgScope, hub: PgEventHub) {
    this.#scope = scope;
    this.#hub = hub;
  }

  async append(input: EventInput): Promise<TinyEvent> {
    return (await this.appendMany([input]))[0]!;
  }

  /**
   * Over the pool: one statement, published at once. Inside a transaction the events are written
   * just before its COMMIT, in one statement for the whole transaction, its savepoints included
   * (`PgScope.collect`), so the commit-order lock (`insertEvents`) is held for the commit only,
   * not from the first append to the commit: two nodes' transactions then run side by side
   * instead of one after the other (docs/storage.md, "Events"). The events returned there have
   * no id yet (`id: 0`); subscribers and `readSince` see them with their ids once committed.
   * Dropped with the transaction or savepoint.
   */
  async appendMany(inputs: readonly EventInput[]): Promise<TinyEvent[]> {
    if (inputs.length === 0) return [];
    const scope = this.#scope;
    if (!scope.inTransaction) {
      const events = await insertEvents(scope, inputs);
      this.#hub.committed(events);
      return events;
    }
    scope.collect(this.#hub.writeAtCommit, inputs);
    const ts = Date.now();
    return inputs.map((input) => eventOf(input, 0, ts));
  }

  /**
   * `item` for `rider` in this transaction's last statement, the one that writes its events just
   * before its COMMIT (storage/pg/last-statement.ts says what a part may do); over the pool, a
   * statement of its own now.
   */
  async ride<T>(rider: Rider<T>, item: T): Promise<void> {
    const scope = this.#scope;
    if (scope.inTransaction) scope.collect(this.#hub.writeAtCommit, [{ rider, item } as RiderItem]);
    else await insertEvents(scope, [], [{ rider, item } as RiderItem]);
  }

  emit(input: EventInput): void {
    this.#hub.emit(input);
  }

  flush(): Promise<void> {
    return this.#hub.flush();
  }

  subscribe(listener: EventListener): () => void {
    return this.#hub.subscribe(listener);
  }

  /** Stored events after `afterId` (exclusive), oldest first; the filter is applied in SQL. */
  async readSince<T extends EventType = EventType>(afterId: number, filter: EventFilter<T> = {}, limit = 1000): Promise<Array<EventOf<T>>> {
    const params: unknown[] = [afterId];
    const where = [
      'id > $1',
      ...whereSet(params, [
        ['conversation_id = ?', filter.conversationId],
        ['agent_id = ?', filter.agentId],
        ['run_id = ?', filter.runId],
        ['type = ANY(?::text[])', filter.types?.length ? filter.types : undefined],
      ]),
    ];
    params.push(limit);
    const rows = await this.#scope.query<EventRow>(`SELECT * FROM ${this.#scope.table('events')} WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${params.length}`, params);
    return rows.map((row) => rowToEvent(row) as EventOf<T>);
  }

  async lastId(): Promise<number> {
    const [row] = await this.#scope.query<{ id: number | null }>(`SELECT max(id) AS id FROM ${this.#scope.table('events')}`);
    return row?.id ?? 0;
  }

  prune(beforeTs: number, batchSize = 5000): Promise<number> {
    const t = this.#scope.table('events');
    return deleteInBatches(this.#scope, `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE ts < $1 ORDER BY id LIMIT $2)`, [beforeTs], batchSize);
  }

  close(): void {
    void this.#hub.close();
  }
}

export function pgEventLog(scope: PgScope, shared: PgShared): PgEventLog {
  return new PgEventLog(scope, pgEventHub(shared));
}
