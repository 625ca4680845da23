/**
 * Keeps runs consistent with the queue when work ended outside the normal path:
 * - a message that went to the dead-letter queue (permanent failure, attempts exhausted, a
 *   crashed worker's lease expiring too often) fails its run, tells the human and lets the
 *   conversation complete;
 * - at start, sub-agent runs left `running` by a previous process are failed (their parent's
 *   message is retried and spawns them again), and runs whose messages are gone are closed.
 */
import { clause, type RunRecord } from '@tinyagi/core';
import { io, type TransactionalStores, type TxSteps } from '../core-internal.ts';
import { noteKey, toHuman } from '../conversations/replies.ts';
import type { Ctx, LifecycleCtx } from './context.ts';
import { completeIfDone, runOfMessage } from './conversation-ops.ts';
import { finishRunWithEvent } from './lifecycle.ts';

export async function onMessageDead(ctx: LifecycleCtx & Pick<Ctx, 'stores'>, messageId: string, reason: string): Promise<void> {
  await ctx.stores.transaction(function* onMessageDead(tx) {
    const message = yield* io(tx.stores.queue.get(messageId));
    // The run answering it now: a dead letter retried by hand runs in a new run, not its first.
    const run = message ? yield* runOfMessage(tx.stores, message) : undefined;
    if (!message || !run) return;
    if (yield* finishRunWithEvent(ctx, tx, run, { status: 'failed', error: reason })) {
      const conversation = yield* io(tx.stores.runs.getConversation(run.conversationId));
      if (conversation) {
        yield* io(
          tx.stores.outbox.enqueue(
            toHuman(conversation, {
              key: noteKey(conversation.id, `dead:${messageId}:${run.id}`),
              kind: 'note',
              runId: run.id,
              agentId: run.agentId,
              text: `@${run.agentId} could not answer: ${clause(reason)}. The message is kept with the dead letters: once the problem is fixed, retry it from Dead letters on TinyOffice's Control page or with \`tinyagi queue retry ${messageId}\`.`,
            }),
          ),
        );
      }
    }
    yield* completeIfDone(tx, run.conversationId);
  });
}

/** Closes runs no process can finish any more. Called when the orchestrator starts (and, with several nodes, when a dead node's work was released). */
export async function reconcileOpenRuns(ctx: LifecycleCtx & Pick<Ctx, 'stores' | 'active'>): Promise<number> {
  let closed = 0;
  for (const open of await ctx.stores.queries.openRuns()) {
    if (ctx.active.has(open.id)) continue;
    await ctx.stores.transaction(function* closeOrphan(tx) {
      const run = yield* io(tx.stores.runs.getRun(open.id));
      if (!run) return;
      const outcome = yield* orphanOutcome(tx.stores, run, ctx.stores.backend === 'postgres');
      if (!outcome) return;
      if (yield* finishRunWithEvent(ctx, tx, run, outcome)) closed++;
      yield* completeIfDone(tx, run.conversationId);
    });
  }
  return closed;
}

function* orphanOutcome(stores: TransactionalStores, run: RunRecord, shared: boolean): TxSteps<{ status: 'failed' | 'cancelled'; error: string } | undefined> {
  if (run.cause === 'spawn') {
    if (run.status !== 'running') return undefined;
    // One process (SQLite): every sub-agent run left running belongs to a process that is gone.
    // Several nodes (PostgreSQL): only those whose parent's message is no longer processing (its
    // node died and the message went back to the queue or ended); a live node's are left alone.
    if (shared && (yield* parentStillProcessing(stores, run))) return undefined;
    return { status: 'failed', error: 'TinyAGI restarted while this sub-agent was running; its parent is retried.' };
  }
  if (run.messageIds.length === 0) return undefined;
  const statuses: Array<string | undefined> = [];
  for (const id of run.messageIds) statuses.push(yield* io(stores.queries.messageStatus(id)));
  if (statuses.some((s) => s === 'pending' || s === 'processing')) return undefined;
  if (statuses.includes('cancelled')) return { status: 'cancelled', error: 'its message was cancelled' };
  if (statuses.includes('dead')) return { status: 'failed', error: 'its message is in the dead-letter queue' };
  return { status: 'failed', error: 'its message was finished without an answer' };
}

/** Whether the message behind a sub-agent run (its nearest ancestor run with messages) is being processed. */
function* parentStillProcessing(stores: TransactionalStores, run: RunRecord): TxSteps<boolean> {
  let current: RunRecord | undefined = run;
  for (let hops = 0; current && current.messageIds.length === 0 && current.parentRunId && hops < 64; hops++) {
    current = yield* io(stores.runs.getRun(current.parentRunId));
  }
  if (!current) return false;
  for (const id of current.messageIds) if ((yield* io(stores.queries.messageStatus(id))) === 'processing') return true;
  return false;
}
