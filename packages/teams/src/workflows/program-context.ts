/**
 * The `WorkflowContext` a program gets (types: @tinyagi/client's workflow-program.ts), over the
 * run's journal (docs/workflows.md, "Replay"):
 * - Every call takes its step id from its scope (step-ids.ts) before it awaits anything.
 * - A call whose id is journaled gives the journaled result (a failed step rejects again), after
 *   checking it is the same call: another agent, prompt, cwd or schema at that id stops the run
 *   (`NonDeterminism`), since the program no longer matches its journal.
 * - A call not journaled yet asks the host first (`beforeNewStep`: cancelled, paused or over
 *   budget stops the run), is journaled as running, and only then starts: whatever crashes, a
 *   step id is started once per attempt.
 * - What stops the run is kept in `stopped` as well as thrown, so a program that catches it
 *   cannot carry on as if nothing happened.
 */
import { createHash } from 'node:crypto';
import type { AgentStepOptions, BestOfResult, BestOfSpec, StepOptions, TaskOutcome, TaskStepSpec, WorkflowContext } from '@tinyagi/client';
import type { WorkflowStepKind } from '@tinyagi/client/contract';
import type { WorkflowStepRecord, WorkflowStoreApi } from '../core-internal.ts';
import { checkStepName, currentScope, StepScope } from './step-ids.ts';

/** What an agent step gave. */
export interface AgentStepResult {
  output: unknown;
  costUsd: number;
  tokens: number;
}

export interface StepHost {
  runId: string;
  /** Aborted when this node stops driving the run: what is running is not journaled as failed. */
  signal: AbortSignal;
  journal: Pick<WorkflowStoreApi, 'getStep' | 'beginStep' | 'updateStep' | 'retryStep'>;
  /** Before a step the journal does not have: rejects with a `RunStop` when no new step may start. */
  beforeNewStep(): Promise<void>;
  /** Sends (again, idempotently) or goes on waiting for an agent step; rejects with why it failed. */
  runAgent(step: WorkflowStepRecord, prompt: string, options: { cwd?: string | undefined; schema?: AgentStepOptions<unknown>['schema'] }): Promise<AgentStepResult>;
  /** Makes (once) and follows a task step's git task; rejects with why it could not be made. `autoMergeWithheld`: a best of N's candidate, made with its auto-merge withheld (why). */
  runTask(step: WorkflowStepRecord, spec: TaskStepSpec, options?: { autoMergeWithheld?: string }): Promise<AgentStepResult>;
  /** Runs a `step`'s function (a forecast runs only the read-only ones). */
  runStep<T>(fn: () => T | Promise<T>, options: { readOnly: boolean }): Promise<T>;
  /** Each task's diff as text, cut at `maxChars` (for a judge to read). */
  diffs(taskIds: readonly string[], maxChars: number): Promise<string[]>;
  /** Moves the tasks to the Backlog (the ones best of N did not pick). */
  setAside(taskIds: readonly string[], why: string): Promise<void>;
  /** Best of N's winner: its auto-merge no longer withheld, merged now if the project's auto-merge would merge it (idempotent: merged before is merged). */
  merge(taskId: string): Promise<{ merged: boolean; error: string | null }>;
  /** A step started or ended (the `workflow.step` event). */
  stepChanged(step: Pick<WorkflowStepRecord, 'stepId' | 'kind' | 'status' | 'conversationId' | 'taskId' | 'agentId' | 'costUsd' | 'tokens' | 'error'>): void;
  log(message: string): void;
}

/** The run must stop: cancelled, paused, or its program no longer matches its journal. */
export class RunStop extends Error {
  readonly status: 'cancelled' | 'paused' | 'failed';
  constructor(status: 'cancelled' | 'paused' | 'failed', message: string) {
    super(message);
    this.name = 'RunStop';
    this.status = status;
  }
}

/** The step's agent message was lost with the workers that ran it (the queue gave up on it): run the step again as its next attempt. */
export class StepRetry extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepRetry';
  }
}

