/**
 * The event log: a typed in-process bus whose every event is also a row in `events`. The type
 * of an event decides the shape of its `data` (the event map of `@tinyagi/client/contract`).
 *
 * Contract:
 * - `id` increases strictly; subscribers see events in id order and only after the row is
 *   committed (events of a rolled-back transaction are never published).
 * - `append` writes inside the caller's transaction when one is open (so an event and the state
 *   change it describes commit together), otherwise on its own.
 * - `emit` is for high-rate, non-transactional events (streamed progress, notices): events are
 *   buffered and ride along with the next write of this process (written at its start, inside
 *   it, so they keep their place before whatever that write records, e.g. a run's progress
 *   before its completion); when no write comes within `emitWindowMs` (default 50 ms) they are
 *   written in a transaction of their own, committed lazily (`writeLazy`: no fsync of its own,
 *   published in commit order all the same, made durable by the next durable commit). A power
 *   loss may drop the last emitted events, never a state change: those are `append`ed inside
 *   the transaction that makes the change. A write that rolls back gives its ride-along events
 *   back to the buffer. A chatty agent costs no fsync and, most of the time, no transaction.
 * - Events other processes write into the same file (several worker processes share a queue)
 *   are published too, in id order: a local commit first publishes any foreign events with
 *   lower ids (ids are handed out in commit order), and while anyone listens the table is
 *   polled every `tailMs` for foreign events when nothing is committed here. Events that were
 *   in the table before this log was created are history (`readSince`), not published.
 */
