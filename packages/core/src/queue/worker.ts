/**
 * QueueWorker: drives a QueueStore with a handler.
 *
 * - Wake-ups are event-driven: every in-process commit that may make work claimable calls the
 *   store's wake listeners, and the worker claims on the next tick. A timer is armed for the
 *   earliest backoff end / lease expiry, and a slow sweep (default 1 s) covers enqueues by other
 *   processes and recovers expired leases.
 * - At most `concurrency` batches run at once; the store guarantees one batch per agent. A
 *   function is read at every claim, so a live settings change applies without a restart
 *   (lowering it lets running batches finish; it never aborts one).
 * - The leases of every running batch are renewed together, one store call (one statement on
 *   PostgreSQL) at every sweep and every leaseMs/3. A requested cancel (from any process), seen
 *   there, aborts the handler's signal; the messages then end `cancelled`.
 * - Handler outcome: resolve -> complete (with the returned effects in the same transaction);
 *   throw -> fail, classified by the error's `kind` (see `classifyFailure`).
 * - Group commit: completions that arrive in the same event-loop turn are committed together in
 *   one durable transaction (one bad completion does not undo the others: `completeMany`).
 *   At synchronous FULL a commit is an fsync; under load this turns N fsyncs into one. One
 *   group commits at a time: those that finish meanwhile wait for it and form the next group, so
 *   on PostgreSQL a worker holds at most one connection for completions.
 * - At start the store readies the connections a worker uses at once (a claim, a completion group,
 *   a renewal: `QueueStore.prepareConnections`), so the first messages after a start do not wait
 *   for them.
 */
import { hostname } from 'node:os';
import { newId } from '../ids.ts';
import { errorMessage, isConfigurationError } from '../errors.ts';
import { GroupCommit } from '../storage/group-commit.ts';
import type { ObserverList } from '../observe/index.ts';
import type { BusyPolicy, ClaimedBatch, CompletionEffects, CompletionInput, FailInput, QueueStore } from './types.ts';

export interface HandlerContext {
  owner: string;
  signal: AbortSignal;
}

export interface HandlerResult {
  /** Runs inside the completion transaction, given it (follow-ups, replies, run records). */
  effects?: CompletionEffects;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing (`async () => {}`), which `undefined` would reject
export type BatchHandler = (batch: ClaimedBatch, ctx: HandlerContext) => Promise<HandlerResult | void>;

export interface QueueWorkerOptions {
  store: QueueStore;
  handler: BatchHandler;
  owner?: string;
  /** A number, or a function read at every claim (live settings). Default 8. */
  concurrency?: number | (() => number);
  leaseMs?: number;
  sweepMs?: number;
  collectLimit?: number;
  policy?: (agentId: string) => BusyPolicy;
  /** Agents not to claim for now (paused). Read at every claim. */
  skipAgents?: () => ReadonlySet<string>;
  /** Only these agents (a node's: nodes/placement.ts `agentsForNode`). Read at every claim; absent: all. */
  agents?: () => ReadonlySet<string>;
  /** Called when the store or a handler bookkeeping step fails unexpectedly. */
  onError?: (err: unknown) => void;
  /** Told of every batch claimed (`claimed`, after the claim committed); docs/observers.md. */
  observers?: Pick<ObserverList, 'listening' | 'notify'>;
}

/**
 * Upper bounds on one synchronous store call: a claim of thousands of agents or a group commit
 * of thousands of completions would block the event loop for tens of milliseconds. Bigger
 * backlogs are taken in rounds with the event loop let through in between.
 */
const CLAIM_ROUND = 64;
const COMMIT_GROUP = 64;
/** Connections a worker uses at once: a claim, a completion group and a lease renewal. */
const READY_CONNECTIONS = 3;

interface InFlight {
  batch: ClaimedBatch;
  controller: AbortController;
  cancelled: boolean;
  /** Counts against `concurrency` (see `#handlerReturned`). */
  holdsSlot: boolean;
  done: Promise<void>;
}

export class QueueWorker {
  readonly owner: string;
  readonly #opts: Required<Omit<QueueWorkerOptions, 'owner' | 'policy' | 'skipAgents' | 'agents' | 'onError' | 'observers'>> &
    Pick<QueueWorkerOptions, 'policy' | 'skipAgents' | 'agents' | 'onError' | 'observers'>;
  readonly #inFlight = new Map<string, InFlight>();
  /** Batches holding a slot: what `concurrency` bounds. */
  #holding = 0;
  #running = false;
  #pumpScheduled = false;
  #pumping = false;
  #repump = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Renews every leaseMs/3 (the sweep renews too), until the last batch settled. */
  #renewTimer: NodeJS.Timeout | undefined;
  /** The renewal on its way (another waits for it rather than run beside it). */
  #renewing: Promise<void> | undefined;
  /** When the newest renewal that ended was reckoned (its start). */
  #renewedAt = 0;
  #wakeTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  /** True while a claim is on its way (committed in the store perhaps, its batches not running here yet). */
  #claiming = false;
  /** Callers of `whenClaimed` waiting for that claim to land (no promise is made when nobody waits). */
  #claimWaiters: Array<() => void> = [];
  readonly #completions: GroupCommit<CompletionInput>;
  /** `start`'s promise: ready (see `start`). */
  #started: Promise<void> = Promise.resolve();

