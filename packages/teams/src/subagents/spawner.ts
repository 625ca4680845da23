/**
 * The run-scoped spawn entry point: `Orchestrator.spawn(parentRunId, …)`, used by the
 * `spawn_agent` tool of HTTP/mock agents, by the server route behind `tinyagi call` for CLI
 * agents, and by `SubAgent` / `SubAgentSession`.
 *
 * Contract:
 * - Admission (depth, children, concurrency, spawns, tree wall clock, tree budget) runs in
 *   process before anything is started; a refusal is a `rejected` run, a `subagent.rejected`
 *   event and an explicit result the parent can act on — never an exception in the parent.
 * - A child runs directly (not through the queue, so an agent may call itself or an ancestor
 *   without waiting for its own queue slot), one level deeper than its parent, with an abort
 *   signal linked to the parent's: cancelling the parent kills the child's process group.
 * - Every started child ends with exactly one terminal event (`subagent.completed` or
 *   `subagent.failed`, plus the matching `run.*`).
 * - The child's usage counts against the conversation, i.e. the whole tree: once the tree's
 *   spend reaches the conversation budget, running children are stopped and new ones refused.
 */
import { isInvokeError, newId, TERMINAL_RUN_STATUSES, TinyError, type RunRecord } from '@tinyagi/core';
import { effectiveBudgets, effectiveLimits, io, ownEntry, spendOf, type SpawnAgentArgs } from '../core-internal.ts';
import { checkBudgets } from '../guards/budgets.ts';
import { callersOf, chainFollowing, confinedByOf, reachRefusal, type RunChain } from '../guards/confinement.ts';
import { toReadable } from '../protocol/readable.ts';
import { subagentTask } from '../router/provenance.ts';
import { abortCause, linkedController } from '../orchestrator/abort.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { createRunWithEvent, finishRunWithEvent, treeFields } from '../orchestrator/lifecycle.ts';
import { runAgentTurns } from '../orchestrator/invoke-turns.ts';
import { admitSpawn, type SpawnRefusalCode } from './admission.ts';

export interface SpawnInput {
  agent: string;
  task: string;
  /** Reuse one child session (and its transcript) across calls with the same key. */
  session?: string | undefined;
  timeoutMs?: number | undefined;
}

export type SpawnFailureCode = SpawnRefusalCode | 'FAILED' | 'CANCELLED' | 'AGENT_NOT_FOUND' | 'CALL_NOT_ALLOWED';

export type SpawnResult = { ok: true; runId: string; text: string } | { ok: false; runId?: string; code: SpawnFailureCode; message: string };

/** Session keys of sub-agent sessions are scoped to the conversation tree. */
export function subagentSessionKey(conversationId: string, key: string): string {
  return `sub:${conversationId}:${key}`;
}