import type { TinyDatabase } from '../storage/database.ts';
import { whenNoTransaction } from '../storage/group-commit.ts';
import type { EventInput, EventOf, EventType, TinyEvent } from './types.ts';
import type { EventRow as SchemaEventRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export type EventListener = (event: TinyEvent) => void;

/** Which events to read; listing `types` also narrows the type of what is returned. */
export interface EventFilter<T extends EventType = EventType> {
  conversationId?: string;
  agentId?: string;
  runId?: string;
  types?: readonly T[];
}

/** A `SELECT *` row (type derived from the drizzle schema). */
type EventRow = SchemaEventRow;

/**
 * The event log: ids increase strictly in commit order (SSE resume relies on it); subscribers
 * see committed events only, in id order, including those other processes or nodes wrote.
 */
export interface EventLogApi {
  /**
   * Written in the open transaction, published after its commit. On PostgreSQL an event appended
   * inside a transaction is written just before the commit and returned with `id: 0` (its id
   * exists once committed); outside a transaction, and on SQLite, the returned id is the stored one.
   */
  append(input: EventInput): Awaitable<TinyEvent>;
  /** Buffered, non-transactional (streamed progress); written in groups. */
  emit(input: EventInput): void;
  flush(): Awaitable<void>;
  subscribe(listener: EventListener): () => void;
  readSince<T extends EventType = EventType>(afterId: number, filter?: EventFilter<T>, limit?: number): Awaitable<Array<EventOf<T>>>;
  lastId(): Awaitable<number>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
  close(): void;
}

export class EventLog implements EventLogApi {
  readonly #db: TinyDatabase;
  readonly #subscribers = new Subscribers();
  readonly #insert;
  readonly #since;
  /** One conversation's events (its index): a run tree's steering entries read them per request. */
  readonly #sinceInConversation;
  #buffer: EventInput[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #emitWindowMs: number;
  readonly #removeWriteHook: () => void;
  /** The highest event id published (or that existed when this log was created). */
  #cursor: number;
  /** Locally committed events not yet published (their ids are above `#cursor`). */
  readonly #local = new Map<number, TinyEvent>();
  readonly #tailMs: number;
  #tailTimer: NodeJS.Timeout | undefined;

  constructor(db: TinyDatabase, options: { tailMs?: number; emitWindowMs?: number } = {}) {
    this.#db = db;
    this.#tailMs = options.tailMs ?? 250;
    this.#emitWindowMs = options.emitWindowMs ?? 50;
    this.#removeWriteHook = db.beforeEachWrite(() => this.#rideAlong());
    this.#insert = db.sqlite.prepare('INSERT INTO events (ts, type, conversation_id, run_id, parent_run_id, depth, agent_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    // `LIMIT +?`: no re-prepare per bound value (queue/sqlite-store.ts says why).
    this.#since = db.sqlite.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT +?');
    this.#sinceInConversation = db.sqlite.prepare('SELECT * FROM events WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT +?');
    this.#cursor = this.lastId();
  }

  /**
   * Writes the event now (inside the open transaction, if any; otherwise in a lazy write of its
   * own, which the buffered emitted events ride along with, so ids follow the order of the
   * calls) and publishes it after commit.
   */
  append(input: EventInput): TinyEvent {
    if (!this.#db.sqlite.inTransaction) return this.#db.writeLazy(() => this.append(input));
    const ts = Date.now();
    const data = input.data;
    const info = this.#insert.run(ts, input.type, input.conversationId ?? null, input.runId ?? null, input.parentRunId ?? null, input.depth ?? null, input.agentId ?? null, JSON.stringify(data));
    const event = eventOf(input, Number(info.lastInsertRowid), ts);
    this.#db.afterCommit(() => this.#committed(event));
    return event;
  }

  /** Buffers the event: written with the next write, or on its own within `emitWindowMs`. */
  emit(input: EventInput): void {
    this.#buffer.push(input);
    this.#scheduleFlush();
  }

  /** Writes buffered events now (also called on shutdown). */
  flush(): void {
    const batch = this.#takeBuffer();
    // The write's own hook (`#rideAlong`) finds the buffer empty.
    if (batch.length > 0) this.#db.writeLazy(() => this.#appendAll(batch));
  }

  #scheduleFlush(): void {
    if (this.#flushTimer === undefined && this.#buffer.length > 0) this.#flushTimer = setTimeout(() => this.#flushWhenFree(), this.#emitWindowMs);
  }

  /** The buffered events, leaving the buffer empty and no flush scheduled. */
  #takeBuffer(): EventInput[] {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#buffer;
    this.#buffer = [];
    return batch;
  }

  #appendAll(batch: readonly EventInput[]): void {
    for (const input of batch) this.append(input);
  }

  /**
   * The write hook: a write is starting (its transaction is open); the buffered events go into
   * it, in a savepoint. If they cannot be written there, or the write rolls back, they go back to
   * the front of the buffer and are written later.
   */
  #rideAlong(): (() => void) | undefined {
    if (this.#buffer.length === 0) return undefined;
    const batch = this.#takeBuffer();
    const giveBack = () => {
      this.#buffer = [...batch, ...this.#buffer];
      this.#scheduleFlush();
    };
    try {
      this.#db.write(() => this.#appendAll(batch));
    } catch {
      giveBack();
      return undefined;
    }
    return giveBack;
  }

  /** The scheduled flush: waits for an open asynchronous transaction instead of being refused. */
  #flushWhenFree(): void {
    void whenNoTransaction(this.#db, () => this.flush());
  }

  subscribe(listener: EventListener): () => void {
    this.#subscribers.add(listener);
    if (this.#tailTimer === undefined && this.#tailMs > 0) {
      this.#tailTimer = setInterval(() => this.#tail(), this.#tailMs);
      this.#tailTimer.unref();
    }
    return () => {
      this.#subscribers.delete(listener);
      if (this.#subscribers.size === 0) this.#stopTail();
    };
  }

  /** Stops polling for other processes' events and riding along with writes (the database is closing; `flush` first). */
  close(): void {
    this.#stopTail();
    this.#removeWriteHook();
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  #stopTail(): void {
    clearInterval(this.#tailTimer);
    this.#tailTimer = undefined;
  }

  /**
   * A local event is on disk. Fast path: no id between the last published one and this one
   * belongs to another process (ids are dense), so the local events go out as they are.
   * Otherwise the foreign rows in between are read and everything is published in id order.
   */
  #committed(event: TinyEvent): void {
    this.#local.set(event.id, event);
    if (event.id - this.#cursor > this.#local.size) this.#publishRows(event.id);
    for (;;) {
      const next = this.#local.get(this.#cursor + 1);
      if (!next) break;
      this.#local.delete(next.id);
      this.#cursor = next.id;
      this.#publish(next);
    }
  }

  /** Publishes stored events after the cursor up to `upTo`, local ones from memory. */
  #publishRows(upTo: number): void {
    for (;;) {
      const rows = this.#since.all(this.#cursor, 1000) as EventRow[];
      let more = rows.length === 1000;
      for (const row of rows) {
        if (row.id > upTo) {
          more = false;
          break;
        }
        const event = this.#local.get(row.id) ?? rowToEvent(row);
        this.#local.delete(row.id);
        this.#cursor = row.id;
        this.#publish(event);
      }
      if (!more) return;
    }
  }

  /** While someone listens: other processes' events when nothing is committed here. */
  #tail(): void {
    if (!this.#db.sqlite.open || this.#db.sqlite.inTransaction) return;
    try {
      this.#publishRows(Number.MAX_SAFE_INTEGER);
    } catch {
      // A busy or closing database: the next tick tries again.
    }
  }

  /** Stored events after `afterId` (exclusive), oldest first, for replay. */
  readSince<T extends EventType = EventType>(afterId: number, filter: EventFilter<T> = {}, limit = 1000): Array<EventOf<T>> {
    const out: Array<EventOf<T>> = [];
    let cursor = afterId;
    // Filtered reads page through the log so a sparse filter still returns up to `limit` events.
    for (;;) {
      const rows = (filter.conversationId === undefined ? this.#since.all(cursor, 1000) : this.#sinceInConversation.all(filter.conversationId, cursor, 1000)) as EventRow[];
      for (const row of rows) {
        const event = rowToEvent(row);
        if (matchesFilter(event, filter)) out.push(event);
        if (out.length >= limit) return out;
      }
      if (rows.length < 1000) return out;
      cursor = rows[rows.length - 1]!.id;
    }
  }

  lastId(): number {
    const row = this.#db.prepare('SELECT MAX(id) AS id FROM events').get() as { id: number | null };
    return row.id ?? 0;
  }

  /** Deletes events older than `beforeTs`, in batches; returns how many were removed. */
  prune(beforeTs: number, batchSize = 5000): number {
    return this.#db.deleteInBatches('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? ORDER BY id LIMIT ?)', [beforeTs], batchSize);
  }

  #publish(event: TinyEvent): void {
    this.#subscribers.publish(event);
  }
}

/** A log's subscribers and the delivery to them (shared by the SQLite and PostgreSQL logs). */
export class Subscribers {
  readonly #listeners = new Set<EventListener>();
  readonly #outgoing: TinyEvent[] = [];
  #delivering = false;

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: EventListener): void {
    this.#listeners.add(listener);
  }

  delete(listener: EventListener): void {
    this.#listeners.delete(listener);
  }

  /** Calls every subscriber with the event (a throwing one is skipped). */
  publish(event: TinyEvent): void {
    // A subscriber that commits events of its own (the orchestrator reacting to `queue.dead`)
    // must not have them delivered to the other subscribers before the event it is handling.
    this.#outgoing.push(event);
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let next = this.#outgoing.shift(); next !== undefined; next = this.#outgoing.shift()) {
        for (const listener of this.#listeners) {
          try {
            listener(next);
          } catch {
            // A faulty subscriber must not break the producer or other subscribers.
          }
        }
      }
    } finally {
      this.#delivering = false;
    }
  }
}

