/**
 * @tinyagi/git-tasks: the git engine of a project bound to a repository (docs/git-tasks.md; its
 * design: docs/git-tasks-design.md). A task's worktree and branch, the Checking and its check
 * kinds, the done facts, review, the merge, the rounds' approval and the forge's pull request, each
 * a step the task flow (`@tinyagi/teams`) runs under the task's hold. It depends on `@tinyagi/core`
 * through src/core.ts alone; core knows nothing of it.
 */
export { resolveProjectRepo, type ProjectRepoContext } from './project-repo.ts';
export { checkProjectBinding } from './binding-check.ts';
export { runTaskWorktreeStep, type TaskStepBase } from './task-step.ts';
export { seesTaskWorktree } from './worktrees.ts';
export { ensureLayerMounted } from './layer-mount.ts';
export { CHECK_NOT_STARTED, finishTaskChecking, runTaskChecking } from './checking-step.ts';
export { carryOutRoundsAnswer } from './rounds-step.ts';
export { requestRoundsApproval, roundsApprovalId } from './rounds-request.ts';
export { runTaskReview } from './review-step.ts';
export { anchoredFile } from './review-anchor.ts';
export { followComments, taskTip } from './review-position.ts';
export { mergeHeads, runTaskMerge } from './merge-step.ts';
export { autoMergeDecision, autoMergeRefusal, autoMergeRetryDue } from './auto-merge.ts';
export { taskDiff } from './diff.ts';
export { projectWorktrees, removeWorktreeAt, type WorktreeRemoval } from './worktree-life.ts';
export { applyRetention, retentionVerdict, type RetentionOptions } from './retention.ts';
export { openTaskPullRequest, runTaskForgeMerge, syncTaskForge } from './forge-step.ts';
export type { CreateForge, Forge, ForgeCheckRun, ForgeConnection, ForgeMergeResult, ForgePullRequest, ForgeReview, ForgeReviewComment } from './forge.ts';
// Check kinds and forges (docs/kinds.md): registries a new kind is registered in.
export { BUILTIN_CHECK_KINDS, type BindingProblem, type CheckKind, checkKindName, checkKinds, defineCheckKind, textCheckResult } from './check-kinds/index.ts';
export type { CheckResult, RunCheckOptions } from './checks.ts';
export { defineForgeKind, type ForgeKind, forgeKinds, openBindingForge } from './forge-kind.ts';
