/**
 * A steering command applied to a run (docs/teams.md, "Steering a run"): checked against the run's
 * state and the agent's `steering` allowlist, applied to this process's steering board (or, a
 * cancel, to the run tree), relayed to the node that runs the run when another one does
 * (relay.ts), and answered with `run.steered`. The Steering facet (facets/steering.ts) calls
 * it for a person's command; the orchestrator calls it for a command another node relayed here.
 */
import { TERMINAL_RUN_STATUSES, TinyError, warmCapabilities, type RunStatus } from '@tinyagi/core';
import { agentDefaults, ownEntry, resolveInvokeTarget, STEER_COMMANDS, type SteerCommand } from '../core-internal.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { cancelRunTree } from '../orchestrator/conversation-ops.ts';
import { steerCapabilities, steerNote, type SteerCapability, type SteerRunner } from './capabilities.ts';
import { relaySteer, steeredEvent, type SteerPayload } from './relay.ts';

export interface SteerResult {
  accepted: boolean;
  reason?: string;
  /** An accepted command: what it does for the run's provider (capabilities.ts). */
  effect?: string;
}

/** What each steering command does for a run, which are allowed, and whether it is paused. */
export interface RunSteering {
  runId: string;
  agentId: string;
  runtime: string;
  status: RunStatus;
  paused: boolean;
  commands: SteerCapability[];
}

/**
 * Applies `command` to run `runId` and records the answer (`run.steered`). With several nodes, a
 * command for a run another node runs is relayed to it (waiting `relayTimeoutMs` for its answer)
 * and its answer returned; `relay` marks a command this node received that way.
 */
export async function steerRun(
  ctx: Ctx,
  runId: string,
  command: SteerCommand,
  payload: SteerPayload,
  options: { relay?: { requestId: string } | undefined; relayTimeoutMs: number },
): Promise<SteerResult> {
  const { relay } = options;
  const run = await ctx.stores.runs.getRun(runId);
  if (!run) throw new TinyError('RUN_NOT_FOUND', `No run with id ${runId}.`);
  const settings = ctx.getSettings();
  const allowed = agentDefaults(ownEntry(settings.agents, run.agentId) ?? {}, settings).steering;
  let outcome: SteerResult;
  if (!STEER_COMMANDS.includes(command)) outcome = { accepted: false, reason: `unknown command "${String(command)}"; use ${STEER_COMMANDS.join(', ')}` };
  else if (TERMINAL_RUN_STATUSES.includes(run.status)) outcome = { accepted: false, reason: `the run has already ended (${run.status})` };
  else if (!allowed.includes(command)) outcome = { accepted: false, reason: `agents.${run.agentId}.steering does not allow "${command}" (allowed: ${allowed.join(', ') || 'none'})` };
  else if (command !== 'cancel' && ctx.node !== undefined && !ctx.active.has(runId)) {
    // Several nodes: a steering board lives in the process that runs the run. A running run of
    // another node gets the command relayed (its node answers); a queued one may start on any
    // node: the command is kept in the store for the node that starts it, unless it started
    // meanwhile (then relayed). A cancel goes through the queue and reaches any node.
    const queued = run.status === 'queued' && !relay ? await ctx.steering.applyQueued(runId, command, payload.text) : 'started';
    if (queued !== 'started') outcome = queued;
    else if (!relay) return relaySteer(ctx, run, command, payload, options.relayTimeoutMs);
    else outcome = { accepted: false, reason: 'the run is not running on this node' };
  } else if (command === 'cancel') {
    await cancelRunTree(ctx, runId, payload.text ?? `cancelled by ${payload.by ?? 'steering'}`);
    outcome = { accepted: true };
  } else {
    outcome = ctx.steering.apply(runId, command, payload.text);
  }
  // What an accepted command does for this provider, said with the answer (and in the tree).
  if (outcome.accepted) outcome = { accepted: true, effect: steerNote(runnerOf(ctx, run.agentId), command, run.status === 'queued') };
  await ctx.stores.events.append(steeredEvent(run, command, outcome, payload, relay?.requestId));
  return outcome;
}

/** What each steering command does for a run (its provider), which are allowed, and whether it is paused. */
export async function runSteering(ctx: Pick<Ctx, 'stores' | 'getSettings' | 'env' | 'node' | 'steering'>, runId: string): Promise<RunSteering> {
  const run = await ctx.stores.runs.mustGetRun(runId);
  const settings = ctx.getSettings();
  const allowed = agentDefaults(ownEntry(settings.agents, run.agentId) ?? {}, settings).steering;
  const runner = runnerOf(ctx, run.agentId);
  const paused = !TERMINAL_RUN_STATUSES.includes(run.status) && (ctx.steering.isPaused(runId) || (await pausedElsewhere(ctx, run.id, run.conversationId)));
  return { runId: run.id, agentId: run.agentId, runtime: runner.runtime, status: run.status, paused, commands: steerCapabilities(runner, allowed, run.status) };
}

/** The runtime that runs an agent, with its warm driver's capabilities when it runs warm (`turn`-only steering for one that no longer resolves). */
function runnerOf(ctx: Pick<Ctx, 'getSettings' | 'env'>, agentId: string): SteerRunner {
  try {
    const target = resolveInvokeTarget(ctx.getSettings(), agentId, ctx.env);
    return { runtime: target.runtime, warm: warmCapabilities(target) };
  } catch {
    return { runtime: 'unknown' };
  }
}

/** Several nodes: the last accepted pause/resume of a run another node holds. */
async function pausedElsewhere(ctx: Pick<Ctx, 'stores' | 'node'>, runId: string, conversationId: string): Promise<boolean> {
  if (ctx.node === undefined) return false;
  const events = await ctx.stores.events.readSince(0, { conversationId, runId, types: ['run.steered'] }, 10_000);
  return events.findLast((e) => e.data.accepted && (e.data.command === 'pause' || e.data.command === 'resume'))?.data.command === 'pause';
}