export function matchesFilter<T extends EventType>(event: TinyEvent, filter: EventFilter<T>): event is EventOf<T> {
  if (filter.conversationId && event.conversationId !== filter.conversationId) return false;
  if (filter.agentId && event.agentId !== filter.agentId) return false;
  if (filter.runId && event.runId !== filter.runId) return false;
  if (filter.types && filter.types.length > 0 && !(filter.types as readonly EventType[]).includes(event.type)) return false;
  return true;
}

/** The event an input becomes once the log assigned its id and time (shared by both logs). */
export function eventOf(input: EventInput, id: number, ts: number): TinyEvent {
  // The input was checked against the event map; the envelope adds what the log assigns.
  return {
    id,
    ts,
    type: input.type,
    conversationId: input.conversationId ?? null,
    runId: input.runId ?? null,
    parentRunId: input.parentRunId ?? null,
    depth: input.depth ?? null,
    agentId: input.agentId ?? null,
    data: input.data,
  } as TinyEvent;
}

/** @internal A stored row as the event it was appended as (shared by the SQLite and PostgreSQL logs). */
export function rowToEvent(row: EventRow): TinyEvent {
  // Rows were written by `append` from typed input.
  return {
    id: row.id,
    ts: row.ts,
    type: row.type as EventType,
    conversationId: row.conversation_id,
    runId: row.run_id,
    parentRunId: row.parent_run_id,
    depth: row.depth,
    agentId: row.agent_id,
    data: JSON.parse(row.data) as unknown,
  } as TinyEvent;
}
