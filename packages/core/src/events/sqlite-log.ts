/**
 * The event log on SQLite: `EventLog` over the process's one connection. Its contract, the
 * filter and listener types, the store interface, the in-process fan-out (`Subscribers`) and the
 * row mapping it shares with the PostgreSQL log (./pg-log.ts) are in ./store.ts.
 */
import type { TinyDatabase } from '../storage/database.ts';
import { whenNoTransaction } from '../storage/group-commit.ts';
import type { EventInput, EventOf, EventType, TinyEvent } from './types.ts';
import { type EventFilter, type EventListener, type EventLogApi, type EventRow, Subscribers, eventOf, maskedInput, matchesFilter, rowToEvent } from './store.ts';

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
    const masked = maskedInput(input);
    const info = this.#insert.run(
      ts,
      masked.type,
      masked.conversationId ?? null,
      masked.runId ?? null,
      masked.parentRunId ?? null,
      masked.depth ?? null,
      masked.agentId ?? null,
      JSON.stringify(masked.data),
    );
    const event = eventOf(masked, Number(info.lastInsertRowid), ts);
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
