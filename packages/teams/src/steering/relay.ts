/**
 * Steering across nodes (PostgreSQL, several nodes). A steering board lives in the process that
 * runs a run; a command that reaches another node (the API node, which TinyOffice and the CLI
 * talk to) is relayed through the shared event log: `run.steer_requested` with a request id and
 * an expiry, which every node receives; the node that runs the run applies it to its board and
 * answers with `run.steered` carrying the same request id. The sender waits for that answer (until
 * the expiry plus a grace for delivery) and returns it; without one it answers the command
 * itself, refused. A request that arrives after its expiry is ignored, so a late apply never
 * contradicts the refusal the sender gave (node clocks are assumed within a second of each other).
 */
import { newId, type EventOf, type RunRecord, type TinyEvent } from '@tinyagi/core';
import type { EventInput, SteerCommand } from '../core-internal.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { treeFields } from '../orchestrator/lifecycle.ts';
import type { SteerOutcome } from './steering.ts';

/** How long the sender waits for the node running the run, and the grace for delivery after it. */
export const DEFAULT_RELAY_TIMEOUT_MS = 5_000;
const DELIVERY_GRACE_MS = 1_000;

/** Sends `command` to the node that runs `run` and resolves with its answer. */
export async function relaySteer(ctx: Ctx, run: RunRecord, command: SteerCommand, payload: SteerPayload, timeoutMs: number): Promise<SteerOutcome & { effect?: string }> {
  const requestId = newId('steer');
  const expiresAt = Date.now() + timeoutMs;
  let settle!: (result: (SteerOutcome & { effect?: string }) | undefined) => void;
  const answered = new Promise<(SteerOutcome & { effect?: string }) | undefined>((resolve) => (settle = resolve));
  // Subscribed before the request is written: the answer cannot slip past.
  const unsubscribe = ctx.stores.events.subscribe((event: TinyEvent) => {
    if (event.type !== 'run.steered' || event.data.requestId !== requestId) return;
    settle(
      event.data.accepted ? { accepted: true, ...(event.data.effect ? { effect: event.data.effect } : {}) } : { accepted: false, reason: event.data.reason ?? 'refused by the node running the run' },
    );
  });
  const timer = setTimeout(() => settle(undefined), timeoutMs + DELIVERY_GRACE_MS);
  try {
    await ctx.stores.events.append({
      type: 'run.steer_requested',
      ...treeFields(run),
      data: { command, ...(payload.text ? { text: payload.text } : {}), requestId, expiresAt, fromNode: ctx.node ?? '', ...(payload.by ? { by: payload.by } : {}) },
    });
    const result = await answered;
    if (result) return result;
    const refused = { accepted: false, reason: `no node running the run answered within ${Math.round(timeoutMs / 1000)} s (it may just have ended or been handed back to the queue)` } as const;
    await ctx.stores.events.append(steeredEvent(run, command, refused, payload, requestId));
    return refused;
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}

/** What came with a command: its text (inject, redirect, a cancel's reason) and who sent it. */
export interface SteerPayload {
  text?: string;
  by?: string;
}

/** The `run.steered` event answering a command (with the request id of a relayed one). */
export function steeredEvent(
  run: RunRecord,
  command: SteerCommand,
  outcome: { accepted: boolean; reason?: string | undefined; effect?: string | undefined },
  payload: SteerPayload,
  requestId?: string,
): EventInput {
  return {
    type: 'run.steered',
    ...treeFields(run),
    data: {
      command,
      accepted: outcome.accepted,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      ...(payload.text ? { text: payload.text } : {}),
      ...(requestId ? { requestId } : {}),
      ...(payload.by ? { by: payload.by } : {}),
      ...(outcome.effect ? { effect: outcome.effect } : {}),
    },
  };
}

/**
 * A relayed command this node should apply: it runs the run, and the request has not expired.
 * (The sender's own request comes back to it too; it does not run the run, so it is skipped.)
 */
export function relayedToThisNode(ctx: Ctx, event: TinyEvent): event is EventOf<'run.steer_requested'> {
  return event.type === 'run.steer_requested' && event.runId !== null && event.runId !== undefined && ctx.active.has(event.runId) && Date.now() <= event.data.expiresAt;
}
