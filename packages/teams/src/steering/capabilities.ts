/**
 * What each steering command really does for a run, by the runtime that runs its agent, said
 * before the command is used (`GET /api/runs/:id/steering`, the `effect` of an accepted
 * `run.steered`). Where a run can be reached inside a turn is the runtime descriptor's
 * `steerPoint` (docs/kinds.md): the mock runtime at its steps, the HTTP runtimes before each
 * model call after the first; the CLI runtimes (and an unknown runtime) nowhere, since the CLI
 * process runs its turn to the end, so pause, inject and redirect take effect once it is over.
 * A paused run never posts its answer: a turn that ends while paused is held until `resume`.
 */
import { runtimeKinds, type RunStatus } from '@tinyagi/core';
import type { SteerCommand } from '@tinyagi/core/internal';

export interface SteerCapability {
  command: SteerCommand;
  allowed: boolean;
  midTurn: boolean;
  note: string;
}

const ORDER: readonly SteerCommand[] = ['pause', 'resume', 'inject', 'redirect', 'cancel'];

/** Where a running turn of `runtime` takes steering; undefined: only between turns. */
function steerPointOf(runtime: string): string | undefined {
  const kind = runtimeKinds.get(runtime);
  return kind?.capabilities.steersMidTurn ? (kind.steerPoint ?? 'its next checkpoint') : undefined;
}

/** What `command` does to a run of `adapter` that is running (or, `queued`, has not started). */
export function steerNote(adapter: string, command: SteerCommand, queued: boolean): string {
  const where = steerPointOf(adapter);
  if (command === 'cancel') return 'Ends the run and its sub-runs at once (a CLI agent’s process group is killed).';
  if (command === 'resume') return 'Lets the paused run go on; an answer held while it was paused is then posted.';
  if (queued) {
    if (command === 'pause') return 'The run will not start until it is resumed.';
    return command === 'inject' ? 'Added to the run’s first turn.' : 'Replaces the run’s task before it starts.';
  }
  if (where === undefined) {
    switch (command) {
      case 'pause':
        return 'A CLI agent cannot pause mid-turn: its current turn runs to the end and the answer is held, not posted, until you resume.';
      case 'inject':
        return 'A CLI agent cannot take input mid-turn: after its current turn ends, the run takes one more turn in the same session with this text.';
      case 'redirect':
        return 'A CLI agent cannot be redirected mid-turn: its current turn runs to the end, then the turn restarts with the new instruction in the same session (the first answer is dropped).';
    }
  }
  switch (command) {
    case 'pause':
      return `Holds the run at ${where}; an answer finished while paused is held until you resume.`;
    case 'inject':
      return `Added to the current turn at ${where}; if the turn ends first, the run takes one more turn with it.`;
    default:
      return `Replaces the task at ${where}; if the turn ends first, the turn restarts with the new instruction (the first answer is dropped).`;
  }
}

/** Every command for a run: allowed or not (settings and status), where it acts, and what it does. */
export function steerCapabilities(adapter: string, allowed: readonly SteerCommand[], status: RunStatus): SteerCapability[] {
  const open = status === 'queued' || status === 'running';
  const midTurn = steerPointOf(adapter) !== undefined;
  return ORDER.map((command) => ({
    command,
    allowed: open && allowed.includes(command),
    midTurn: command === 'cancel' || (command !== 'resume' && midTurn),
    note: steerNote(adapter, command, status === 'queued'),
  }));
}