/** A step failed: what the program gets (it may catch it and go on). */
export class WorkflowStepError extends Error {
  readonly stepId: string;
  constructor(stepId: string, message: string) {
    super(`Step ${stepId} failed: ${message}`);
    this.name = 'WorkflowStepError';
    this.stepId = stepId;
  }
}

const LABEL_MAX = 500;

export function fingerprint(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
}

/** A value as the journal gives it back (JSON), so the first run and a replay see the same thing. */
function journaled(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** The judge's answer: the index of the candidate it picks. */
const PICK = {
  safeParse(value: unknown): { success: true; data: number } | { success: false; error: unknown } {
    const i = (value as { pick?: unknown } | null)?.pick;
    return typeof i === 'number' && Number.isInteger(i) && i >= 0 ? { success: true, data: i } : { success: false, error: new Error('expected {"pick": <index>}') };
  },
};

/** How much of each candidate's diff a judge reads. */
const JUDGE_DIFF_CHARS = 12_000;

function judgePrompt(title: string, passed: readonly TaskOutcome[], diffs: readonly string[]): string {
  const each = passed.map((c, i) => `## Candidate ${i}: ${c.identifier} by ${c.agent} (+${c.additions} -${c.deletions})\n\n\`\`\`diff\n${diffs[i] ?? ''}\n\`\`\``).join('\n\n');
  return `Several agents did the task "${title}", and each one's checks passed. Pick the best change: correct, clear and no larger than it needs to be.\n\n${each}\n\nAnswer {"pick": <the candidate's number>}.`;
}

export class ProgramContext {
  readonly #host: StepHost;
  readonly #root = new StepScope();
  /** Set once the run must stop, whatever the program does with the error. */
  stopped: RunStop | undefined;
  /** True until the program makes its first call the journal does not have: a replay says nothing in the log. */
  #replaying = true;

  constructor(host: StepHost) {
    this.#host = host;
  }

  /** The object the program is called with. */
  api(): WorkflowContext {
    return {
      runId: this.#host.runId,
      agent: (agentId, prompt, options) => this.#agent(agentId, prompt, options ?? {}),
      step: (name, fn, options) => this.#step(name, fn, options),
      task: (spec) => this.#task(spec),
      bestOf: (spec) => this.#bestOf(spec),
      parallel: (branches) => this.#group('parallel', branches.length, (i) => branches[i]!()),
      map: (items, fn, options) => this.#group('map', items.length, (i) => fn(items[i]!, i), options?.concurrency),
      pipeline: (initial, stages) => this.#pipeline(initial, stages),
      log: (message) => {
        if (!this.#replaying) this.#host.log(String(message));
      },
    };
  }

  /** Runs the program in the root scope. */
  run<T>(program: () => Promise<T>): Promise<T> {
    return currentScope.run(this.#root, program);
  }

  #scope(): StepScope {
    return currentScope.getStore() ?? this.#root;
  }

  #stop(stop: RunStop): never {
    this.stopped ??= stop;
    throw this.stopped;
  }

  /** The journal's step at `id` when it is this call; a new one journaled as running otherwise. */
  async #open(id: string, kind: WorkflowStepKind, agentId: string | null, label: string, print: string): Promise<WorkflowStepRecord> {
    if (this.stopped) throw this.stopped;
    let step = await this.#host.journal.getStep(this.#host.runId, id);
    if (step === undefined) {
      this.#replaying = false;
      try {
        await this.#host.beforeNewStep();
      } catch (err) {
        if (err instanceof RunStop) this.#stop(err);
        throw err;
      }
      step = (await this.#host.journal.beginStep({ runId: this.#host.runId, stepId: id, kind, agentId, label: label.slice(0, LABEL_MAX), fingerprint: print })).step;
      // An agent or task step is said once sent, with its conversation or task.
      if (kind === 'step') this.#host.stepChanged(step);
    }
    if (step.fingerprint !== print) {
      this.#stop(
        new RunStop(
          'failed',
          `The program no longer matches its journal at step ${id}: it was ${step.kind}${step.agentId ? ` to ${step.agentId}` : ''} "${step.label.slice(0, 80)}", and is now ${kind}${agentId ? ` to ${agentId}` : ''} "${label.slice(0, 80)}". A program must make the same calls in the same order given the same results (docs/workflows.md, "Rules").`,
        ),
      );
    }
    return step;
  }

  async #finish<T>(opened: WorkflowStepRecord, work: (step: WorkflowStepRecord) => Promise<{ output: unknown; costUsd: number; tokens: number }>): Promise<T> {
    let step = opened;
    if (step.status === 'completed') return step.output as T;
    if (step.status === 'failed') throw new WorkflowStepError(step.stepId, step.error ?? 'failed');
    let result: { output: unknown; costUsd: number; tokens: number };
    try {
      for (;;) {
        try {
          result = await work(step);
          break;
        } catch (err) {
          if (!(err instanceof StepRetry) || this.#host.signal.aborted || this.stopped) throw err;
          // Its message died with the workers that ran it: the step again, as its next attempt (a message of its own).
          step = { ...step, attempt: await this.#host.journal.retryStep(step.runId, step.stepId), conversationId: null };
          this.#host.log(`step ${step.stepId} again (attempt ${step.attempt}): ${err.message}`);
        }
      }
    } catch (err) {
      if (err instanceof RunStop) this.#stop(err);
      if (this.stopped) throw this.stopped;
      if (this.#host.signal.aborted) throw err;
      const error = err instanceof Error ? err.message : String(err);
      await this.#host.journal.updateStep(step.runId, step.stepId, { status: 'failed', error, endedAt: Date.now() });
      this.#host.stepChanged({ ...step, status: 'failed', error });
      throw new WorkflowStepError(step.stepId, error);
    }
    const output = journaled(result.output);
    await this.#host.journal.updateStep(step.runId, step.stepId, { status: 'completed', output, costUsd: result.costUsd, tokens: result.tokens, endedAt: Date.now() });
    this.#host.stepChanged({ ...step, status: 'completed', costUsd: result.costUsd, tokens: result.tokens });
    return output as T;
  }

  async #agent<T>(agentId: string, prompt: string, options: AgentStepOptions<T>): Promise<T> {
    if (typeof agentId !== 'string' || agentId === '') throw new TypeError('wf.agent(agentId, prompt): agentId must be an agent id.');
    if (typeof prompt !== 'string' || prompt.trim() === '') throw new TypeError(`wf.agent(${JSON.stringify(agentId)}, prompt): the prompt must be text.`);
    const id = this.#scope().next('agent', options.name === undefined ? undefined : checkStepName(options.name));
    const print = fingerprint(['agent', agentId, prompt, options.cwd ?? null, options.schema ? 'schema' : null]);
    const step = await this.#open(id, 'agent', agentId, prompt, print);
    return this.#finish<T>(step, (s) => this.#host.runAgent(s, prompt, { cwd: options.cwd, schema: options.schema as AgentStepOptions<unknown>['schema'] }));
  }

  async #task(spec: TaskStepSpec, options: { autoMergeWithheld?: string } = {}): Promise<TaskOutcome> {
    if (!spec || typeof spec.project !== 'string' || typeof spec.title !== 'string' || typeof spec.agent !== 'string') {
      throw new TypeError('wf.task({ project, title, agent, description?, name? }): project, title and agent are text.');
    }
    const id = this.#scope().next('task', spec.name === undefined ? undefined : checkStepName(spec.name));
    const print = fingerprint(['task', spec.project, spec.title, spec.description ?? null, spec.agent]);
    const step = await this.#open(id, 'task', spec.agent, spec.title, print);
    return this.#finish<TaskOutcome>(step, (s) => this.#host.runTask(s, spec, options));
  }

  /**
   * Best of N: one task per agent in a group of its own, each with its auto-merge withheld, the
   * judge among those that passed, the others set aside, then the winner merged by its project's
   * rule (a step of its own: a replay does not merge it again).
   */
  async #bestOf(spec: BestOfSpec): Promise<BestOfResult> {
    if (!spec || !Array.isArray(spec.agents) || spec.agents.length === 0) throw new TypeError('wf.bestOf({ project, title, agents: [...], judge? }): agents lists at least one agent.');
    const id = this.#scope().next('bestOf', spec.name === undefined ? undefined : checkStepName(spec.name));
    return currentScope.run(new StepScope(`${id}/`), async () => {
      const { agents, judge, name: _name, ...task } = spec;
      const withheld = { autoMergeWithheld: `best of ${agents.length} in workflow run ${this.#host.runId}: it merges the one it picks` };
      const candidates = await this.#group('parallel', agents.length, (i) => this.#task({ ...task, title: `${spec.title} (${agents[i]})`, agent: agents[i]! }, withheld));
      const passed = candidates.filter((c) => c.outcome === 'passed');
      let winner: TaskOutcome | null = null;
      if (passed.length === 1 || (passed.length > 1 && (judge === undefined || judge === 'smallest-diff'))) {
        winner = passed.reduce((best, c) => (c.additions + c.deletions < best.additions + best.deletions ? c : best));
      } else if (passed.length > 1 && typeof judge === 'object') {
        const diffs = await this.#step(
          'diffs',
          () =>
            this.#host.diffs(
              passed.map((c) => c.taskId),
              JUDGE_DIFF_CHARS,
            ),
          { readOnly: true },
        );
        const pick = await this.#agent<number>(judge.agent, judgePrompt(spec.title, passed, diffs), { name: 'judge', schema: PICK });
        winner = passed[pick] ?? passed[0]!;
      }
      const aside = passed.filter((c) => c !== winner).map((c) => c.taskId);
      if (aside.length > 0) await this.#step('set-aside', async () => this.#host.setAside(aside, `best of ${agents.length}: ${winner?.identifier} was picked`));
      if (winner === null) return { winner, candidates, merged: false, mergeError: null };
      const { taskId } = winner;
      // A forecast runs no step that writes: its merge gives nothing.
      const merge: { merged: boolean; error: string | null } | undefined = await this.#step('merge', () => this.#host.merge(taskId));
      return { winner, candidates, merged: merge?.merged === true, mergeError: merge?.error ?? null };
    });
  }

  async #step<T>(name: string, fn: () => T | Promise<T>, options: StepOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`wf.step(${JSON.stringify(name)}, fn): fn must be a function.`);
    const id = this.#scope().next('step', checkStepName(name));
    const step = await this.#open(id, 'step', null, name, fingerprint(['step', name]));
    // A step the daemon died in the middle of (journaled running) runs again: at least once.
    return this.#finish<T>(step, async () => ({ output: await this.#host.runStep(fn, { readOnly: options.readOnly === true }), costUsd: 0, tokens: 0 }));
  }

  /** Branches `0 … count-1`, each in a scope of its own, at most `limit` at once. */
  async #group<R>(kind: 'parallel' | 'map', count: number, branch: (index: number) => Promise<R>, limit?: number): Promise<R[]> {
    const id = this.#scope().next(kind);
    const results = new Array<R>(count);
    const width = Math.max(1, Math.min(count, limit && limit > 0 ? Math.floor(limit) : count));
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        results[i] = await currentScope.run(StepScope.branch(id, i), () => branch(i));
      }
    };
    await Promise.all(Array.from({ length: width }, lane));
    return results;
  }

  async #pipeline<T>(initial: unknown, stages: ReadonlyArray<(previous: never) => Promise<unknown>>): Promise<T> {
    const id = this.#scope().next('pipeline');
    let value = initial;
    for (const [i, stage] of stages.entries()) {
      value = await currentScope.run(StepScope.branch(id, i), () => stage(value as never));
    }
    return value as T;
  }
}
