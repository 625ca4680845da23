/**
 * Where a repository-bound task's steps run, in words (docs/git-tasks.md, "Several nodes"): the
 * node whose disk holds its worktree (`git.node`), and a person's step that waits for that node
 * (`git.request`). What `tinyagi task` and TinyOffice's task page both print. With one node
 * (SQLite) a task names no node and nothing here is shown. Types only from the contract.
 */
import type { TaskGit, TaskStepRequest, TaskStepRequestKind } from './contract/git-tasks.ts';
import type { NodeStatus } from './contract/system.ts';

/** A node's state as `GET /api/status` lists it; `absent` when it is not listed (never joined, or aged out). */
export type NodeState = NodeStatus['state'] | 'absent';

export function nodeStateOf(nodes: readonly Pick<NodeStatus, 'name' | 'state'>[], name: string): NodeState {
  return nodes.find((n) => n.name === name)?.state ?? 'absent';
}

/** A person's step on a task, as a noun. */
export const TASK_STEP_NAMES: Readonly<Record<TaskStepRequestKind, string>> = { merge: 'merge', review: 'request for changes', delete: 'deletion', sync: 'forge sync' };

const down = (state: NodeState | undefined): boolean => state !== undefined && state !== 'live';

/**
 * A step waiting for the node that holds the task's disk: `Merge waits for node wk1 (down) since
 * <time>: it runs there when the node is back.` `time` is `requestedAt` as the surface writes
 * times; `state` the node's, when known.
 */
export function stepWaitText(request: TaskStepRequest, time: string, state?: NodeState): string {
  const name = TASK_STEP_NAMES[request.step];
  const head = `${name.charAt(0).toUpperCase()}${name.slice(1)} waits for node ${request.node}`;
  return down(state) ? `${head} (down) since ${time}: it runs there when the node is back.` : `${head} since ${time}.`;
}

/**
 * The node of a task's worktree: `on node wk1`; while its start waits for that node (`creating`,
 * no worktree yet) `being made on node wk1`, or `waits for node wk1 (down)`. Undefined when the
 * task names no node.
 */
export function worktreeNodeText(git: Pick<TaskGit, 'node' | 'state' | 'worktreePath'>, state?: NodeState): string | undefined {
  if (git.node === undefined) return undefined;
  if (git.worktreePath !== null || git.state !== 'creating') return `on node ${git.node}`;
  return down(state) ? `waits for node ${git.node} (down): made there when the node is back` : `being made on node ${git.node}`;
}