export async function spawnSubAgent(ctx: Ctx, parentRunId: string, input: SpawnInput): Promise<SpawnResult> {
  const { runs } = ctx.stores;
  const parent = await runs.getRun(parentRunId);
  if (!parent) throw new TinyError('RUN_NOT_FOUND', `No run with id ${parentRunId}.`, { hint: 'A sub-agent is spawned on behalf of a running run (TINYAGI_RUN_ID).' });
  if (TERMINAL_RUN_STATUSES.includes(parent.status)) {
    return { ok: false, code: parent.status === 'cancelled' ? 'CANCELLED' : 'FAILED', message: `the parent run ${parent.id} has already ended (${parent.status}).` };
  }
  const settings = ctx.getSettings();
  const agentId = input.agent.trim().replace(/^@/, '').toLowerCase();
  const conversation = await runs.mustGetConversation(parent.conversationId);
  const base = { conversationId: parent.conversationId, parentRunId: parent.id, agentId, teamId: parent.teamId, channel: parent.channel, cause: 'spawn' as const, input: input.task };

  const refuse = async (code: SpawnFailureCode, message: string, extra: { depth: number; maxDepth: number; limitName?: string; limit?: number; actual?: number }): Promise<SpawnResult> => {
    const runId = newId('run');
    await ctx.stores.transaction(function* refuseSpawn(tx) {
      const run = yield* createRunWithEvent(ctx, tx, { ...base, id: runId, depth: extra.depth, maxDepth: extra.maxDepth, status: 'rejected', error: message });
      yield* io(
        tx.stores.events.append({
          type: 'subagent.rejected',
          ...treeFields(run),
          data: { name: agentId, code, message, depth: extra.depth, maxDepth: extra.maxDepth, parentRunId: parent.id, limitName: extra.limitName, limit: extra.limit, actual: extra.actual },
        }),
      );
    });
    return { ok: false, runId, code, message };
  };

  if (ownEntry(settings.agents, agentId) === undefined) {
    return refuse('AGENT_NOT_FOUND', `there is no agent "${agentId}". Known agents: ${Object.keys(settings.agents ?? {}).join(', ') || 'none'}.`, {
      depth: parent.depth + 1,
      maxDepth: parent.maxDepth,
    });
  }
  // Who may call whom (agents.<id>.may_call of the caller and every agent up its chain): a refusal names whose setting.
  const parentChain = await chainOfRun(ctx, parent);
  const refused = reachRefusal(settings, { from: parent.agentId, ...parentChain }, agentId);
  if (refused) return refuse('CALL_NOT_ALLOWED', refused.message, { depth: parent.depth + 1, maxDepth: parent.maxDepth });
  if (conversation.status !== 'active') {
    return refuse('CANCELLED', `the conversation was ${conversation.status}${conversation.stopReason ? ` (${conversation.stopReason})` : ''}.`, { depth: parent.depth + 1, maxDepth: parent.maxDepth });
  }
  const parentLimits = effectiveLimits(settings, scope(parent.teamId, parent.agentId));
  const budgets = effectiveBudgets(settings, conversation.teamId ? { teamId: conversation.teamId } : {});
  const children = await ctx.stores.queries.spawnedChildren(parent.id);
  const admission = admitSpawn({
    parentDepth: parent.depth,
    parentMaxDepth: parent.maxDepth,
    childMaxDepth: effectiveLimits(settings, scope(parent.teamId, agentId)).max_depth,
    parentChildren: children.total,
    parentRunningChildren: children.running,
    conversationSpawns: conversation.spawnCount,
    treeCostUsd: conversation.costUsd,
    treeTokens: conversation.inputTokens + conversation.outputTokens,
    treeStartedAt: conversation.createdAt,
    limitScale: conversation.limitScale,
    now: Date.now(),
    limits: parentLimits,
    budgets,
  });
  if (!admission.ok) {
    return refuse(admission.code, admission.message, { depth: admission.depth, maxDepth: admission.maxDepth, limitName: admission.limitName, limit: admission.limit, actual: admission.actual });
  }

  const sessionKey = input.session ? subagentSessionKey(conversation.id, input.session) : undefined;
  const previous = sessionKey ? await ctx.stores.agentSessions.get(agentId, sessionKey) : undefined;
  const runId = newId('run');
  const run: RunRecord = await ctx.stores.transaction(function* startSpawn(tx) {
    const created = yield* createRunWithEvent(ctx, tx, { ...base, id: runId, depth: admission.depth, maxDepth: admission.maxDepth, status: 'running' });
    yield* io(tx.stores.runs.bumpConversation(conversation.id, { spawns: 1 }));
    yield* io(
      tx.stores.events.append({
        type: 'subagent.started',
        ...treeFields(created),
        data: { name: agentId, depth: admission.depth, maxDepth: admission.maxDepth, parentRunId: parent.id, session: input.session ?? null },
      }),
    );
    if (previous && previous.turns > 0 && input.session) {
      yield* io(tx.stores.events.append({ type: 'subagent.reused', ...treeFields(created), data: { name: agentId, session: input.session, turn: previous.turns + 1, parentRunId: parent.id } }));
    }
    return created;
  });

  const controller = linkedController(ctx.active.get(parent.id)?.controller.signal);
  // The child runs at least as confined as its caller (guards/confinement.ts): the caller's chain, and the caller when it is confined.
  const { confinedBy, callers } = chainFollowing(settings, parent.agentId, parentChain);
  ctx.active.set(run.id, { runId: run.id, agentId, conversationId: run.conversationId, startedAt: Date.now(), controller, messageIds: [], spawned: true, parentRunId: parent.id, confinedBy, callers });
  try {
    const result = await runAgentTurns(ctx, {
      run,
      prompt: subagentTask({ from: parent.agentId, depth: run.depth, task: input.task }),
      sessionKey: sessionKey ?? `run:${run.id}`,
      teamId: run.teamId,
      signal: controller.signal,
      timeoutMs: input.timeoutMs ?? parentLimits.child_timeout_s * 1000,
      confinedBy,
      callers,
      spawnAgent: (args) => spawnForTool(ctx, run.id, args),
    });
    const text = toReadable(result.text, { self: agentId }).text;
    const finished = await ctx.stores.transaction(function* finishSpawn(tx) {
      if (!(yield* finishRunWithEvent(ctx, tx, run, { status: 'completed', output: text, usage: result.usage, costUsd: result.costUsd }))) return false;
      if (sessionKey) {
        for (const exchange of result.exchanges)
          yield* io(
            tx.stores.agentSessions.recordTurn(agentId, sessionKey, {
              provider: result.provider,
              sessionId: result.sessionId,
              instructionsHash: result.instructionsHash,
              runtimeState: result.runtimeState,
              node: ctx.node,
              ...exchange,
            }),
          );
      }
      yield* io(
        tx.stores.agentMessages.appendMany([
          { agentId, role: 'user', channel: 'subagent', sender: `@${parent.agentId}`, runId: run.id, conversationId: run.conversationId, content: input.task },
          { agentId, role: 'assistant', channel: 'subagent', sender: `@${agentId}`, runId: run.id, conversationId: run.conversationId, content: text },
        ]),
      );
      return true;
    });
    await enforceTreeBudget(ctx, run.conversationId);
    if (!finished) return stoppedResult(run.id, abortCause(controller.signal));
    return { ok: true, runId: run.id, text };
  } catch (err) {
    const cause = abortCause(controller.signal);
    const timedOut = !cause && isInvokeError(err) && err.kind === 'timeout';
    const message = err instanceof Error ? err.message : String(err);
    // A failed attempt is paid for: its reported usage counts against the budgets like any other.
    const spend = spendOf(err);
    await ctx.stores.transaction(function* failSpawn(tx) {
      // Usage accounting (an observer) adds the failed attempt's spend to the conversation.
      yield* finishRunWithEvent(ctx, tx, run, {
        status: cause ? 'cancelled' : 'failed',
        usage: spend?.usage,
        costUsd: spend?.costUsd,
        error: cause === 'budget' ? 'stopped: the conversation budget is exhausted' : cause ? `cancelled (${cause})` : message,
      });
    });
    if (cause) return stoppedResult(run.id, cause);
    return { ok: false, runId: run.id, code: timedOut ? 'TIMEOUT' : 'FAILED', message: timedOut ? `the sub-agent @${agentId} timed out: ${message}` : `the sub-agent @${agentId} failed: ${message}` };
  } finally {
    ctx.active.delete(run.id);
    ctx.steering.forget(run.id);
  }
}

