/**
 * The workflow engine (docs/workflows.md): runs the person's workflow modules durably, on every
 * node (the daemon and `tinyagi worker`). Contract:
 * - A run is driven by one node at a time: the one whose lease on it is current (`claimRun`). Each
 *   node renews its leases and takes runs nobody holds every `sweepMs`; a node that starts again
 *   takes back its own runs at once, and another node takes a dead node's once its lease is over.
 * - Driving a run is calling its program from the start: the journal (program-context.ts) gives
 *   finished steps their results and starts the others once, so a crash, a restart, a move to
 *   another node or a resume replays it to where it was.
 * - A run stops before a new step when it was cancelled, or when its budget is spent (it pauses:
 *   the steps already running finish, a person is asked (budget-request.ts); `resumeRun`, with a
 *   new budget, replays it).
 * - The program runs in the daemon's process, with its rights: a person starts one from a file on
 *   this node, or an agent starts one the person registered for it (by name, the API checks). A
 *   run an agent started sends its agent and task steps only where that agent may reach
 *   (`assertStepReach`), and its agent steps run confined by it, as a call from it would.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkflowFunction } from '@tinyagi/client';
import type { WorkflowForecast, WorkflowRun, WorkflowRunDetail, WorkflowRunStatus, WorkflowStep } from '@tinyagi/client/contract';
import { errorMessage, newId, type Settings, TinyError } from '@tinyagi/core';
import { ownEntry, type StoreSet, type WorkflowRunChain, type WorkflowRunRecord, type WorkflowStepRecord } from '../core-internal.ts';
import { chainFollowing, reachRefusal, unconfinedWorkRefusal } from '../guards/confinement.ts';
import { chainOfRun } from '../subagents/spawner.ts';
import type { SubmitInput, SubmitResult } from '../orchestrator/submit.ts';
import type { TaskFlow } from '../tasks/flow.ts';
import { ConversationWaits, runAgentStep } from './agent-step.ts';
import { recoverBudgetRequests, requestBudgetApproval, withdrawBudgetRequest } from './budget-request.ts';
import { planProgram, priceForecast } from './forecast.ts';
import { runTaskStep } from './task-step.ts';
import { ProgramContext, RunStop, type StepHost } from './program-context.ts';
import type { StartWorkflowInput, WorkflowBudgetInput, WorkflowService } from './service.ts';

export interface WorkflowsOptions {
  stores: Pick<StoreSet, 'events' | 'runs' | 'outbox' | 'tasks' | 'workflows' | 'queue' | 'approvals'>;
  /** Sends an agent step's message (the orchestrator's `submitGrouped`). */
  orchestrator: { submitGrouped(input: SubmitInput): Promise<SubmitResult> };
  /** Cancels an agent step's conversation when its run is cancelled (`ConversationControl.cancelConversation`). */
  cancelConversation(conversationId: string, reason: string): Promise<unknown>;
  settings: () => Settings;
  /** The node's task flow: `wf.task` and `wf.bestOf` make and start git tasks through it (without one they fail). */
  taskFlow?: Pick<TaskFlow, 'create' | 'diff' | 'patch' | 'withholdAutoMerge' | 'mergeWinner'>;
  log: { info(message: string): void; warn(message: string): void };
  /** This node's name (a run it held before it started again is taken back at once): default `local`. */
  node?: string;
  /** `import()` of a module URL (the daemon's works in its start-up snapshot too). */
  importModule?: (url: string) => Promise<unknown>;
  /** How often this node renews its leases and looks for runs nobody drives: default 5 s. */
  sweepMs?: number;
  /** How long a lease holds without renewal: default 30 s. */
  leaseMs?: number;
}

const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);
const ENDED: ReadonlySet<WorkflowRunStatus> = new Set(['completed', 'failed', 'cancelled']);

interface Driver {
  abort: AbortController;
  done: Promise<void>;
}

export class Workflows implements WorkflowService {
  readonly #o: WorkflowsOptions;
  readonly #node: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #drivers = new Map<string, Driver>();
  /** Runs whose module is not on this node's disk: left to a node that has it. */
  readonly #notHere = new Set<string>();
  #waits: ConversationWaits | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;

