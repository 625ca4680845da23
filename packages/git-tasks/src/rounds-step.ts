/**
 * The person asked after a task's last round (docs/git-tasks.md, "When the rounds run out"): the
 * `task_rounds` approval, and carrying out its answer. Contract:
 * - The request (rounds-request.ts) is made once, also across a crash, and never expires.
 * - An answer is taken at the desk (the first wins, in the database); `carryOutRoundsAnswer` then
 *   acts on the task, and only while the task still waits for that request (in `checking`,
 *   `needs_person`, the same id; or in `review` with a pull request whose failed check runs wait
 *   for it, not answered yet: forge-step.ts), so carrying it out again (after a crash, at start)
 *   does nothing twice:
 *   - `more_rounds`: the task's `roundsLimit` becomes its rounds plus the rounds given, and the
 *     round goes to the owner as any round (sendRoundFeedback: the failures not sent before, keyed
 *     so a retry finds the message sent), back to `in_progress`; a task waiting in Review gets the
 *     limit only, and the forge's next read sends the held-back check runs;
 *   - `take_over`: `in_progress`, assigned to nobody (a person works in the worktree; no agent is
 *     sent anything);
 *   - `stop`: back to `todo` (its assignee kept), out of the loop.
 *   The worktree is kept either way; `task.rounds_answered` is appended once carried out.
 */
import type { ApprovalDecision, ProjectRepo, TaskGit } from '@tinyagi/client/contract';
import type { ApprovalRecord, EventLogApi, TaskRecord, TaskStoreApi } from './core.ts';
import { recordedFailures, sendRoundFeedback } from './checking-step.ts';
import { resolveProjectRepo, taskWorktreePath } from './project-repo.ts';
import type { TaskOwnerSend } from './task-step.ts';

export type RoundsDecision = Extract<ApprovalDecision, 'more_rounds' | 'take_over' | 'stop'>;
export const ROUNDS_DECISIONS: readonly RoundsDecision[] = ['more_rounds', 'take_over', 'stop'];

export interface RoundsAnswerInput {
  tasks: Pick<TaskStoreApi, 'setTaskGit' | 'updateTask' | 'mustGetTask'>;
  events: Pick<EventLogApi, 'append'>;
  home: string;
  projectId: string;
  repo: ProjectRepo;
  /** The answered request. */
  approval: ApprovalRecord;
  /** Sends the round's feedback to the owner (`more_rounds`). */
  send: TaskOwnerSend;
}

/** The rounds `more_rounds` gave: its recorded answer (`"5"`), else the request's default. */
export function roundsGiven(approval: Pick<ApprovalRecord, 'answer' | 'input'>): number {
  const given = Number(approval.answer);
  if (Number.isInteger(given) && given >= 1) return given;
  const dflt = (approval.input as { moreRounds?: unknown } | null)?.moreRounds;
  return typeof dflt === 'number' && dflt >= 1 ? dflt : 1;
}

/**
 * Carries out a person's answer to a task's `task_rounds` request (the contract above). Returns
 * the task as it is after, and whether this call acted (false: already done, or the task no
 * longer waits for this request).
 */
export async function carryOutRoundsAnswer(input: RoundsAnswerInput): Promise<{ task: TaskRecord; acted: boolean }> {
  const { approval, tasks, events } = input;
  const decision = approval.decision;
  if (approval.kind !== 'task_rounds' || approval.taskId === undefined || !ROUNDS_DECISIONS.includes(decision as RoundsDecision)) {
    throw new Error(`approval ${approval.id} is not an answered task_rounds request`);
  }
  const task = await tasks.mustGetTask(approval.taskId);
  const git = task.git;
  const check = git?.check;
  if (git === undefined || git === null || git.roundsApproval?.id !== approval.id) return { task, acted: false };
  // Waiting in Checking (its checks failed after the last round), or in Review (its pull request's failed check runs did: forge-step.ts).
  const inChecking = task.status === 'checking' && check != null && check.state === 'needs_person';
  const onForge = task.status === 'review' && git.pullRequest !== undefined && git.roundsApproval.decision === undefined;
  if (!inChecking && !onForge) return { task, acted: false };
  const by = approval.decidedBy ?? 'person';
  const answered: NonNullable<TaskGit['roundsApproval']> = { ...git.roundsApproval, decision: decision as RoundsDecision, decidedBy: by };
  const identifier = task.identifier ?? task.id;
  const rounds = git.rounds ?? 0;
  let after: TaskRecord;
  let roundsLimit: number | undefined;
  if (decision === 'more_rounds' && onForge) {
    // The held-back check runs are the forge's: the next read of the pull request (the caller's, then the poll's) sends them.
    roundsLimit = rounds + roundsGiven(approval);
    after = await tasks.setTaskGit(task.id, { ...git, roundsLimit, roundsApproval: answered, updatedAt: Date.now() });
  } else if (decision === 'more_rounds' && check != null) {
    roundsLimit = rounds + roundsGiven(approval);
    const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
    const worktreePath = git.worktreePath ?? taskWorktreePath(ctx, { id: task.id, identifier, title: task.title });
    const failures = recordedFailures(check, git.branch, input.repo.baseRef);
    after = (await sendRoundFeedback(input, task, git, check, failures, worktreePath, { roundsLimit, roundsApproval: answered })).task;
  } else {
    await tasks.setTaskGit(task.id, { ...git, roundsApproval: answered, updatedAt: Date.now() });
    const patch = decision === 'take_over' ? { status: 'in_progress' as const, assigneeAgent: null, assigneeTeam: null } : { status: 'todo' as const };
    after = (await tasks.updateTask(task.id, patch)).after;
  }
  await events.append({
    type: 'task.rounds_answered',
    data: {
      taskId: task.id,
      identifier,
      projectId: input.projectId,
      approvalId: approval.id,
      decision: decision as RoundsDecision,
      by,
      rounds: after.git?.rounds ?? rounds,
      ...(roundsLimit === undefined ? {} : { roundsLimit }),
      status: after.status,
    },
  });
  return { task: after, acted: true };
}
