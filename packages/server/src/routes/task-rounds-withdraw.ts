/**
 * A task that waited for a person after its rounds (docs/git-tasks.md, "Built (slice 7): the rounds
 * approval"), moved or deleted by a person: its `task_rounds` request is withdrawn. A module of its
 * own: the tasks routes import it, and task-rounds.ts imports them.
 */
import type { TaskRecord } from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';

/**
 * A person moved (or deleted) a task that waited for them after its rounds: its pending request
 * has nothing left to decide, so it is cancelled ("the task was moved to todo by hand"), and every
 * surface settles it (`approval.decided`). Called after a person's PATCH, reorder or delete, and
 * (`why`) after a person's request for changes or a merge of a task waiting in Review.
 */
export async function withdrawRoundsRequest(ctx: ServerContext, before: TaskRecord, after: TaskRecord | undefined, why?: string): Promise<void> {
  const asked = before.git?.roundsApproval;
  // Waiting in Checking, or in Review (its pull request's failed check runs: forge-step.ts).
  const waiting = before.status === 'checking' || (before.status === 'review' && before.git?.pullRequest !== undefined);
  if (!waiting || asked === undefined || asked.decision !== undefined || (after !== undefined && after.status === before.status)) return;
  const reason = why ?? (after === undefined ? 'the task was deleted' : `the task was moved to ${after.status} by hand`);
  const done = await ctx.stores.approvals.decide(asked.id, { status: 'cancelled', decision: null, decidedBy: 'tasks', reason, decidedAt: Date.now() });
  if (done) await ctx.stores.events.append({ type: 'approval.decided', conversationId: done.conversationId, agentId: done.agentId, data: { approval: done } });
}
