import type { EventInput, EventOf, EventType, TinyEvent } from './types.ts';
import type { EventRow as SchemaEventRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';
import { maskToolInput } from '../approvals/mask.ts';
import { storedEventData } from '@tinyagi/client/contract';

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
export type EventListener = (event: TinyEvent) => void;

/** Which events to read; listing `types` also narrows the type of what is returned. */
export interface EventFilter<T extends EventType = EventType> {
  conversationId?: string;
  agentId?: string;
  runId?: string;
  types?: readonly T[];
}

/** @internal A `SELECT *` row (type derived from the drizzle schema; kept out of the published types, which must not reach drizzle's). */
export type EventRow = SchemaEventRow;

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

/**
 * The input as the log writes it: secrets in its data masked the way an approval request's input
 * is (values under secret-looking keys; bearer tokens, `NAME_TOKEN=…`, URL passwords and known
 * key formats inside strings). Both logs write through here, so no event type is left out: a
 * tool call's input and output in `run.progress`, a reply, a notice. One pass over each string.
 */
export function maskedInput(input: EventInput): EventInput {
  return { ...input, data: maskToolInput(input.data) } as EventInput;
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
  const data = JSON.parse(row.data) as unknown;
  return {
    id: row.id,
    ts: row.ts,
    type: row.type as EventType,
    conversationId: row.conversation_id,
    runId: row.run_id,
    parentRunId: row.parent_run_id,
    depth: row.depth,
    agentId: row.agent_id,
    // In today's names: a stored event of an earlier version may spell a field as it was then.
    data: storedEventData(row.type, data),
  } as TinyEvent;
}