/** What `chainOfRun` reads: this node's running attempts when the caller has them, and the stores. */
export interface RunChainSource {
  active?: Ctx['active'];
  stores: Pick<Ctx['stores'], 'runs' | 'queue'>;
  getSettings: Ctx['getSettings'];
}

/**
 * `run`'s chain (its confiners and its callers): what its running attempt holds on this node, else
 * read back from the store (a run started on another node, or a caller without the running
 * attempts: the workflow engine): a child's from its parent's chain, a queue run's from the
 * messages it answers.
 */
export async function chainOfRun(ctx: RunChainSource, run: RunRecord, hops = 0): Promise<RunChain> {
  const active = ctx.active?.get(run.id);
  if (active) return { confinedBy: active.confinedBy ?? [], callers: active.callers ?? [] };
  if (hops > 64) return { confinedBy: [], callers: [] };
  if (run.cause === 'spawn' && run.parentRunId) {
    const parent = await ctx.stores.runs.getRun(run.parentRunId);
    return parent ? chainFollowing(ctx.getSettings(), parent.agentId, await chainOfRun(ctx, parent, hops + 1)) : { confinedBy: [], callers: [] };
  }
  const messages = (await Promise.all(run.messageIds.map((id) => ctx.stores.queue.get(id)))).filter((m) => m !== undefined);
  return { confinedBy: confinedByOf(messages), callers: callersOf(messages) };
}

/** What the `spawn_agent` tool hands back to a model: the answer, or the refusal in words. */

export async function spawnForTool(ctx: Ctx, parentRunId: string, args: SpawnAgentArgs): Promise<string> {
  const result = await spawnSubAgent(ctx, parentRunId, args);
  if (result.ok) return result.text;
  return `[spawn_agent ${result.code}] ${result.message}`;
}

/**
 * Stops the running sub-agents of a conversation once the tree's spend has reached its
 * budget; their callers get BUDGET_EXCEEDED. Queue runs are left to the dispatch guard, which
 * stops the conversation before anything else is dispatched.
 */
export async function enforceTreeBudget(ctx: Ctx, conversationId: string): Promise<void> {
  const conversation = await ctx.stores.runs.getConversation(conversationId);
  if (!conversation) return;
  const budgets = effectiveBudgets(ctx.getSettings(), conversation.teamId ? { teamId: conversation.teamId } : {});
  const exceeded = checkBudgets(budgets, { conversation });
  if (!exceeded) return;
  const victims = [...ctx.active.values()].filter((a) => a.spawned && a.conversationId === conversationId && !a.controller.signal.aborted);
  if (victims.length === 0) return;
  await ctx.stores.events.append({
    type: 'budget.exceeded',
    conversationId,
    agentId: conversation.rootAgentId,
    data: { limitName: exceeded.limitName, limit: exceeded.limit, actual: exceeded.actual, message: exceeded.message, action: 'stop-subagents', runs: victims.map((v) => v.runId) },
  });
  for (const victim of victims) victim.controller.abort('budget');
}

function stoppedResult(runId: string, cause: ReturnType<typeof abortCause>): SpawnResult {
  if (cause === 'budget') return { ok: false, runId, code: 'BUDGET_EXCEEDED', message: 'the sub-agent was stopped: the conversation budget is exhausted.' };
  return { ok: false, runId, code: 'CANCELLED', message: cause === 'shutdown' ? 'the sub-agent was stopped because TinyAGI is shutting down.' : 'the sub-agent was cancelled.' };
}

function scope(teamId: string | null, agentId: string): { teamId?: string; agentId: string } {
  return teamId ? { teamId, agentId } : { agentId };
}
