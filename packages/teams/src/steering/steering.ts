/**
 * Steering of running (or queued) runs: `inject` adds a message, `redirect` replaces the
 * instruction, `pause`/`resume` hold the run, `cancel` ends it. Commands are applied at safe
 * checkpoints: before a run's first invocation, after each invocation (`settle`: a paused run's
 * answer is held there until resume; an injected message or a redirect makes the run take one
 * more turn in the same session), and inside an invocation where the runtime offers one (HTTP
 * agents before each model call between tool rounds, mock agents at their steps; see
 * capabilities.ts). An agent is never interrupted in the middle of an invocation except by
 * `cancel`.
 *
 * State lives in the orchestrator's process, keyed by run id; `checkpoint` is what the runner
 * awaits. With a steering store every change is written through (in order, one write at a time
 * on a backend whose writes are asynchronous), and `restore()` starts the board from what the
 * store holds for open runs: a pause or pending input survives a restart, and input an
 * interrupted attempt had already received is handed to its retry again.
 */
import type { Awaitable, RunSteeringState, RunSteeringStoreApi, SteerCommand } from '../core-internal.ts';

export interface SteeringInput {
  /** Messages added with `inject`, oldest first. */
  injected: string[];
  /** The latest `redirect` instruction, which replaces the current task. */
  redirect?: string;
}

interface RunSteering {
  /** Set after the last checkpoint: nothing sent now could be applied any more. */
  closed?: boolean;
  paused: boolean;
  injected: string[];
  redirect?: string;
  /** Handed to the current attempt (kept for a retry after a crash until the run ends). */
  applied: string[];
  appliedRedirect?: string;
  wake?: () => void;
  /** Warm runtimes listening for input while the run's turn runs (`subscribe`). */
  listeners?: Set<() => void>;
  /** The store holds a row for this run (saved or restored): forgetting it deletes the row. */
  stored?: boolean;
}

export type SteerOutcome = { accepted: true } | { accepted: false; reason: string };

export class SteeringBoard {
  readonly #runs = new Map<string, RunSteering>();
  readonly #store: RunSteeringStoreApi | undefined;
  /** Set while an asynchronous write is under way: later writes queue behind it (order kept). */
  #writing: Promise<void> | undefined;
  /** The last `applyQueued` of this process: the next one waits for it. */
  #queued: Promise<unknown> = Promise.resolve();
  readonly #onError: (err: unknown) => void;

  constructor(store?: RunSteeringStoreApi, onError: (err: unknown) => void = () => {}) {
    this.#store = store;
    this.#onError = onError;
  }

  /** Loads what the store holds for open runs (at start, before any run of this process). */
  async restore(): Promise<void> {
    for (const [runId, saved] of (await this.#store?.loadOpen()) ?? []) this.#runs.set(runId, fromSaved(saved));
  }

  /**
   * Several nodes: this node starts `runId` (its start is committed). What was sent while the
   * run was queued is in the store (`applyQueued` on the node that received it), read by the
   * start's transaction after its update of the run (`saved`): taken over.
   */
  adopt(runId: string, saved: RunSteeringState | undefined): void {
    if (saved && !this.#runs.has(runId)) this.#runs.set(runId, fromSaved(saved));
  }

  /**
   * Several nodes: a command for a queued run, which any node may start. It is applied to the
   * run's stored state, written only while the run is still queued; the node that starts the run
   * adopts it. `'started'`: the run started meanwhile (the command goes to its node instead).
   * Commands of this process are applied one at a time (the read-modify-write of the row).
   */
  applyQueued(runId: string, command: Exclude<SteerCommand, 'cancel'>, text: string | undefined): Promise<SteerOutcome | 'started'> {
    const store = this.#store;
    if (!store) return Promise.resolve({ accepted: false, reason: 'no steering store' });
    const apply = async (): Promise<SteerOutcome | 'started'> => {
      const saved = await store.load(runId);
      const state: RunSteering = saved ? fromSaved(saved) : { paused: false, injected: [], applied: [] };
      const outcome = applyCommand(state, command, text);
      if (!outcome.accepted) return outcome;
      return (await store.saveIfQueued(runId, toSaved(state))) ? outcome : 'started';
    };
    const result = this.#queued.then(apply, apply);
    this.#queued = result.catch(() => {});
    return result;
  }

  #state(runId: string): RunSteering {
    let state = this.#runs.get(runId);
    if (!state) {
      state = { paused: false, injected: [], applied: [] };
      this.#runs.set(runId, state);
    }
    return state;
  }

  #save(runId: string, state: RunSteering): void {
    const saved = toSaved(state);
    state.stored = true;
    this.#write((store) => store.save(runId, saved));
  }

  /**
   * Writes through to the store: at once when the store is synchronous (SQLite), otherwise after
   * the writes before it. A failed write is reported, not thrown: the in-process state is what
   * the running attempt uses; the store only carries it over a restart.
   */
  #write(fn: (store: RunSteeringStoreApi) => Awaitable<void>): void {
    const store = this.#store;
    if (!store) return;
    if (this.#writing) {
      this.#chain(this.#writing.then(() => fn(store)));
      return;
    }
    try {
      const out = fn(store);
      if (out instanceof Promise) this.#chain(out);
    } catch (err) {
      this.#onError(err);
    }
  }

