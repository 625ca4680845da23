/**
 * Run lifecycle with its events. Every run gets `run.queued` or `run.started` when it is created,
 * `run.started` when it first runs, and exactly one terminal event (`finishRun` changes a run
 * only once, and the event is written only when it did). Sub-agent runs also get their
 * `subagent.*` terminal event. These are parts of transaction bodies (`yield*` them with the
 * body's `tx`), so state and events commit together.
 */
import type { RunRecord, RunStatus, Usage } from '@tinyagi/core';
import { agentProvider, io, ownEntry, spendOf, type AttemptSpend, type CreateRunInput, type EventPayloadInput, type StoreTransaction, type TxSteps } from '@tinyagi/core/internal';
import type { Ctx } from './context.ts';

type RunRef = Pick<RunRecord, 'id' | 'conversationId' | 'parentRunId' | 'depth' | 'agentId'>;

export function treeFields(run: RunRef): { conversationId: string; runId: string; parentRunId: string | null; depth: number; agentId: string } {
  return { conversationId: run.conversationId, runId: run.id, parentRunId: run.parentRunId, depth: run.depth, agentId: run.agentId };
}

export function* createRunWithEvent(ctx: Ctx, tx: StoreTransaction, input: CreateRunInput & { id: string }, data: Pick<EventPayloadInput<'run.queued'>, 'from' | 'hop'> = {}): TxSteps<RunRecord> {
  const run = yield* io(tx.stores.runs.createRun({ ...input, provider: input.provider ?? providerOf(ctx, input.agentId) }));
  const type = run.status === 'rejected' ? 'run.rejected' : run.status === 'running' ? 'run.started' : 'run.queued';
  yield* io(tx.stores.events.append({ type, ...treeFields(run), data: { cause: run.cause, messageIds: run.messageIds, ...(run.error ? { error: run.error } : {}), ...data } }));
  return run;
}

/** The provider the agent runs on now (as the invoker resolves it), for usage by provider. */
function providerOf(ctx: Ctx, agentId: string): string {
  const settings = ctx.getSettings();
  return agentProvider(settings, ownEntry(settings.agents, agentId) ?? {});
}

/** queued -> running (with `run.started`); a retried run that is already running stays silent. */
export function* markStarted(tx: StoreTransaction, run: RunRecord, messageIds: string[]): TxSteps<void> {
  yield* io(tx.stores.runs.startRun(run.id, { messageIds }));
  if (run.status === 'queued') yield* io(tx.stores.events.append({ type: 'run.started', ...treeFields(run), data: { cause: run.cause, messageIds } }));
}

export type TerminalStatus = Exclude<RunStatus, 'queued' | 'running'>;

export interface FinishInput {
  status: TerminalStatus;
  output?: string | null;
  usage?: Usage | undefined;
  costUsd?: number | undefined;
  error?: string | null;
  /** Extra fields of the run's end event (the event map declares which). */
  data?: Pick<EventPayloadInput<'run.completed'>, 'reason' | 'mergedInto' | 'rule'>;
}

/** Finishes the run once; returns false (and writes nothing) if it had already ended. */
export function* finishRunWithEvent(ctx: Ctx, tx: StoreTransaction, run: RunRecord, input: FinishInput): TxSteps<boolean> {
  const changed = yield* io(
    tx.stores.runs.finishRun(run.id, {
      status: input.status,
      output: input.output ?? null,
      usage: input.usage,
      costUsd: input.costUsd,
      error: input.error ?? null,
    }),
  );
  if (!changed) return false;
  // An ended run takes no more steering; its saved state goes once this commits.
  tx.onCommit(() => ctx.steering.forget(run.id));
  const totals = {
    inputTokens: run.inputTokens + (input.usage?.inputTokens ?? 0),
    outputTokens: run.outputTokens + (input.usage?.outputTokens ?? 0),
    costUsd: run.costUsd + (input.costUsd ?? 0),
  };
  const data = { cause: run.cause, ...totals, ...(input.error ? { error: input.error } : {}), ...input.data };
  yield* io(tx.stores.events.append({ type: `run.${input.status}`, ...treeFields(run), data }));
  if (run.cause === 'spawn' && input.status !== 'rejected') {
    yield* io(
      tx.stores.events.append({
        type: input.status === 'completed' ? 'subagent.completed' : 'subagent.failed',
        ...treeFields(run),
        data: { name: run.agentId, depth: run.depth, parentRunId: run.parentRunId, status: input.status, ...totals, ...(input.error ? { error: input.error } : {}) },
      }),
    );
  }
  return true;
}

/**
 * Records what a failed attempt spent (usage a CLI reported on its error result) on the run and
 * its conversation, so budgets count every attempt. Returns the spend, or undefined if none.
 */
export async function recordAttemptSpend(ctx: Ctx, run: RunRecord, err: unknown): Promise<AttemptSpend | undefined> {
  const spend = spendOf(err);
  if (!spend) return undefined;
  await ctx.stores.transaction(function* recordAttemptSpend(tx) {
    yield* io(tx.stores.runs.addUsage(run.id, spend.usage, spend.costUsd));
    yield* io(tx.stores.runs.bumpConversation(run.conversationId, { ...spend.usage, costUsd: spend.costUsd }));
  });
  return spend;
}

/** Runs answered together with a run that was cancelled end with it. */
export function* closeMerged(ctx: Ctx, tx: StoreTransaction, merged: readonly RunRecord[], primaryRunId: string): TxSteps<void> {
  for (const run of merged) yield* finishRunWithEvent(ctx, tx, run, { status: 'cancelled', error: `answered together with run ${primaryRunId}, which was cancelled` });
}
