/**
 * TinyAGI's files in a task worktree's git admin folder (`<repo>/.git/worktrees/<name>`), one
 * spelling for the engine that writes them (`@tinyagi/git-tasks`, worktrees.ts) and the boundary
 * that keeps them read-only inside a sandbox (sandbox/git-worktree.ts). Loads nothing.
 */

/** The task the worktree belongs to (another task is refused it). */
export const TASK_MARKER = 'tinyagi-task';
/** The setup passed once (it does not run again). */
export const SETUP_MARKER = 'tinyagi-setup';
/** The task's branch (`refs/heads/…`): the one ref a sandboxed agent's boundary lets it move. */
export const BRANCH_MARKER = 'tinyagi-branch';
/**
 * The reason of the lock the boundary holds on a task's worktree while a sandboxed process
 * works in it (sandbox/git-worktree.ts): git's `locked` file, made by the daemon so the agent
 * cannot make one of its own, and removed when the last such process has exited. The merge's
 * removal lifts it (`@tinyagi/git-tasks`, worktrees.ts).
 */
export const SANDBOX_LOCK_REASON = 'tinyagi: a sandboxed agent or check is working in this worktree';
/**
 * The git identity the task's agents commit with (`{"name","email"}`), written by the worktree
 * step from the person's git config or the binding, and read into a run's environment
 * (`GIT_AUTHOR_*`, `GIT_COMMITTER_*`) when it works in the worktree (identity-env.ts): a
 * sandboxed agent does not see `~/.gitconfig`. Only the agents' own commits read it.
 */
export const IDENTITY_MARKER = 'tinyagi-identity';
