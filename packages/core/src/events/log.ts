/**
 * The event log: a typed in-process bus whose every event is also a row in `events`.
 *
 * Contract:
 * - `id` increases strictly; subscribers see events in id order and only after the row is
 *   committed (events of a rolled-back transaction are never published).
 * - `append` writes inside the caller's transaction when one is open (so an event and the state
 *   change it describes commit together), otherwise on its own.
 * - `emit` is for high-rate, non-transactional events (streamed progress): events are buffered
 *   and written in one transaction on the next turn of the event loop (group commit), so a
 *   chatty agent costs one fsync per batch rather than one per chunk.
 */
import type { TinyDatabase } from '../storage/database.ts';
import type { EventInput, EventType, TinyEvent } from './types.ts';

export type EventListener = (event: TinyEvent) => void;

export interface EventFilter {
  conversationId?: string;
  agentId?: string;
  runId?: string;
  types?: readonly EventType[];
}

interface EventRow {
  id: number;
  ts: number;
  type: string;
  conversation_id: string | null;
  run_id: string | null;
  parent_run_id: string | null;
  depth: number | null;
  agent_id: string | null;
  data: string;
}

export class EventLog {
  readonly #db: TinyDatabase;
  readonly #listeners = new Set<EventListener>();
  readonly #insert;
  readonly #since;
  #buffer: EventInput[] = [];
  #flushScheduled = false;

  constructor(db: TinyDatabase) {
    this.#db = db;
    this.#insert = db.sqlite.prepare(
      'INSERT INTO events (ts, type, conversation_id, run_id, parent_run_id, depth, agent_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#since = db.sqlite.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?');
  }

  /** Writes the event now (inside the open transaction, if any) and publishes it after commit. */
  append(input: EventInput): TinyEvent {
    const ts = Date.now();
    const data = input.data ?? {};
    const info = this.#insert.run(
      ts,
      input.type,
      input.conversationId ?? null,
      input.runId ?? null,
      input.parentRunId ?? null,
      input.depth ?? null,
      input.agentId ?? null,
      JSON.stringify(data),
    );
    const event: TinyEvent = {
      id: Number(info.lastInsertRowid),
      ts,
      type: input.type,
      conversationId: input.conversationId ?? null,
      runId: input.runId ?? null,
      parentRunId: input.parentRunId ?? null,
      depth: input.depth ?? null,
      agentId: input.agentId ?? null,
      data,
    };
    this.#db.afterCommit(() => this.#publish(event));
    return event;
  }

  /** Buffers the event; a batch is written and published on the next tick. */
  emit(input: EventInput): void {
    this.#buffer.push(input);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes buffered events now (also called on shutdown). */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#db.write(() => {
      for (const input of batch) this.append(input);
    });
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stored events after `afterId` (exclusive), oldest first, for replay. */
  readSince(afterId: number, filter: EventFilter = {}, limit = 1000): TinyEvent[] {
    const out: TinyEvent[] = [];
    let cursor = afterId;
    // Filtered reads page through the log so a sparse filter still returns up to `limit` events.
    for (;;) {
      const rows = this.#since.all(cursor, 1000) as EventRow[];
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
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A faulty subscriber must not break the producer or other subscribers.
      }
    }
  }
}

export function matchesFilter(event: TinyEvent, filter: EventFilter): boolean {
  if (filter.conversationId && event.conversationId !== filter.conversationId) return false;
  if (filter.agentId && event.agentId !== filter.agentId) return false;
  if (filter.runId && event.runId !== filter.runId) return false;
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  return true;
}

function rowToEvent(row: EventRow): TinyEvent {
  return {
    id: row.id,
    ts: row.ts,
    type: row.type as EventType,
    conversationId: row.conversation_id,
    runId: row.run_id,
    parentRunId: row.parent_run_id,
    depth: row.depth,
    agentId: row.agent_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
