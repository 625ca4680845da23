/**
 * Keeps runs consistent with the queue when work ended outside the normal path:
 * - a message that went to the dead-letter queue (permanent failure, attempts exhausted, a
 *   crashed worker's lease expiring too often) fails its run, tells the human and lets the
 *   conversation complete;
 * - at start, sub-agent runs left `running` by a previous process are failed (their parent's
 *   message is retried and spawns them again), and runs whose messages are gone are closed.
 */
import type { RunRecord } from '@tinyagi/core';
import { noteKey, toHuman } from '../conversations/replies.ts';
import { readMeta } from '../router/provenance.ts';
import type { Ctx } from './context.ts';
import { completeIfDone } from './conversation-ops.ts';
import { finishRunWithEvent } from './lifecycle.ts';

export function onMessageDead(ctx: Ctx, messageId: string, reason: string): void {
  const message = ctx.stores.queue.get(messageId);
  const meta = message ? readMeta(message) : undefined;
  const run = meta ? ctx.stores.runs.getRun(meta.runId) : undefined;
  if (!message || !run) return;
  ctx.stores.db.write(() => {
    if (finishRunWithEvent(ctx, run, { status: 'failed', error: reason })) {
      const conversation = ctx.stores.runs.getConversation(run.conversationId);
      if (conversation) {
        ctx.stores.outbox.enqueue(
          toHuman(conversation, {
            key: noteKey(conversation.id, `dead:${messageId}:${message.attempts}`),
            kind: 'note',
            runId: run.id,
            agentId: run.agentId,
            text: `@${run.agentId} could not answer: ${reason}. The message is kept with the dead letters; retry it with \`tinyagi queue retry ${messageId}\` once the problem is fixed.`,
          }),
        );
      }
    }
    completeIfDone(ctx, run.conversationId);
  });
}

/** Closes runs no process can finish any more. Called once when the orchestrator starts. */
export function reconcileOpenRuns(ctx: Ctx): number {
  let closed = 0;
  for (const open of ctx.stores.queries.openRuns()) {
    if (ctx.active.has(open.id)) continue;
    const run = ctx.stores.runs.getRun(open.id);
    if (!run) continue;
    const outcome = orphanOutcome(ctx, run);
    if (!outcome) continue;
    ctx.stores.db.write(() => {
      if (finishRunWithEvent(ctx, run, outcome)) closed++;
      completeIfDone(ctx, run.conversationId);
    });
  }
  return closed;
}

function orphanOutcome(ctx: Ctx, run: RunRecord): { status: 'failed' | 'cancelled'; error: string } | undefined {
  if (run.cause === 'spawn') {
    return run.status === 'running' ? { status: 'failed', error: 'TinyAGI restarted while this sub-agent was running; its parent is retried.' } : undefined;
  }
  if (run.messageIds.length === 0) return undefined;
  const statuses = run.messageIds.map((id) => ctx.stores.queries.messageStatus(id));
  if (statuses.some((s) => s === 'pending' || s === 'processing')) return undefined;
  if (statuses.includes('cancelled')) return { status: 'cancelled', error: 'its message was cancelled' };
  if (statuses.includes('dead')) return { status: 'failed', error: 'its message is in the dead-letter queue' };
  return { status: 'failed', error: 'its message was finished without an answer' };
}