  #chain(write: Promise<void>): void {
    const next: Promise<void> = write.catch(this.#onError).then(() => {
      if (this.#writing === next) this.#writing = undefined;
    });
    this.#writing = next;
  }

  /** Records a command (other than cancel, which the orchestrator handles). */
  apply(runId: string, command: Exclude<SteerCommand, 'cancel'>, text: string | undefined): SteerOutcome {
    const state = this.#state(runId);
    if (state.closed) return { accepted: false, reason: 'the run is finishing; it takes no more input' };
    const outcome = applyCommand(state, command, text);
    if (outcome.accepted) {
      this.#save(runId, state);
      if (command === 'inject' || command === 'redirect') for (const listener of state.listeners ?? []) listener();
    }
    return outcome;
  }

  /**
   * A warm runtime's turn listens for input (inject, redirect) sent while it runs; `listener`
   * then calls `take`. Called at once when input already waits. Returns the unsubscribe function.
   */
  subscribe(runId: string, listener: () => void): () => void {
    const state = this.#state(runId);
    state.listeners ??= new Set();
    state.listeners.add(listener);
    if (this.hasPendingInput(runId)) queueMicrotask(listener);
    return () => state.listeners?.delete(listener);
  }

  /** Hands over input waiting for the run now, paused or not (a warm runtime steering it into the running turn). */
  take(runId: string): SteeringInput {
    const state = this.#runs.get(runId);
    if (!state || state.closed) return { injected: [] };
    return this.#handOver(runId, state);
  }

  /** True when an inject or redirect waits to be applied. */
  hasPendingInput(runId: string): boolean {
    const state = this.#runs.get(runId);
    return state !== undefined && (state.injected.length > 0 || state.redirect !== undefined);
  }

  /**
   * The safe checkpoint: waits while the run is paused (until resumed or `signal` aborts), then
   * hands over and clears what was injected or redirected since the last checkpoint.
   */
  async checkpoint(runId: string, signal: AbortSignal): Promise<SteeringInput> {
    const state = this.#runs.get(runId);
    if (!state) return { injected: [] };
    while (state.paused && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          state.wake = undefined;
          resolve();
        };
        state.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return this.#handOver(runId, state);
  }

  /** Hands over and clears what was injected or redirected since the last hand-over (kept as applied, for a retry). */
  #handOver(runId: string, state: RunSteering): SteeringInput {
    const out: SteeringInput = { injected: state.injected };
    if (state.redirect !== undefined) out.redirect = state.redirect;
    if (out.injected.length === 0 && out.redirect === undefined) return out;
    state.applied.push(...state.injected);
    if (state.redirect !== undefined) state.appliedRedirect = state.redirect;
    state.injected = [];
    delete state.redirect;
    this.#save(runId, state);
    return out;
  }

  /**
   * The checkpoint after a turn: waits while the run is paused (its answer is held, `onHold` is
   * told once), then hands over input sent meanwhile (the run takes another turn), or, with none,
   * closes the run to further commands and returns undefined (its answer may be posted). The
   * close follows the last check without a pause between, so nothing sent can slip past.
   */
  async settle(runId: string, signal: AbortSignal, onHold: () => void): Promise<SteeringInput | undefined> {
    for (let held = false; ; ) {
      if (!held && this.isPaused(runId)) {
        held = true;
        onHold();
      }
      const input = await this.checkpoint(runId, signal);
      if (signal.aborted || input.injected.length > 0 || input.redirect !== undefined) return input;
      // Sent (or paused again) while the checkpoint's answer was on its way: go round.
      if (this.hasPendingInput(runId) || this.isPaused(runId)) continue;
      this.close(runId);
      return undefined;
    }
  }

  /** The run passed its last checkpoint (no input pending): later commands are refused. */
  close(runId: string): void {
    this.#state(runId).closed = true;
  }

  isPaused(runId: string): boolean {
    return this.#runs.get(runId)?.paused === true;
  }

  pausedRuns(): string[] {
    return [...this.#runs].filter(([, s]) => s.paused).map(([id]) => id);
  }

  /**
   * An attempt ended without finishing the run (it failed and may be retried, or the daemon is
   * stopping): the next attempt starts over, so it gets again what this one had received.
   */
  endAttempt(runId: string): void {
    const state = this.#runs.get(runId);
    if (!state) return;
    state.wake?.();
    delete state.closed;
    if (state.applied.length === 0 && state.appliedRedirect === undefined) return;
    state.injected = [...state.applied, ...state.injected];
    state.applied = [];
    if (state.redirect === undefined && state.appliedRedirect !== undefined) state.redirect = state.appliedRedirect;
    delete state.appliedRedirect;
    this.#save(runId, state);
  }

  /** Forgets a finished run (and wakes a waiter, whose signal is aborted by then). */
  forget(runId: string): void {
    const state = this.#runs.get(runId);
    if (!state) return;
    state.wake?.();
    this.#runs.delete(runId);
    // Most runs are never steered: their rows were never written, so there is nothing to delete
    // (a transaction per finished run otherwise, measured under B0).
    if (state.stored) this.#write((store) => store.delete(runId));
  }
}

