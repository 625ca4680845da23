/**
 * What each steering command really does for a run, by the runtime that runs its agent, said
 * before the command is used (`GET /api/runs/:id/steering`, the `effect` of an accepted
 * `run.steered`). Where a run can be reached inside a turn is the runtime descriptor's
 * `steerPoint` (docs/kinds.md): the mock runtime at its steps, the HTTP runtimes before each
 * model call after the first; the CLI runtimes (and an unknown runtime) nowhere, since the CLI
 * process runs its turn to the end, so pause, inject and redirect take effect once it is over.
 * An agent that runs warm (docs/sessions.md) is steered by its warm driver's capabilities
 * instead: input steered into the running turn, a pause held at the driver's pause point, cancel
 * interrupting the turn and keeping the process.
 * A paused run never posts its answer: a turn that ends while paused is held until `resume`.
 */
import { runtimeKinds, type WarmCapabilities, type RunStatus } from '@tinyagi/core';
import type { SteerCommand } from '../core-internal.ts';

export interface SteerCapability {
  command: SteerCommand;
  allowed: boolean;
  midTurn: boolean;
  note: string;
}

const ORDER: readonly SteerCommand[] = ['pause', 'resume', 'inject', 'redirect', 'cancel'];

/**
 * What runs an agent, for its steering notes: the runtime's name and, when the agent runs warm
 * (`process: "warm"` on a runtime with a warm driver, docs/sessions.md), the warm driver's
 * capabilities (core's `warmCapabilities`). A bare runtime name means it runs per message.
 */
export interface SteerRunner {
  runtime: string;
  warm?: WarmCapabilities | undefined;
}

function runnerOf(runner: string | SteerRunner): SteerRunner {
  return typeof runner === 'string' ? { runtime: runner } : runner;
}

/** Where a running turn of `runtime` takes steering; undefined: only between turns. */
function steerPointOf(runtime: string): string | undefined {
  const kind = runtimeKinds.get(runtime);
  return kind?.capabilities.steersMidTurn ? (kind.steerPoint ?? 'its next checkpoint') : undefined;
}

/** What `command` does to a run of `runner` that is running (or, `queued`, has not started). */
export function steerNote(runner: string | SteerRunner, command: SteerCommand, queued: boolean): string {
  const { runtime, warm } = runnerOf(runner);
  if (warm && !queued) return warmNote(warm, command);
  const where = steerPointOf(runtime);
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

/** A running turn of an agent that runs warm: what its warm driver can do inside the turn (docs/sessions.md). */
function warmNote(warm: WarmCapabilities, command: SteerCommand): string {
  switch (command) {
    case 'cancel':
      return warm.interrupts
        ? 'Interrupts the turn and ends the run and its sub-runs; the agent’s warm process stays for its next message.'
        : 'Ends the run and its sub-runs at once; the agent’s warm process is closed (its next message resumes the session in a new one).';
    case 'resume':
      return 'Lets the paused run go on; an answer held while it was paused is then posted.';
    case 'pause':
      return warm.pausePoint
        ? `Holds the running turn ${warm.pausePoint}; an answer finished while paused is held until you resume.`
        : 'The warm process cannot hold its turn: the turn runs to the end and the answer is held, not posted, until you resume.';
    case 'inject':
      return warm.steersMidTurn
        ? 'Given to the running turn at once (the warm process reads it at its next step); if the turn ends first, the run takes one more turn with it.'
        : 'The warm process cannot take input mid-turn: after its current turn ends, the run takes one more turn in the same session with this text.';
    case 'redirect':
      return warm.steersMidTurn
        ? 'The new instruction is given to the running turn at once and the turn goes on with it; if the turn ends first, the turn restarts with it (the first answer is dropped).'
        : 'The warm process cannot be redirected mid-turn: its current turn runs to the end, then the turn restarts with the new instruction in the same session (the first answer is dropped).';
  }
}

/** Every command for a run: allowed or not (settings and status), where it acts, and what it does. */
export function steerCapabilities(runner: string | SteerRunner, allowed: readonly SteerCommand[], status: RunStatus): SteerCapability[] {
  const open = status === 'queued' || status === 'running';
  const { runtime, warm } = runnerOf(runner);
  const midTurn = (command: SteerCommand): boolean => {
    if (command === 'cancel') return true;
    if (command === 'resume') return false;
    if (warm) return command === 'pause' ? warm.pausePoint !== null : warm.steersMidTurn;
    return steerPointOf(runtime) !== undefined;
  };
  return ORDER.map((command) => ({
    command,
    allowed: open && allowed.includes(command),
    midTurn: midTurn(command),
    note: steerNote(runner, command, status === 'queued'),
  }));
}