  constructor(options: QueueWorkerOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${newId('w')}`;
    this.#opts = {
      concurrency: 8,
      leaseMs: 60_000,
      sweepMs: 1000,
      collectLimit: 50,
      ...options,
    };
    const { store } = this.#opts;
    this.#completions = new GroupCommit((items) => store.completeMany(items), COMMIT_GROUP, 1);
  }

  #concurrency(): number {
    const { concurrency } = this.#opts;
    const value = typeof concurrency === 'function' ? concurrency() : concurrency;
    return Number.isFinite(value) ? Math.max(1, Math.floor(value)) : 1;
  }

  get activeCount(): number {
    return this.#inFlight.size;
  }

  /** Agent ids of batches running now. */
  activeAgents(): string[] {
    return [...this.#inFlight.values()].map((f) => f.batch.agentId);
  }

  /**
   * Starts claiming. Resolves once the worker is ready: the store's connections readied
   * (`QueueStore.prepareConnections`), expired leases recovered and the first claim made.
   * Wake-ups count from the call.
   */
  start(): Promise<void> {
    if (this.#running) return this.#started;
    this.#running = true;
    const { store } = this.#opts;
    this.#unsubscribe = store.onWake(() => this.wake());
    this.#sweepTimer = setInterval(() => void this.#sweep(), this.#opts.sweepMs);
    this.#sweepTimer.unref();
    this.#renewTimer = setInterval(() => void this.#renewAll(), Math.max(50, Math.floor(this.#opts.leaseMs / 3)));
    this.#renewTimer.unref();
    this.#started = (async () => {
      try {
        await store.prepareConnections?.(READY_CONNECTIONS);
      } catch (err) {
        this.#opts.onError?.(err);
      }
      await this.#sweep();
    })();
    return this.#started;
  }

  /**
   * Ask for a claim on the next tick (coalesced). During a pump, the pump claims again before it
   * arms its wake timer (the wake-up may be new work; and the timer is then read with that claim).
   */
  wake(): void {
    if (!this.#running) return;
    if (this.#pumping) {
      this.#repump = true;
      return;
    }
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      void this.#pump();
    });
  }

  /** The ids of the batch holding the message while this worker runs it (claimed, not settled yet). */
  batchOf(messageId: string): string[] | undefined {
    for (const flight of this.#inFlight.values()) if (flight.batch.messages.some((m) => m.id === messageId)) return flight.batch.messages.map((m) => m.id);
    return undefined;
  }

  /**
   * Resolves once no claim of this worker is on its way: a message the store shows claimed by
   * this worker is then held (`batchOf`, `settled`) or already settled. On an asynchronous store a
   * claim commits before its batches reach the worker.
   */
  whenClaimed(): Promise<void> {
    if (!this.#claiming) return Promise.resolve();
    return new Promise((resolve) => this.#claimWaiters.push(resolve));
  }

  /** Aborts the handler of a message this worker holds. Returns false if it holds none. */
  abortMessage(messageId: string): boolean {
    for (const flight of this.#inFlight.values()) {
      if (flight.batch.messages.some((m) => m.id === messageId)) {
        flight.cancelled = true;
        flight.controller.abort(new Error('cancelled'));
        return true;
      }
    }
    return false;
  }

  /** Resolves when the batch holding the message (if this worker runs one) has been settled. */
  settled(messageId: string): Promise<void> {
    for (const flight of this.#inFlight.values()) {
      if (flight.batch.messages.some((m) => m.id === messageId)) return flight.done;
    }
    return Promise.resolve();
  }

  /**
   * Stops claiming, waits up to `graceMs` for running handlers, then aborts the rest and
   * releases their messages (they go back to pending without spending an attempt).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe?.();
    clearInterval(this.#sweepTimer);
    clearTimeout(this.#wakeTimer);
    const renewTimer = this.#renewTimer;
    const pending = [...this.#inFlight.values()];
    const settled = Promise.all(pending.map((f) => f.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([settled.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      for (const flight of this.#inFlight.values()) flight.controller.abort(new Error('shutdown'));
      await settled;
    }
    // Running batches kept their leases until they settled.
    clearInterval(renewTimer);
  }

  async #sweep(): Promise<void> {
    if (!this.#running) return;
    try {
      // This worker holds these leases and is alive: a stall of its own event loop longer than a
      // lease must not lose them, so they are renewed (kept, if nobody took them over) before the
      // recovery, which then ends only leases whose holders stopped renewing. A renewal leaves the
      // leases with two thirds of leaseMs left when it is reckoned; one reckoned before a stall
      // (on its way across it, or started by this sweep just before) may have left a lease that
      // has run out since, so the sweep renews until a renewal is recent.
      for (let k = 0; k < 3; k++) {
        await this.#renewAll();
        if (this.#inFlight.size === 0 || Date.now() - this.#renewedAt < this.#opts.leaseMs / 3) break;
      }
      await this.#opts.store.recoverExpiredLeases();
    } catch (err) {
      this.#opts.onError?.(err);
    }
    await this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#repump = true;
      return;
    }
    this.#pumping = true;
    // Up to this time, whatever was available and not claimed waits for a busy agent or a free
    // slot, which a completion's wake-up brings; the wake timer only covers what comes later.
    let horizon = Date.now();
    // Whether the last pass claimed. Without a free slot it does not, and the wake timer is left as
    // it is: whatever becomes claimable waits for a slot, and the completion that frees one wakes
    // a pass that claims and reads the next wake time with its claim (a wake-up that came while
    // every slot was busy would otherwise cost a round trip for the wake time alone).
    let claimed = false;
    try {
      do {
        this.#repump = false;
        claimed = false;
        for (let round = 0; this.#running; round++) {
          if (round > 0) await new Promise<void>((resolve) => setImmediate(resolve));
          const free = this.#concurrency() - this.#holding;
          if (free <= 0) break;
          claimed = true;
          // The time of the last claim (a store may read its next wake time with the claim).
          horizon = Date.now();
          const want = Math.min(free, CLAIM_ROUND);
          const claimOptions = {
            now: horizon,
            owner: this.owner,
            leaseMs: this.#opts.leaseMs,
            maxAgents: want,
            collectLimit: this.#opts.collectLimit,
            ...(this.#opts.policy ? { policy: this.#opts.policy } : {}),
            ...(this.#opts.skipAgents ? { skipAgents: this.#opts.skipAgents() } : {}),
            busyAgents: this.#busyAgents(),
            ...(this.#opts.agents ? { agents: this.#opts.agents() } : {}),
          };
          this.#claiming = true;
          let batches: ClaimedBatch[];
          try {
            batches = await this.#opts.store.claim(claimOptions);
            for (const batch of batches) this.#run(batch);
          } finally {
            this.#claiming = false;
            if (this.#claimWaiters.length > 0) for (const resolve of this.#claimWaiters.splice(0)) resolve();
          }
          if (batches.length < want) break;
        }
      } while (this.#repump && this.#running);
      if (claimed) await this.#armWakeTimer(horizon);
    } catch (err) {
      this.#opts.onError?.(err);
    } finally {
      this.#pumping = false;
      // A wake-up that came while the wake timer was being armed (an asynchronous store's
      // nextWakeAt) found the pump busy: claim again for it rather than lose it.
      if (this.#repump && this.#running) this.wake();
    }
  }

  /**
   * The agents whose batch this worker runs now (the claim's `busyAgents` hint): a batch that just
   * settled leaves this set before its `finally` wakes the worker for the agent's next messages.
   */
  #busyAgents(): ReadonlySet<string> {
    return new Set(Array.from(this.#inFlight.values(), (flight) => flight.batch.agentId));
  }

  async #armWakeTimer(horizon: number): Promise<void> {
    clearTimeout(this.#wakeTimer);
    if (!this.#running) return;
    const at = await this.#opts.store.nextWakeAt(horizon);
    // Already past: a lease that expired and was not taken over (its holder is a live node, on
    // PostgreSQL): the sweep looks at it again, rather than a wake every millisecond.
    if (at === undefined || at < Date.now()) return;
    const delay = Math.max(1, Math.min(at - Date.now() + 1, 2 ** 31 - 1));
    this.#wakeTimer = setTimeout(() => void this.#sweepOrPump(at), delay);
    this.#wakeTimer.unref();
  }

  async #sweepOrPump(at: number): Promise<void> {
    // A lease expiry needs recovery; a backoff end only needs a claim. Recovery is cheap.
    if (at <= Date.now()) await this.#sweep();
  }

  #run(batch: ClaimedBatch): void {
    const observers = this.#opts.observers;
    if (observers?.listening('claimed')) {
      observers.notify('claimed', {
        owner: this.owner,
        agentId: batch.agentId,
        conversationId: batch.messages[0]!.conversationId,
        messageIds: batch.messages.map((m) => m.id),
        availableAt: batch.messages.map((m) => m.availableAt),
        at: Date.now(),
      });
    }
    const controller = new AbortController();
    const key = batch.messages[0]!.id;
    const flight: InFlight = { batch, controller, cancelled: false, holdsSlot: true, done: Promise.resolve() };
    this.#holding++;
    this.#inFlight.set(key, flight);
    flight.done = this.#execute(flight).finally(() => {
      this.#releaseSlot(flight);
      this.#inFlight.delete(key);
      this.wake();
    });
  }

  /**
   * Renews the leases of every running batch in one store call; a cancel requested or a lease
   * another worker took over aborts its handler. Never throws (errors go to `onError`).
   */
  #renewAll(): Promise<void> {
    if (!this.#renewing && this.#inFlight.size > 0) {
      const reckoned = Date.now();
      this.#renewing = this.#renewFlights([...this.#inFlight.entries()]).finally(() => {
        this.#renewing = undefined;
        this.#renewedAt = Math.max(this.#renewedAt, reckoned);
      });
    }
    return this.#renewing ?? Promise.resolve();
  }

  async #renewFlights(flights: Array<[string, InFlight]>): Promise<void> {
    try {
      const renewal = await this.#opts.store.renewLeases(
        this.owner,
        flights.flatMap(([, f]) => f.batch.messages.map((m) => m.id)),
        this.#opts.leaseMs,
      );
      if (renewal.cancelRequested.length === 0 && renewal.lost.length === 0) return;
      const lost = new Set(renewal.lost);
      const cancelRequested = new Set(renewal.cancelRequested);
      for (const [key, flight] of flights) {
        // A batch settled meanwhile is not aborted (its messages were completed, not lost).
        if (this.#inFlight.get(key) !== flight) continue;
        const ids = flight.batch.messages.map((m) => m.id);
        const isLost = ids.some((id) => lost.has(id));
        const isCancelled = ids.some((id) => cancelRequested.has(id));
        if (!isLost && !isCancelled) continue;
        flight.cancelled = flight.cancelled || isCancelled;
        flight.controller.abort(new Error(isLost ? 'lease lost' : 'cancelled'));
      }
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }

  async #execute(flight: InFlight): Promise<void> {
    const { store } = this.#opts;
    const ids = flight.batch.messages.map((m) => m.id);
    try {
      const result = await this.#opts.handler(flight.batch, { owner: this.owner, signal: flight.controller.signal }).finally(() => this.#handlerReturned(flight));
      if (flight.controller.signal.aborted) {
        await this.#settleAborted(flight, ids);
        return;
      }
      await this.#completions.add({ owner: this.owner, ids, ...(result?.effects ? { effects: result.effects } : {}) });
    } catch (err) {
      try {
        if (flight.controller.signal.aborted) await this.#settleAborted(flight, ids);
        else await store.fail(this.owner, ids, classifyFailure(err));
      } catch (inner) {
        this.#opts.onError?.(inner);
      }
    }
  }

  /**
   * A batch holds its slot until it settled, so that the next claim comes after its commit and
   * finds the messages that came meanwhile gathered into batches. A batch of one message, where
   * nothing gathered, frees its slot when its handler returns: with every slot waiting on a
   * commit, a worker that fell behind would otherwise claim and commit in turn, a few messages
   * a cycle, and catch up slowly.
   */
  #handlerReturned(flight: InFlight): void {
    if (flight.batch.messages.length > 1) return;
    // Every slot was taken: the worker may have left work unclaimed, which this slot can take now.
    const full = this.#holding >= this.#concurrency();
    this.#releaseSlot(flight);
    if (full) this.wake();
  }

  #releaseSlot(flight: InFlight): void {
    if (!flight.holdsSlot) return;
    flight.holdsSlot = false;
    this.#holding--;
  }

  async #settleAborted(flight: InFlight, ids: string[]): Promise<void> {
    if (flight.cancelled) await this.#opts.store.finishCancelled(this.owner, ids, 'cancelled');
    else if (!this.#running) await this.#opts.store.release(this.owner, ids);
    // Otherwise the lease was lost: another worker owns the messages now; touch nothing.
  }
}

/**
 * Maps an error onto the queue's retry policy. Errors carrying `kind` (the invoker's
 * InvokeError) are classified by it; configuration errors are permanent; anything else is
 * treated as transient.
 */
export function classifyFailure(err: unknown): FailInput {
  const e = err as { kind?: unknown; retryAfterMs?: unknown; exitCode?: unknown; signal?: unknown } | null;
  const error = errorMessage(err);
  const kind = typeof e?.kind === 'string' ? e.kind : isConfigurationError(err) ? 'permanent' : 'retryable';
  const retryAfterMs = typeof e?.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
  if (kind === 'permanent') return { kind: 'permanent', reason: 'cannot_run', error };
  if (kind === 'rate_limited') return { kind: 'rate_limited', reason: 'rate_limited', error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (kind === 'timeout') return { kind: 'retryable', reason: 'timed_out', error };
  // The agent's process ended badly (the invoker reports how): a crash, not a provider refusal.
  const crashed = typeof e?.exitCode === 'number' || typeof e?.signal === 'string';
  return { kind: 'retryable', reason: crashed ? 'crashed' : 'failed', error };
}
