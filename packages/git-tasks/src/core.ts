/**
 * What the git engine takes from `@tinyagi/core`, all in one place (docs/architecture.md,
 * "Packages and dependency direction"): the errors, the stores' records and interfaces a step
 * reads and writes through (tasks, approvals, the event log), the kind registry, the settings'
 * types, the process groups a check runs in, the sandbox's answers a binding is checked against
 * (is this agent confined, is this path hidden from it), and the files of a task worktree's admin
 * folder that the sandbox guards too. Every other file of the package imports core through this
 * one, so what the engine depends on is read here, and a name core stops giving fails here.
 */
export { type ApprovalRecord, errorMessage, isTinyError, KindRegistry, type Settings, type TaskCheckedEvent, TinyError } from '@tinyagi/core';
export {
  type ApprovalStoreApi,
  BRANCH_MARKER,
  boundaryEnforced,
  type CommentRecord,
  type Env,
  type EventLogApi,
  type GitIdentity,
  hiddenInSandbox,
  IDENTITY_MARKER,
  ownEntry,
  quickCheck,
  type SandboxHost,
  SETUP_MARKER,
  sandboxSpecOf,
  signalProcessGroup,
  TASK_MARKER,
  type TaskRecord,
  type TaskStoreApi,
  trackProcessGroup,
  untrackProcessGroup,
  usableIdentityPart,
} from '@tinyagi/core/internal';
