/**
 * Steering (docs/teams.md, "Steering a run"): a person's pause, inject, redirect or cancel of a run,
 * and what each command does for it. Built on an orchestrator, whose steering board holds the
 * pauses and injected text of the runs it executes; a command for a run another node runs is
 * relayed to that node (steering/relay.ts), which the orchestrator there applies.
 */
import type { SteerCommand } from '../core-internal.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { orchestratorContext, type Orchestrator } from '../orchestrator/orchestrator.ts';
import { DEFAULT_RELAY_TIMEOUT_MS } from '../steering/relay.ts';
import { runSteering, steerRun, type RunSteering, type SteerResult } from '../steering/steer.ts';

export interface SteeringOptions {
  /** Several nodes: how long a command relayed to the node running the run waits for its answer (default 5 s). */
  relayTimeoutMs?: number;
}

export class Steering {
  readonly #ctx: Ctx;
  readonly #relayTimeoutMs: number;

  constructor(orchestrator: Orchestrator, options: SteeringOptions = {}) {
    this.#ctx = orchestratorContext(orchestrator);
    this.#relayTimeoutMs = options.relayTimeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS;
  }

  /**
   * Applies a steering command and records the answer (`run.steered`). With several nodes, a
   * command for a run another node runs is relayed to it and its answer returned.
   */
  steer(runId: string, command: SteerCommand, payload: { text?: string; by?: string } = {}): Promise<SteerResult> {
    return steerRun(this.#ctx, runId, command, payload, { relayTimeoutMs: this.#relayTimeoutMs });
  }

  /** What each steering command does for a run (its provider), which are allowed, and whether it is paused. */
  ofRun(runId: string): Promise<RunSteering> {
    return runSteering(this.#ctx, runId);
  }
}
