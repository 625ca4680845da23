/**
 * What a workflow module sees (docs/workflows.md): its default export is a `WorkflowFunction`,
 * called with a `WorkflowContext` and the run's input. Types only, for the person's editor:
 * `import type { WorkflowContext } from '@tinyagi/client'`.
 *
 * The program is replayed after a crash, a restart or a resume: every call of the context gets
 * the same step id each time it is made in the same place, and a finished step gives its
 * journaled result instead of running again. So the program must decide what to do only from
 * its input and its steps' results: time, randomness, files and the network go inside `step()`.
 */

/** Anything with zod's `safeParse` (a zod schema, or one of your own). */
export interface StepSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export interface AgentStepOptions<T> {
  /** The reply is read as JSON (the whole reply, or its first fenced ```json block) and checked; a reply that does not match fails the step. */
  schema?: StepSchema<T>;
  /** The step's name, unique among its siblings: its id then stays the same when calls are added before it. */
  name?: string;
  /** The agent's working directory for this step, instead of its workspace (an absolute path). */
  cwd?: string;
}

export interface StepOptions {
  /**
   * The step only reads (lists the files to review, reads a config): a forecast runs it too, so it
   * knows how many steps follow. A forecast runs no other step (docs/workflows.md, "Forecast").
   */
  readOnly?: boolean;
}

/** A git task of a project bound to a repository (docs/git-tasks.md), made and started by a step. */
export interface TaskStepSpec {
  /** The project's id or name; it must be bound to a repository. */
  project: string;
  title: string;
  description?: string;
  /** The agent that works on it, in its own worktree. */
  agent: string;
  /** The step's name, as for `agent`. */
  name?: string;
}

/** Where a task step's task ended up. */
export interface TaskOutcome {
  taskId: string;
  identifier: string;
  agent: string;
  /** `passed`: in Review (or merged) with its checks passed; `failed`: its checks still fail after its rounds, its worktree failed, or it was deleted or stopped. */
  outcome: 'passed' | 'failed';
  /** Why it failed (null when it passed). */
  reason: string | null;
  branch: string | null;
  /** The commit its checks passed on (null when they did not). */
  headSha: string | null;
  /** Lines added and deleted by its branch (0 when it failed). */
  additions: number;
  deletions: number;
}

export interface BestOfSpec {
  project: string;
  title: string;
  description?: string;
  /** One task per agent, all at once, each in its own worktree (use agents on different runtimes or models). */
  agents: readonly string[];
  /** How the winner is picked among the tasks whose checks passed: the smallest change (default), or an agent that reads their diffs. */
  judge?: 'smallest-diff' | { agent: string };
  name?: string;
}

export interface BestOfResult {
  /** The task picked, or null when none passed. Merged when its project has auto-merge (`merged`), else it stays in Review for a person. */
  winner: TaskOutcome | null;
  /** Every task, in the order of `agents`; those that passed and lost are moved to the Backlog (kept for a look; the project's retention removes their worktrees). */
  candidates: TaskOutcome[];
  /** The winner was merged by its project's auto-merge (as any task's: its checks passed on its head, no conflict). False without auto-merge, without a winner, or when the merge did not happen. */
  merged: boolean;
  /** Why the winner was not merged when its project has auto-merge (a conflict, a commit after its checks, a forge still waiting); it then stays in Review. Null otherwise. */
  mergeError: string | null;
}

export interface WorkflowContext {
  readonly runId: string;
  /** Sends `prompt` to the agent as a conversation of its own and resolves with its reply (or the value the schema checked). A failed step rejects with a `WorkflowStepError`. */
  agent<T = string>(agentId: string, prompt: string, options?: AgentStepOptions<T>): Promise<T>;
  /** Makes a git task in a bound project for `agent`, starts it, and resolves once it is in Review with its checks passed, or cannot pass (`outcome: failed`). */
  task(spec: TaskStepSpec): Promise<TaskOutcome>;
  /** The same task to several agents at once, each in its own worktree; the project's checks decide which pass, the judge picks the winner. */
  bestOf(spec: BestOfSpec): Promise<BestOfResult>;
  /** Runs `fn` once and journals its value (JSON): a replay returns the journaled value. Run again only if the daemon died while it ran. */
  step<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<T>;
  /** Runs the branches at once; each branch's steps have ids of their own (`<n>:parallel[<i>]/…`). */
  parallel<T>(branches: ReadonlyArray<() => Promise<T>>): Promise<T[]>;
  /** Calls `fn` for each item, at most `concurrency` at a time (default all), each a branch of its own (`<n>:map[<i>]/…`). */
  map<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, options?: { concurrency?: number }): Promise<R[]>;
  /** Each stage gets the value of the one before (the first gets `initial`). */
  pipeline<T>(initial: unknown, stages: ReadonlyArray<(previous: never) => Promise<unknown>>): Promise<T>;
  /** A line in the daemon's log, said once (not again on replay). */
  log(message: string): void;
}

export type WorkflowFunction<I = unknown, O = unknown> = (wf: WorkflowContext, input: I) => Promise<O>;
