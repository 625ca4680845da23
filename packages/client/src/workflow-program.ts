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

export interface WorkflowContext {
  readonly runId: string;
  /** Sends `prompt` to the agent as a conversation of its own and resolves with its reply (or the value the schema checked). A failed step rejects with a `WorkflowStepError`. */
  agent<T = string>(agentId: string, prompt: string, options?: AgentStepOptions<T>): Promise<T>;
  /** Runs `fn` once and journals its value (JSON): a replay returns the journaled value. Run again only if the daemon died while it ran. */
  step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
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
