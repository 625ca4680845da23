/**
 * Steering of running (or queued) runs: `inject` adds a message, `redirect` replaces the
 * instruction, `pause`/`resume` hold the run, `cancel` ends it. Commands are applied at safe
 * checkpoints: before a run's first invocation, between invocations (an injected message or
 * a redirect makes the run take one more turn in the same session), and for HTTP agents before
 * each model call between tool rounds. An agent is never
 * interrupted in the middle of an invocation except by `cancel`.
 *
 * State lives in the orchestrator's process, keyed by run id; `checkpoint` is what the runner
 * awaits.
 */
import type { SteerCommand } from '@tinyagi/core';

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
  wake?: () => void;
}

export type SteerOutcome = { accepted: true } | { accepted: false; reason: string };

export class SteeringBoard {
  readonly #runs = new Map<string, RunSteering>();

  #state(runId: string): RunSteering {
    let state = this.#runs.get(runId);
    if (!state) this.#runs.set(runId, (state = { paused: false, injected: [] }));
    return state;
  }

  /** Records a command (other than cancel, which the orchestrator handles). */
  apply(runId: string, command: Exclude<SteerCommand, 'cancel'>, text: string | undefined): SteerOutcome {
    const state = this.#state(runId);
    if (state.closed) return { accepted: false, reason: 'the run is finishing; it takes no more input' };
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
    const out: SteeringInput = { injected: state.injected };
    if (state.redirect !== undefined) out.redirect = state.redirect;
    state.injected = [];
    delete state.redirect;
    return out;
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

  /** Forgets a finished run (and wakes a waiter, whose signal is aborted by then). */
  forget(runId: string): void {
    this.#runs.get(runId)?.wake?.();
    this.#runs.delete(runId);
  }
}
