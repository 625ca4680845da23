/**
 * A live subscription to GET /api/events that survives disconnects.
 *
 * Contract:
 * - Events arrive in id order, each exactly once across reconnects: every reconnect resumes
 *   after the last id delivered (Last-Event-ID), and an id at or below it is dropped.
 * - A dropped or failed connection is retried with exponential backoff and jitter; the delay
 *   starts again from the bottom once a connection opens. An answer that retrying cannot fix
 *   (a 4xx other than 408/429, e.g. a wrong token or an unknown event type) closes the
 *   subscription with that ApiError.
 * - The connection state (connecting -> open -> reconnecting -> open … -> closed) is visible
 *   and observable, so a UI can show "reconnecting".
 * - Transports: `fetch` streams the body and sends the token as a header (Node, browsers,
 *   workers); `eventsource` uses the browser's EventSource, which cannot send headers, with a
 *   short-lived ticket from POST /api/auth/ticket taken before each connection.
 * - Without `lastEventId` the subscription first takes the daemon's current position (a scoped
 *   token that may not read it starts where the daemon is when it connects), so
 *   "from now on" survives a drop before the first event too (resuming from nothing would skip
 *   what happened while reconnecting).
 * - Events are not validated at run time (the server built them from the same schemas); the
 *   types come from the contract's event map. The async iterator buffers what its loop has not
 *   consumed yet; a consumer slower than the stream should use `onEvent`.
 */
import type { EventOf, TinyEvent } from './contract/event-map.ts';
import { EVENT_TYPES, type EventType } from './contract/event-types.ts';
import { ApiError } from './api-error.ts';
import { SseParser } from './sse-parser.ts';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionInfo {
  /** Failed or dropped connections since the last one that opened. */
  attempt: number;
  /** reconnecting: how long until the next try. */
  retryInMs?: number;
  /** reconnecting: why the last connection ended; closed: the fatal error, if any. */
  error?: ApiError;
}

export type StateListener = (state: ConnectionState, info: ConnectionInfo) => void;

export interface BackoffOptions {
  /** First delay (default 500 ms); doubles per failed try. */
  initialDelayMs?: number;
  /** Cap of the delay (default 30 s). */
  maxDelayMs?: number;
  /** Give up (closed, with the last error) after this many tries in a row (default: never). */
  maxAttempts?: number;
}

export interface EventFilterOptions<T extends EventType = EventType> {
  conversation?: string;
  agent?: string;
  /** Only these types (the events delivered are typed accordingly). */
  types?: readonly T[];
}

export interface SubscribeOptions<T extends EventType = EventType> extends EventFilterOptions<T> {
  /** Resume after this event id (everything later is replayed first); without it, events from now on. */
  lastEventId?: number;
  /** `fetch` (default) or the browser's `eventsource` with the ticket flow. */
  transport?: 'fetch' | 'eventsource';
  /** Reconnect after a drop (default true), optionally tuned. */
  reconnect?: boolean | BackoffOptions;
  /** Aborting closes the subscription. */
  signal?: AbortSignal;
}

export interface EventSubscription<E extends TinyEvent = TinyEvent> extends AsyncIterable<E> {
  readonly state: ConnectionState;
  /** The id of the last event delivered (where a reconnect resumes). */
  readonly lastEventId: number | undefined;
  /** Calls `listener` on every state change; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void;
  /** Calls `listener` for every event; returns the unsubscribe function. */
  onEvent(listener: (event: E) => void): () => void;
  close(): void;
  /** Settles when the subscription is closed: rejects with the fatal error if it ended with one. */
  readonly closed: Promise<void>;
}

/** What a transport needs from the client. */
export interface StreamTransport {
  /** Opens one connection resuming after `lastEventId`; resolves when it ends, rejects with an ApiError if it could not open or failed. */
  connect(from: number | undefined, handlers: { onOpen(): void; onMessage(id: string | undefined, data: string): void }, signal: AbortSignal): Promise<void>;
}

