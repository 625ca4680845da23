/**
 * The `task_rounds` approval of a task whose checks failed after all its rounds (docs/git-tasks.md,
 * "When the rounds run out"). The request's id (roundsApprovalId) is recorded on the task
 * (`task.git.roundsApproval`) before the request is made (the Checking's `needs_person` write);
 * `requestRoundsApproval` makes it with that id unless it exists (`createOnce`), so the step and a
 * start after a crash make it once, and a restart finds the pending one. It is run-less (no run, no session) and never expires: it waits
 * for a person, however long (the desk's restart leaves it pending). Its answer: rounds-step.ts.
 */
import { createHash } from 'node:crypto';
import type { ProjectRepo } from '@tinyagi/client/contract';
import type { ApprovalRecord, ApprovalStoreApi, EventLogApi, TaskRecord } from './core.ts';

/**
 * The id of the request a task's rounds ask now: derived from the task, its rounds and the request
 * asked before (if any), so two nodes (or a step run twice) that reach the same point name the same
 * request and `createOnce` makes one; a later ask of the same task (after a stop and a new start)
 * gets another. Shaped like every id (`apr_` and 26 characters, within a chat button's data).
 */
export function roundsApprovalId(taskId: string, rounds: number, previousId: string | undefined): string {
  return `apr_${createHash('sha256')
    .update(`task_rounds\0${taskId}\0${rounds}\0${previousId ?? ''}`)
    .digest('hex')
    .slice(0, 26)}`;
}

export interface RoundsApprovalDeps {
  approvals: Pick<ApprovalStoreApi, 'createOnce'>;
  events: Pick<EventLogApi, 'append'>;
  projectId: string;
  repo: ProjectRepo;
}

/**
 * Makes the task's recorded `task_rounds` request unless it exists (`failing`: what still fails, when
 * not the recorded Checking's missing facts); `approval.requested` and
 * `task.rounds_exhausted` are appended when it was made now. Undefined when the task records none.
 */
export async function requestRoundsApproval(deps: RoundsApprovalDeps, task: TaskRecord, failing?: string[]): Promise<{ approval: ApprovalRecord; created: boolean } | undefined> {
  const asked = task.git?.roundsApproval;
  if (asked === undefined) return undefined;
  const identifier = task.identifier ?? task.id;
  const rounds = task.git?.rounds ?? 0;
  // What still fails: the Checking's missing facts, or (the forge's read) the pull request's failed check runs.
  const missing = failing ?? task.git?.check?.missing ?? [];
  const what = missing.length === 0 ? 'its facts still do not hold' : missing.join(' ');
  const summary = `${identifier} ${task.title}: still not done after ${rounds} ${rounds === 1 ? 'round' : 'rounds'}. ${what}`.replace(/\s+/g, ' ').trim();
  const { record, created } = await deps.approvals.createOnce({
    id: asked.id,
    kind: 'task_rounds',
    agentId: task.assigneeAgent ?? task.assigneeTeam ?? 'tasks',
    runId: null,
    conversationId: task.conversationId,
    sessionKey: null,
    taskId: task.id,
    tool: 'task_rounds',
    input: { taskId: task.id, identifier, title: task.title, projectId: deps.projectId, rounds, moreRounds: deps.repo.maxRounds, missing },
    summary: summary.length > 300 ? `${summary.slice(0, 300)}…` : summary,
    requestedAt: asked.requestedAt,
    expiresAt: null,
  });
  if (created) {
    await deps.events.append({ type: 'approval.requested', conversationId: record.conversationId, agentId: record.agentId, data: { approval: record } });
    await deps.events.append({ type: 'task.rounds_exhausted', data: { taskId: task.id, identifier, projectId: deps.projectId, rounds, missing, approvalId: record.id } });
  }
  return { approval: record, created };
}