/** A stored state taken up for a new attempt: what an earlier attempt had received comes again, before anything sent since. */
function fromSaved(saved: RunSteeringState): RunSteering {
  const state: RunSteering = { paused: saved.paused, injected: [...saved.applied, ...saved.injected], applied: [], stored: true };
  const redirect = saved.redirect ?? saved.appliedRedirect;
  if (redirect !== undefined) state.redirect = redirect;
  return state;
}

function toSaved(state: RunSteering): RunSteeringState {
  const saved: RunSteeringState = { paused: state.paused, injected: state.injected, applied: state.applied };
  if (state.redirect !== undefined) saved.redirect = state.redirect;
  if (state.appliedRedirect !== undefined) saved.appliedRedirect = state.appliedRedirect;
  return saved;
}

function applyCommand(state: RunSteering, command: Exclude<SteerCommand, 'cancel'>, text: string | undefined): SteerOutcome {
  switch (command) {
    case 'inject':
    case 'redirect':
      if (text === undefined || text.trim() === '') return { accepted: false, reason: `${command} needs a non-empty text` };
      if (command === 'inject') state.injected.push(text.trim());
      else state.redirect = text.trim();
      return { accepted: true };
    case 'pause':
      if (state.paused) return { accepted: false, reason: 'the run is already paused' };
      state.paused = true;
      return { accepted: true };
    case 'resume':
      if (!state.paused) return { accepted: false, reason: 'the run is not paused' };
      state.paused = false;
      state.wake?.();
      return { accepted: true };
  }
}