/** Delay before try number `attempt` (0-based) with "equal jitter": half fixed, half random. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs ?? 30_000, (options.initialDelayMs ?? 500) * 2 ** attempt);
  return Math.round(base / 2 + random() * (base / 2));
}

/** Whether retrying could help: no answer, a server-side failure, a timeout or a rate limit. */
function isRetryable(err: ApiError): boolean {
  return err.status === 0 || err.status >= 500 || err.status === 408 || err.status === 429;
}

/**
 * A listener that throws must not stop the stream or the other listeners; its error is rethrown
 * on its own (as an EventTarget does), so it is not swallowed either.
 */
function callSafely<A extends unknown[]>(listener: (...args: A) => void, ...args: A): void {
  try {
    listener(...args);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/**
 * `position` answers the id of the newest event now (used once, when no `lastEventId` is given);
 * without it such a subscription starts wherever each connection starts.
 */
/**
 * The daemon's position, or undefined for a scoped token (a channel's) that may not read the
 * status: its stream then starts at the daemon's position when it connects, and the caller
 * covers the gap its own way (a channel claims its outbox on every open).
 */
async function startPosition(position: () => Promise<number>): Promise<number | undefined> {
  try {
    return await position();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'SCOPE_FORBIDDEN') return undefined;
    throw err;
  }
}

export function subscribeEvents<T extends EventType = EventType>(transport: StreamTransport, options: SubscribeOptions<T> = {}, position?: () => Promise<number>): EventSubscription<EventOf<T>> {
  const stateListeners = new Set<StateListener>();
  const eventListeners = new Set<(event: EventOf<T>) => void>();
  const abort = new AbortController();
  const backoff: BackoffOptions = typeof options.reconnect === 'object' ? options.reconnect : {};
  const reconnect = options.reconnect !== false;
  let state: ConnectionState = 'connecting';
  let lastId = options.lastEventId;
  let resolveClosed!: () => void;
  let rejectClosed!: (err: unknown) => void;
  const closed = new Promise<void>((resolve, reject) => {
    resolveClosed = resolve;
    rejectClosed = reject;
  });
  // Nobody may be waiting on `closed`: do not report its rejection as unhandled.
  closed.catch(() => {});

  function setState(next: ConnectionState, info: ConnectionInfo): void {
    if (state === 'closed') return;
    state = next;
    for (const listener of stateListeners) callSafely(listener, next, info);
  }

  function finish(error?: ApiError): void {
    if (state === 'closed') return;
    setState('closed', { attempt: 0, ...(error ? { error } : {}) });
    abort.abort();
    options.signal?.removeEventListener('abort', onAbort);
    if (error) rejectClosed(error);
    else resolveClosed();
  }

  function deliver(id: string | undefined, data: string): void {
    if (state === 'closed' || id === undefined || data === '') return;
    let event: EventOf<T>;
    try {
      // The server filtered by `types`; the payload is not re-validated here (see the contract above).
      event = JSON.parse(data) as EventOf<T>;
    } catch (err) {
      throw new ApiError('BAD_RESPONSE', 200, `The event stream sent an event that is not JSON (id ${id}).`, { cause: err });
    }
    // Exactly once: a resumed stream never repeats an id, but a chunk read before a drop may.
    if (lastId !== undefined && event.id <= lastId) return;
    lastId = event.id;
    for (const listener of eventListeners) callSafely(listener, event);
  }

  // A function, not `state === 'closed'`: TypeScript would keep the narrowing across the awaits.
  const isClosed = (): boolean => state === 'closed';

  async function run(): Promise<void> {
    let attempt = 0;
    for (;;) {
      let error: ApiError | undefined;
      try {
        if (lastId === undefined && position) lastId = await startPosition(position);
        await transport.connect(
          lastId,
          {
            onOpen: () => {
              attempt = 0;
              setState('open', { attempt });
            },
            onMessage: deliver,
          },
          abort.signal,
        );
      } catch (err) {
        error = err instanceof ApiError ? err : new ApiError('NETWORK_ERROR', 0, err instanceof Error ? err.message : String(err), { cause: err });
      }
      if (isClosed()) return;
      if (error && !isRetryable(error)) return finish(error);
      if (!reconnect || (backoff.maxAttempts !== undefined && attempt + 1 >= backoff.maxAttempts)) return finish(error);
      const retryInMs = backoffDelay(attempt, backoff);
      attempt += 1;
      setState('reconnecting', { attempt, retryInMs, ...(error ? { error } : {}) });
      await sleep(retryInMs, abort.signal);
      if (isClosed()) return;
    }
  }

  const onAbort = (): void => finish();
  if (options.signal?.aborted) queueMicrotask(() => finish());
  else {
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Started on the next microtask, so listeners and the iterator attached right away see every event.
    queueMicrotask(() => {
      if (state !== 'closed') run().catch((err: unknown) => finish(err instanceof ApiError ? err : new ApiError('BAD_RESPONSE', 0, String(err), { cause: err })));
    });
  }

  return {
    get state() {
      return state;
    },
    get lastEventId() {
      return lastId;
    },
    closed,
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    close: () => finish(),
    [Symbol.asyncIterator]() {
      return iterate(this);
    },
  };
}

/** The subscription as an async iterator; ending the loop (break/return) closes it, a fatal error is thrown. */
async function* iterate<E extends TinyEvent>(sub: EventSubscription<E>): AsyncGenerator<E> {
  const queue: E[] = [];
  let wake: (() => void) | undefined;
  const stop = sub.onEvent((event) => {
    queue.push(event);
    wake?.();
  });
  const unwatch = sub.onStateChange((state, info) => {
    if (state !== 'closed') return;
    // Closed on purpose: stop at once. Closed by a fatal error: deliver what arrived, then throw.
    if (info.error === undefined) queue.length = 0;
    wake?.();
  });
  let failure: unknown;
  sub.closed.catch((err: unknown) => {
    failure = err;
  });
  try {
    for (;;) {
      const event = queue.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      if (sub.state === 'closed') break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    await sub.closed.catch(() => {});
    if (failure !== undefined) throw failure;
  } finally {
    stop();
    unwatch();
    sub.close();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The fetch transport: streams the response body (works wherever fetch exposes a ReadableStream). */
export function fetchTransport(open: (from: number | undefined, signal: AbortSignal) => Promise<Response>): StreamTransport {
  return {
    async connect(from, handlers, signal) {
      const res = await open(from, signal);
      if (!res.body) throw new ApiError('BAD_RESPONSE', res.status, 'The event stream answered without a body.');
      handlers.onOpen();
      const reader = res.body.getReader();
      const parser = new SseParser();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          for (const message of parser.push(decoder.decode(value, { stream: true }))) handlers.onMessage(message.id, message.data);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError) throw err;
        throw new ApiError('NETWORK_ERROR', 0, `The event stream was interrupted (${err instanceof Error ? err.message : String(err)}).`, { cause: err });
      } finally {
        reader.cancel().catch(() => {});
      }
    },
  };
}

/** Minimal shape of the WHATWG EventSource this transport uses. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data?: unknown; lastEventId?: string }) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

/**
 * The EventSource transport: takes a fresh ticket for each connection and closes the native
 * EventSource on its first error (its own retry would reuse a ticket that may have expired and
 * has no backoff); the subscription then reconnects with a new ticket and `?lastEventId=`.
 */
export function eventSourceTransport(urlFor: (from: number | undefined) => Promise<string>, EventSourceImpl: EventSourceConstructor, types: readonly EventType[] | undefined): StreamTransport {
  return {
    async connect(from, handlers, signal) {
      const url = await urlFor(from);
      if (signal.aborted) return;
      const source = new EventSourceImpl(url);
      await new Promise<void>((resolve) => {
        const end = (): void => {
          source.close();
          signal.removeEventListener('abort', end);
          resolve();
        };
        signal.addEventListener('abort', end, { once: true });
        source.addEventListener('open', () => handlers.onOpen());
        source.addEventListener('error', end);
        // The server names every event after its type; EventSource only dispatches named events to their own listeners.
        for (const type of types && types.length > 0 ? types : EVENT_TYPES) {
          source.addEventListener(type, (e) => handlers.onMessage(e.lastEventId, typeof e.data === 'string' ? e.data : ''));
        }
      });
    },
  };
}
