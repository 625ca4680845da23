/**
 * Run lifecycle, told to the observers (core's observer seam, docs/observers.md). A run is
 * created, started, and ended exactly once (`finishRun` changes a run only once, and the
 * observers hear of it only when it did). These are parts of transaction bodies (`yield*` them
 * with the body's `tx`): the observers' records (the event log's `run.*` events, usage
 * accounting: observers.ts) run inside the same transaction, so state, events and totals commit
 * together; their notifications follow the commit.
 */
import type { AttemptFailedEvent, ObserverList, RunEndedEvent, RunRecord, RunStatus, Usage } from '@tinyagi/core';
import { errorMessage } from '@tinyagi/core';
import {
  agentModel,
  agentProvider,
  classifyFailure,
  io,
  ownEntry,
  spendOf,
  type AttemptSpend,
  type CreateRunInput,
  type EventPayloadInput,
  type StoreTransaction,
  type TxSteps,
} from '../core-internal.ts';
import type { Ctx, LifecycleCtx } from './context.ts';

export type { LifecycleCtx } from './context.ts';

type RunRef = Pick<RunRecord, 'id' | 'conversationId' | 'parentRunId' | 'depth' | 'agentId'>;

export function treeFields(run: RunRef): { conversationId: string; runId: string; parentRunId: string | null; depth: number; agentId: string } {
  return { conversationId: run.conversationId, runId: run.id, parentRunId: run.parentRunId, depth: run.depth, agentId: run.agentId };
}

export function* createRunWithEvent(
  ctx: Pick<Ctx, 'observers' | 'getSettings'>,
  tx: StoreTransaction,
  input: CreateRunInput & { id: string },
  data: Pick<EventPayloadInput<'run.queued'>, 'from' | 'hop'> = {},
): TxSteps<RunRecord> {
  const run = yield* io(tx.stores.runs.createRun(withProvider(ctx, input)));
  yield* runCreated(ctx, tx, run, data);
  return run;
}

/** The run input with the provider and model its agent runs on now, unless it names them. */
export function withProvider<T extends CreateRunInput>(ctx: Pick<Ctx, 'getSettings'>, input: T): T {
  return { ...input, provider: input.provider ?? providerOf(ctx, input.agentId), model: input.model ?? agentModel(ctx.getSettings(), input.agentId) };
}

/** What follows a run's creation (its `run.queued`/`run.started`/`run.rejected` record and notifications), for a run created another way (`createConversationWithRun`). */
export function* runCreated(ctx: Pick<Ctx, 'observers'>, tx: StoreTransaction, run: RunRecord, data: Pick<EventPayloadInput<'run.queued'>, 'from' | 'hop'> = {}): TxSteps<void> {
  const { observers } = ctx;
  yield* observers.record('runCreated', { run, from: data.from, hop: data.hop }, tx);
  if (run.status === 'running' && observers.listening('runStarted')) {
    tx.onCommit(() => observers.notify('runStarted', { run, messageIds: run.messageIds, changed: true }));
  } else if (run.status === 'rejected' && observers.listening('runEnded')) {
    const ended: RunEndedEvent = { run, status: 'rejected', usage: undefined, costUsd: undefined, totals: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, error: run.error };
    tx.onCommit(() => observers.notify('runEnded', ended));
  }
}

/** The provider the agent runs on now (as the invoker resolves it), for usage by provider. */
function providerOf(ctx: Pick<Ctx, 'getSettings'>, agentId: string): string {
  const settings = ctx.getSettings();
  return agentProvider(settings, ownEntry(settings.agents, agentId) ?? {});
}

/**
 * What a run's start (queued -> running, start-group.ts) tells: the record observers (its
 * `run.started`) in the start's transaction, the others once it committed; a retried run that is
 * already running stays silent.
 */
export function* recordStarted(ctx: Pick<Ctx, 'observers'>, tx: StoreTransaction, run: RunRecord, messageIds: string[]): TxSteps<void> {
  const { observers } = ctx;
  const event = { run, messageIds, changed: run.status === 'queued' };
  yield* observers.record('runStarted', event, tx);
  if (observers.listening('runStarted')) tx.onCommit(() => observers.notify('runStarted', event));
}

export type TerminalStatus = Exclude<RunStatus, 'queued' | 'running'>;

export interface FinishInput {
  status: TerminalStatus;
  output?: string | null;
  usage?: Usage | undefined;
  costUsd?: number | undefined;
  error?: string | null;
  /** Extra fields of the run's end event (the event map declares which). */
  data?: Pick<EventPayloadInput<'run.completed'>, 'reason' | 'mergedInto' | 'limitName'>;
}

/** Finishes the run once; returns false (and writes nothing) if it had already ended. */
export function* finishRunWithEvent(ctx: LifecycleCtx, tx: StoreTransaction, run: RunRecord, input: FinishInput): TxSteps<boolean> {
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
  const { observers, steering } = ctx;
  const totals = {
    inputTokens: run.inputTokens + (input.usage?.inputTokens ?? 0),
    outputTokens: run.outputTokens + (input.usage?.outputTokens ?? 0),
    costUsd: run.costUsd + (input.costUsd ?? 0),
  };
  const event: RunEndedEvent = { run, status: input.status, usage: input.usage, costUsd: input.costUsd, totals, error: input.error ?? null, detail: input.data };
  yield* observers.record('runEnded', event, tx);
  // An ended run takes no more steering; its saved state goes once this commits.
  tx.onCommit(
    observers.listening('runEnded')
      ? () => {
          steering.forget(run.id);
          observers.notify('runEnded', event);
        }
      : () => steering.forget(run.id),
  );
  return true;
}

/**
 * Records what a failed attempt spent (usage a CLI reported on its error result): the observers'
 * `attemptFailed` records run in a transaction of their own (usage accounting adds it to the run
 * and its conversation, so budgets count every attempt). Only an attempt that reported spend
 * opens one. Returns the spend, or undefined if none.
 */
export async function recordAttemptSpend(ctx: Pick<Ctx, 'observers' | 'stores'>, run: RunRecord, err: unknown): Promise<AttemptSpend | undefined> {
  const spend = spendOf(err);
  if (!spend) return undefined;
  const { observers } = ctx;
  if (observers.recording('attemptFailed')) {
    const event = attemptFailedEvent(run, err, spend);
    await ctx.stores.transaction(function* recordAttemptSpend(tx) {
      yield* observers.record('attemptFailed', event, tx);
    });
  }
  return spend;
}

/** Tells the observers that an attempt failed and goes back to the queue (which retries it or gives up). */
export function notifyAttemptFailed(observers: ObserverList<StoreTransaction>, run: RunRecord, err: unknown): void {
  if (observers.listening('attemptFailed')) observers.notify('attemptFailed', attemptFailedEvent(run, err, spendOf(err)));
}

function attemptFailedEvent(run: RunRecord, err: unknown, spend: AttemptSpend | undefined): AttemptFailedEvent {
  return { run, error: errorMessage(err), errorClass: classifyFailure(err).reason ?? 'failed', usage: spend?.usage, costUsd: spend?.costUsd };
}

/** Runs answered together with a run that was cancelled end with it. */
export function* closeMerged(ctx: LifecycleCtx, tx: StoreTransaction, merged: readonly RunRecord[], primaryRunId: string): TxSteps<void> {
  for (const run of merged) yield* finishRunWithEvent(ctx, tx, run, { status: 'cancelled', error: `answered together with run ${primaryRunId}, which was cancelled` });
}
