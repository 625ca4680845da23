/**
 * Where a repository-bound task goes next (docs/git-tasks.md, "What each state means"): the one
 * function that reads a task as stored and names the step the daemon owes it, if any. The task
 * flow runs it at every start and on every sweep, on every node, so a step a crash or a killed
 * node left half done is finished by whichever node takes the task's hold next.
 */
import type { ProjectRepo } from '@tinyagi/client/contract';
import type { TaskRecord } from '../core-internal.ts';
import { CHECK_NOT_STARTED } from '@tinyagi/git-tasks';

export type TaskStep =
  /** A person's step asked of this node (the one holding the task's disk) by another, not carried out yet (`git.request`). */
  | { step: 'carry-out-request'; requestedAt: number }
  /** Assigned and in progress, never sent: its worktree is made (or found) and the message sent once. */
  | { step: 'dispatch' }
  /** Its worktree's folder is gone (deleted by hand): made again from its branch, before anyone works there. */
  | { step: 'restore-worktree' }
  /** Its agent said done: the checks run (again, whole, when a crash interrupted them). */
  | { step: 'check' }
  /** The Checking's result is recorded, its move (to review or back to in progress) is not. */
  | { step: 'finish-check' }
  /** The rounds ran out: the person's `task_rounds` request made, or its answer carried out (not when a check could not start: that waits). */
  | { step: 'ask-rounds' }
  /** The merge is recorded (the branch went into the base, or the forge merged it); the worktree removal or the move to done is not. */
  | { step: 'finish-merge' }
  /** In review on a binding with auto-merge (not withheld from it): merged when it holds. */
  | { step: 'auto-merge' }
  /** In review with a pull request whose failed check runs waited for a person who answered: the answer carried out. */
  | { step: 'carry-out-answer'; approvalId: string }
  /** Nothing for the daemon to do: the task waits for someone (`for`). */
  | { step: 'wait'; for: string };

function assigned(task: TaskRecord): boolean {
  return task.assigneeAgent !== null || task.assigneeTeam !== null;
}

/** `worktreeMissing`: the task records a worktree whose folder is not on this node's disk. */
export function nextStep(task: TaskRecord, repo: ProjectRepo | null, worktreeMissing = false): TaskStep {
  if (repo === null) return { step: 'wait', for: 'a person: the project is not bound to a repository' };
  const git = task.git;
  if (git?.request !== undefined) return { step: 'carry-out-request', requestedAt: git.request.requestedAt };
  if (worktreeMissing && (task.status === 'in_progress' || task.status === 'checking') && git?.state === 'ready') return { step: 'restore-worktree' };
  switch (task.status) {
    case 'in_progress':
      if (!assigned(task)) return { step: 'wait', for: 'an assignee' };
      if (git?.state === 'failed') return { step: 'wait', for: 'a person: the worktree step failed' };
      return task.conversationId === null ? { step: 'dispatch' } : { step: 'wait', for: 'the agent to say it is done' };
    case 'checking': {
      const state = git?.check?.state;
      // A check that could not start: its environment is a person's to fix (then Check again); no rounds request.
      if (state === 'needs_person' && git?.check?.error?.code === CHECK_NOT_STARTED) return { step: 'wait', for: "a person: a check could not start (its environment, not the agent's work)" };
      if (state === 'needs_person') return { step: 'ask-rounds' };
      if (state === 'passed' || state === 'failed') return { step: 'finish-check' };
      return { step: 'check' };
    }
    case 'review': {
      if (git?.merge !== undefined) return { step: 'finish-merge' };
      const asked = git?.roundsApproval;
      if (git?.pullRequest !== undefined && asked !== undefined && asked.decision === undefined) return { step: 'carry-out-answer', approvalId: asked.id };
      if (repo.autoMerge !== undefined && git?.autoMergeWithheld !== undefined)
        return { step: 'wait', for: `its workflow or a person to merge it: its auto-merge is withheld (${git.autoMergeWithheld.why})` };
      if (repo.autoMerge !== undefined) return { step: 'auto-merge' };
      return { step: 'wait', for: 'a person to merge it or ask for changes' };
    }
    default:
      return { step: 'wait', for: task.status === 'done' ? 'nothing: it is done' : 'someone to move it to In progress' };
  }
}