  constructor(options: WorkflowsOptions) {
    this.#o = options;
    this.#node = options.node ?? 'local';
    this.#owner = `${this.#node}/${process.pid}/${newId('wfo')}`;
    this.#leaseMs = options.leaseMs ?? 30_000;
  }

  get #store(): StoreSet['workflows'] {
    return this.#o.stores.workflows;
  }

  // ---- Life cycle ----

  /**
   * Takes back this node's runs from before its start, drives every run nobody holds, makes good
   * the budget requests a crash left (budget-request.ts), then sweeps every `sweepMs`.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#waits = new ConversationWaits(this.#o.stores);
    await this.#store.releaseRunsOf(`${this.#node}/`, this.#owner);
    await this.#sweep();
    await recoverBudgetRequests(this.#o.stores, this, this.#o.log);
    this.#schedule();
  }

  /** Stops driving (the runs stay `running`, free for the next start or another node) and waits for the drivers to unwind. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const drivers = [...this.#drivers.values()];
    for (const d of drivers) d.abort.abort(new Error('the node is stopping'));
    await Promise.allSettled(drivers.map((d) => d.done));
    this.#waits?.close();
    this.#waits = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#sweep()
        .catch((err: unknown) => this.#o.log.warn(`Looking for workflow runs to drive failed: ${errorMessage(err)}`))
        .finally(() => this.#schedule());
    }, this.#o.sweepMs ?? 5_000);
    this.#timer.unref?.();
  }

  async #sweep(): Promise<void> {
    const now = Date.now();
    await this.#store.renewLeases(this.#owner, now + this.#leaseMs);
    for (const id of await this.#store.claimableRuns(now)) {
      if (this.#stopped) return;
      if (this.#notHere.has(id)) continue;
      if (await this.#store.claimRun(id, this.#owner, now + this.#leaseMs, now)) this.#drive(id);
    }
  }

  // ---- What the surfaces ask ----

  async startRun(input: StartWorkflowInput): Promise<WorkflowRun> {
    const file = checkedFile(input.file);
    await this.#load(file);
    const value = inputValue(input.input);
    const record = await this.#store.createRun({
      id: newId('wf'),
      name: input.registered ?? basename(file, extname(file)),
      file,
      registered: input.registered ?? null,
      startedBy: input.startedBy?.agentId ?? 'person',
      ...(input.startedBy ? await this.#startedIn(input.startedBy) : { chain: null, conversationId: null }),
      input: value,
      budgetUsd: input.budgetUsd ?? null,
      budgetTokens: input.budgetTokens ?? null,
      owner: this.#owner,
      leaseUntil: Date.now() + this.#leaseMs,
    });
    await this.#changed(record, 'running');
    this.#drive(record.id);
    return this.#view(record);
  }

  async forecast(input: Pick<StartWorkflowInput, 'file' | 'input' | 'registered'>): Promise<WorkflowForecast> {
    const file = checkedFile(input.file);
    const plan = await planProgram(await this.#load(file), inputValue(input.input));
    return priceForecast({ settings: this.#o.settings, stores: this.#o.stores }, plan, input.registered ?? basename(file, extname(file)));
  }

  /**
   * Where a run an agent starts stands: what its steps are held to (the starting run's chain, and
   * its agent: guards/confinement.ts), and the starting run's conversation, where a question about
   * the run (its budget's) goes.
   */
  async #startedIn(starter: NonNullable<StartWorkflowInput['startedBy']>): Promise<{ chain: WorkflowRunChain; conversationId: string | null }> {
    const source = { stores: this.#o.stores, getSettings: this.#o.settings };
    const run = await this.#o.stores.runs.getRun(starter.runId);
    const own = run ? await chainOfRun(source, run) : { confinedBy: [], callers: [] };
    return { chain: chainFollowing(this.#o.settings(), starter.agentId, own), conversationId: run?.conversationId ?? null };
  }

  async listRuns(query: { status?: WorkflowRunStatus | undefined; name?: string | undefined; limit?: number | undefined } = {}): Promise<WorkflowRun[]> {
    const runs = await this.#store.listRuns(query);
    const totals = await this.#store.totals(runs.map((r) => r.id));
    return runs.map((r) => toRunView(r, totals.get(r.id)));
  }

  async getRun(id: string): Promise<WorkflowRunDetail> {
    const run = await this.#mustGet(id);
    const steps = await this.#store.steps(id);
    return { run: await this.#view(run), steps: steps.map(toStepView) };
  }

  async cancelRun(id: string): Promise<WorkflowRun> {
    const run = await this.#mustGet(id);
    if (ENDED.has(run.status)) throw new TinyError('INVALID_STATE', `Workflow run ${id} has ${run.status === 'cancelled' ? 'been cancelled' : run.status} already.`);
    const reason = 'Cancelled by a person.';
    const cancelled = await this.#store.updateRun(id, { status: 'cancelled', reason, endedAt: Date.now(), owner: null, leaseUntil: null }, [run.status]);
    if (!cancelled) return this.cancelRun(id); // It changed meanwhile (paused, resumed, ended): decide on what it is now.
    await this.#changed(cancelled, 'cancelled', reason);
    await withdrawBudgetRequest(this.#o.stores, run, 'cancel', this.#o.log);
    const driver = this.#drivers.get(id);
    driver?.abort.abort(new RunStop('cancelled', reason));
    await driver?.done;
    for (const step of await this.#store.steps(id)) {
      if (step.status !== 'running') continue;
      if (step.conversationId) await this.#o.cancelConversation(step.conversationId, `its workflow run ${id} was cancelled`).catch(() => {});
      const error = 'cancelled with its run';
      await this.#store.updateStep(id, step.stepId, { status: 'failed', error, endedAt: Date.now() });
      this.#stepChanged(id, { ...step, status: 'failed', error });
    }
    return this.#view(cancelled);
  }

  async resumeRun(id: string, budget: WorkflowBudgetInput = {}): Promise<WorkflowRun> {
    const run = await this.#mustGet(id);
    if (run.status !== 'paused' && run.status !== 'failed') {
      throw new TinyError('INVALID_STATE', `Workflow run ${id} is ${run.status}: only a paused or failed run is resumed.`, {
        ...(run.status === 'cancelled' ? { hint: 'Start the workflow again for a new run.' } : {}),
      });
    }
    const budgetUsd = budget.budgetUsd ?? run.budgetUsd;
    const budgetTokens = budget.budgetTokens ?? run.budgetTokens;
    const over = overBudget({ budgetUsd, budgetTokens }, (await this.#store.totals([id])).get(id)!);
    if (over) throw new TinyError('INVALID_STATE', `Workflow run ${id} would pause again at once: ${over}.`, { hint: 'Resume it with a larger budget (--budget USD or --budget-tokens N).' });
    if (run.status === 'failed') await this.#store.retryFailedSteps(id);
    const resumed = await this.#store.updateRun(
      id,
      { status: 'running', reason: null, result: null, endedAt: null, budgetUsd, budgetTokens, owner: this.#owner, leaseUntil: Date.now() + this.#leaseMs },
      [run.status],
    );
    // Another node or request resumed or cancelled it first: one resume, the other refused.
    if (!resumed) throw new TinyError('INVALID_STATE', `Workflow run ${id} was ${run.status} and changed meanwhile: it is ${(await this.#mustGet(id)).status} now.`);
    await this.#changed(resumed, 'running');
    await withdrawBudgetRequest(this.#o.stores, run, 'resume', this.#o.log);
    this.#drive(id);
    return this.#view(resumed);
  }

  // ---- Driving a run ----

  #drive(runId: string): void {
    // Taken before this node's start (its API answers first) or after its stop: let go of it, so
    // the start's sweep (or another node) drives it; held, it would wait for a lease this node renews.
    if (this.#stopped) return void Promise.resolve(this.#store.releaseRun(runId, this.#owner)).catch(() => {});
    const driving = this.#drivers.get(runId);
    // Resumed while its last drive here still unwinds: driven again once that one has ended.
    if (driving) return void driving.done.then(() => this.#drive(runId));
    const abort = new AbortController();
    const done = this.#execute(runId, abort.signal)
      .catch(async (err: unknown) => {
        // The store or the log failed under it: let go, so the next sweep (here or on another node) drives it again.
        this.#o.log.warn(`Workflow run ${runId}: ${errorMessage(err)}; it is driven again at the next sweep.`);
        await Promise.resolve(this.#store.releaseRun(runId, this.#owner)).catch(() => {});
      })
      .finally(() => this.#drivers.delete(runId));
    this.#drivers.set(runId, { abort, done });
  }

  async #execute(runId: string, signal: AbortSignal): Promise<void> {
    const run = await this.#store.getRun(runId);
    if (run?.status !== 'running') return;
    if (!existsSync(run.file)) {
      // Started on another node, from a file of its disk: that node (or one with the same file) drives it.
      this.#notHere.add(runId);
      this.#o.log.warn(`Workflow run ${runId}: its module ${run.file} is not on this node; left to a node that has it.`);
      return this.#store.releaseRun(runId, this.#owner);
    }
    let program: WorkflowFunction;
    try {
      program = await this.#load(run.file);
    } catch (err) {
      return this.#end(run, 'failed', { reason: errorMessage(err) });
    }
    const context = new ProgramContext(this.#host(run, signal));
    let result: unknown;
    try {
      result = await context.run(() => program(context.api(), run.input));
    } catch (err) {
      if (!context.stopped && !signal.aborted) return this.#end(run, 'failed', { reason: `The program threw: ${errorMessage(err)}` });
    }
    if (context.stopped?.status === 'failed') return this.#end(run, 'failed', { reason: context.stopped.message });
    // Cancelled or paused: recorded by whoever stopped it. The node stopping: the run stays for the next start.
    if (context.stopped || signal.aborted) return this.#store.releaseRun(runId, this.#owner);
    let value: unknown;
    try {
      value = result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (err) {
      return this.#end(run, 'failed', { reason: `The program's result is not JSON: ${errorMessage(err)}` });
    }
    return this.#end(run, 'completed', { result: value });
  }

  async #end(run: WorkflowRunRecord, status: 'completed' | 'failed', how: { reason?: string; result?: unknown }): Promise<void> {
    // A cancel meanwhile wins.
    const ended = await this.#store.updateRun(run.id, { status, reason: how.reason ?? null, result: how.result ?? null, endedAt: Date.now(), owner: null, leaseUntil: null }, ['running']);
    if (!ended) return;
    await this.#changed(ended, status, how.reason);
    if (status === 'failed') this.#o.log.warn(`Workflow run ${run.id} (${run.name}) failed: ${how.reason}`);
  }

  #host(run: WorkflowRunRecord, signal: AbortSignal): StepHost {
    return {
      runId: run.id,
      signal,
      journal: this.#store,
      beforeNewStep: () => this.#beforeNewStep(run.id, signal),
      runAgent: (step, prompt, options) => {
        assertStepReach(this.#o.settings(), run, step.agentId!, 'agent');
        const deps = { stores: this.#o.stores, orchestrator: this.#o.orchestrator, agentIds: () => Object.keys(this.#o.settings().agents ?? {}), waits: this.#waits! };
        return runAgentStep(deps, run, step, prompt, options, signal, (conversationId) => this.#stepChanged(run.id, { ...step, conversationId }));
      },
      runTask: (step, spec, options) => {
        const flow = this.#o.taskFlow;
        if (!flow) throw new TinyError('INVALID_STATE', 'This node has no task flow: a task step cannot run here.');
        assertStepReach(this.#o.settings(), run, spec.agent, 'task');
        const deps = { flow, stores: this.#o.stores, agentIds: () => Object.keys(this.#o.settings().agents ?? {}) };
        return runTaskStep(deps, run, step, spec, signal, (taskId) => this.#stepChanged(run.id, { ...step, taskId }), options);
      },
      runStep: async (fn) => fn(),
      diffs: (taskIds, maxChars) => Promise.all(taskIds.map((id) => this.#diffText(id, maxChars))),
      setAside: async (taskIds, why) => {
        for (const id of taskIds) await this.#o.taskFlow?.patch(id, { status: 'backlog' });
        this.#o.log.info(`workflow ${run.name} (${run.id}): ${taskIds.length} task(s) moved to the Backlog: ${why}`);
      },
      merge: async (taskId) => {
        const flow = this.#o.taskFlow;
        if (!flow) throw new TinyError('INVALID_STATE', 'This node has no task flow: a best of N cannot merge its winner here.');
        return flow.mergeWinner(taskId);
      },
      stepChanged: (step) => this.#stepChanged(run.id, step),
      log: (message) => this.#o.log.info(`workflow ${run.name} (${run.id}): ${message}`),
    };
  }

  /** Whether a new step may start: the run still runs here, and its budget is not spent (else it pauses). */
  async #beforeNewStep(runId: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    const run = await this.#store.getRun(runId);
    if (run?.status === 'cancelled') throw new RunStop('cancelled', run.reason ?? 'cancelled');
    if (run?.status !== 'running' || run.owner !== this.#owner) throw new RunStop('paused', `the run is ${run?.status ?? 'gone'} or driven elsewhere`);
    if (run.budgetUsd === null && run.budgetTokens === null) return;
    const spent = (await this.#store.totals([runId])).get(runId)!;
    const over = overBudget(run, spent);
    if (!over) return;
    const reason = `Paused at its budget: ${over}. The steps already running finish; resume it with a larger budget.`;
    const paused = await this.#store.updateRun(runId, { status: 'paused', reason, owner: null, leaseUntil: null }, ['running']);
    if (!paused) throw new RunStop('paused', 'the run changed meanwhile (cancelled, or paused by another step)');
    await this.#changed(paused, 'paused', reason);
    // A person is asked (the workflow_budget approval); unasked, a resume by hand still goes on.
    await requestBudgetApproval(this.#o.stores, paused, spent).catch((err: unknown) => this.#o.log.warn(`Workflow run ${runId}: asking a person about its budget failed: ${errorMessage(err)}`));
    throw new RunStop('paused', reason);
  }

  async #diffText(taskId: string, maxChars: number): Promise<string> {
    const task = await this.#o.stores.tasks.mustGetTask(taskId);
    const diff = await this.#o.taskFlow!.diff(task);
    const text = diff.files.map((f) => f.patch).join('\n');
    return text.length > maxChars ? `${text.slice(0, maxChars)}\n… (${text.length - maxChars} more characters)` : text;
  }

  async #load(file: string): Promise<WorkflowFunction> {
    let mod: unknown;
    try {
      const stat = statSync(file);
      // A new URL when the file changed: a resume after an edit loads the edit.
      const url = `${pathToFileURL(file).href}?v=${stat.mtimeMs}-${stat.size}`;
      mod = await (this.#o.importModule ?? ((u: string) => import(u)))(url);
    } catch (err) {
      throw new TinyError('VALIDATION_FAILED', `The workflow ${file} could not be loaded: ${errorMessage(err)}`);
    }
    const program = (mod as { default?: unknown } | undefined)?.default;
    if (typeof program !== 'function') throw new TinyError('VALIDATION_FAILED', `The workflow ${file} has no default export that is a function: export default async (wf, input) => { … }.`);
    return program as WorkflowFunction;
  }

  // ---- Records and events ----

  async #mustGet(id: string): Promise<WorkflowRunRecord> {
    const run = await this.#store.getRun(id);
    if (!run) throw new TinyError('WORKFLOW_NOT_FOUND', `No workflow run ${id}.`, { hint: 'tinyagi workflow list shows the runs.' });
    return run;
  }

  async #view(run: WorkflowRunRecord): Promise<WorkflowRun> {
    return toRunView(run, (await this.#store.totals([run.id])).get(run.id));
  }

  async #changed(run: WorkflowRunRecord, status: WorkflowRunStatus, reason?: string | null): Promise<void> {
    await this.#o.stores.events.append({ type: 'workflow.changed', data: { runId: run.id, name: run.name, status, ...(reason ? { reason } : {}) } });
  }

  #stepChanged(runId: string, step: Pick<WorkflowStepRecord, 'stepId' | 'kind' | 'status' | 'conversationId' | 'taskId' | 'agentId' | 'costUsd' | 'tokens' | 'error'>): void {
    void Promise.resolve(
      this.#o.stores.events.append({
        type: 'workflow.step',
        conversationId: step.conversationId,
        agentId: step.agentId,
        data: {
          runId,
          stepId: step.stepId,
          kind: step.kind,
          status: step.status,
          costUsd: step.costUsd,
          tokens: step.tokens,
          ...(step.taskId ? { taskId: step.taskId } : {}),
          ...(step.error ? { error: step.error } : {}),
        },
      }),
    ).catch((err: unknown) => this.#o.log.warn(`Could not record workflow ${runId}'s step ${step.stepId}: ${errorMessage(err)}`));
  }
}

/**
 * A step of a run an agent started goes only where that agent may reach: its `may_call` and every
 * agent's up its chain (CALL_NOT_ALLOWED naming whose setting, as a call or a handoff says it); a
 * task step, whose agent the task flow runs with its own settings, only to an agent sandboxed at
 * least as tightly as the chain. An unknown agent is left to the step (AGENT_NOT_FOUND).
 */
function assertStepReach(settings: Settings, run: WorkflowRunRecord, to: string, kind: 'agent' | 'task'): void {
  if (!run.chain || !ownEntry(settings.agents, to)) return;
  const refused = reachRefusal(settings, { from: run.startedBy, ...run.chain }, to)?.message ?? (kind === 'task' ? unconfinedWorkRefusal(settings, run.chain.confinedBy, to) : undefined);
  if (refused) throw new TinyError('CALL_NOT_ALLOWED', `CALL_NOT_ALLOWED: ${refused} (@${run.startedBy} started this workflow run.)`);
}

/** The run's input as the journal keeps it (JSON; null when none), or VALIDATION_FAILED. */
function inputValue(input: unknown): unknown {
  try {
    return input === undefined ? null : JSON.parse(JSON.stringify(input));
  } catch (err) {
    throw new TinyError('VALIDATION_FAILED', `The workflow's input is not JSON: ${errorMessage(err)}`);
  }
}

/** An absolute path of an existing module file (VALIDATION_FAILED otherwise). */
function checkedFile(file: string): string {
  const problem = workflowFileProblem(file);
  if (problem) throw new TinyError('VALIDATION_FAILED', problem);
  return file;
}

/** What is wrong with `file` as a workflow module on this node (not absolute, another extension, not a file), or undefined. The API's route says it of `body.file`. */
export function workflowFileProblem(file: string): string | undefined {
  const shown = JSON.stringify(file.slice(0, 200));
  if (!isAbsolute(file)) return `${shown} is not an absolute path; give the module's full path on the daemon's machine.`;
  if (!EXTENSIONS.has(extname(file))) return `${shown} is not a .ts, .mts, .js or .mjs module.`;
  if (!existsSync(file) || !statSync(file).isFile()) return `No workflow file ${shown}: it is not a file on this node.`;
  return undefined;
}

function overBudget(budget: { budgetUsd: number | null; budgetTokens: number | null }, spent: { costUsd: number; tokens: number }): string | undefined {
  if (budget.budgetUsd !== null && spent.costUsd >= budget.budgetUsd) return `spent $${spent.costUsd.toFixed(4)} of $${budget.budgetUsd}`;
  if (budget.budgetTokens !== null && spent.tokens >= budget.budgetTokens) return `used ${spent.tokens} of ${budget.budgetTokens} tokens`;
  return undefined;
}

function toRunView(run: WorkflowRunRecord, totals: { costUsd: number; tokens: number; total: number; running: number; completed: number; failed: number } | undefined): WorkflowRun {
  const t = totals ?? { costUsd: 0, tokens: 0, total: 0, running: 0, completed: 0, failed: 0 };
  return {
    id: run.id,
    name: run.name,
    registered: run.registered,
    startedBy: run.startedBy,
    file: run.file,
    input: run.input,
    status: run.status,
    result: run.result,
    reason: run.reason,
    budget: { usd: run.budgetUsd, tokens: run.budgetTokens },
    costUsd: t.costUsd,
    tokens: t.tokens,
    steps: { total: t.total, running: t.running, completed: t.completed, failed: t.failed },
    node: run.status === 'running' && run.owner ? run.owner.split('/')[0]! : null,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    endedAt: run.endedAt,
  };
}

function toStepView(step: WorkflowStepRecord): WorkflowStep {
  return {
    runId: step.runId,
    stepId: step.stepId,
    kind: step.kind,
    agentId: step.agentId,
    label: step.label,
    status: step.status,
    conversationId: step.conversationId,
    taskId: step.taskId,
    output: step.output,
    error: step.error,
    costUsd: step.costUsd,
    tokens: step.tokens,
    startedAt: step.startedAt,
    endedAt: step.endedAt,
  };
}
