/**
 * Workflows (docs/workflows.md): a program the person writes holds the plan; each step that starts
 * an agent is journaled, so a run replays after a crash without running a finished step again.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdParamsSchema, Int, IntParam, Num, NullableStr, NullableTimestamp, Str, StrArray, TimestampSchema } from './common.ts';

export const WORKFLOW_RUN_STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];
export const WORKFLOW_STEP_STATUSES = ['running', 'completed', 'failed'] as const;
export type WorkflowStepStatus = (typeof WORKFLOW_STEP_STATUSES)[number];
/** `agent`: a message to an agent, its reply the result; `task`: a git task of a bound project, to Review or until it cannot pass; `step`: the program's own function, its value journaled. */
export const WORKFLOW_STEP_KINDS = ['agent', 'task', 'step'] as const;
export type WorkflowStepKind = (typeof WORKFLOW_STEP_KINDS)[number];

/** A run's limits: it pauses before a new step once either is reached (steps already running finish). */
export const WorkflowBudgetSchema = z
  .object({
    usd: Num.positive().nullable(),
    /** Input plus output tokens (cache reads are billed input). */
    tokens: Int.positive().nullable(),
  })
  .meta({ id: 'WorkflowBudget' });
export type WorkflowBudget = z.infer<typeof WorkflowBudgetSchema>;

export const WorkflowRunSchema = z
  .object({
    id: Str,
    /** The registered workflow's name, or the module's file name without its extension. */
    name: Str,
    /** The registered workflow it was started as (settings' `workflows.<name>`); null for a module started by its path. */
    registered: NullableStr,
    /** Who started it: `person` (the API token, TinyOffice, the CLI), or the id of the agent whose run started it. */
    startedBy: Str,
    /** The module, an absolute path on the node that drives the run. */
    file: Str,
    input: z.unknown(),
    status: z.enum(WORKFLOW_RUN_STATUSES),
    /** The program's value once completed (null before). */
    result: z.unknown(),
    /** Why it failed, was cancelled or paused. */
    reason: NullableStr,
    budget: WorkflowBudgetSchema,
    costUsd: Num,
    tokens: Int,
    steps: z.object({ total: Int, running: Int, completed: Int, failed: Int }),
    /** The node driving it now (null when none is: paused, ended, or waiting for a node). */
    node: NullableStr,
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    endedAt: NullableTimestamp,
  })
  .meta({ id: 'WorkflowRun' });
export type WorkflowRun = z.infer<typeof WorkflowRunSchema>;

export const WorkflowStepSchema = z
  .object({
    runId: Str,
    /**
     * Where the call is in the program: `3:agent`, `2:parallel[1]/1:agent`, or a name the program
     * gave. The same call gets the same id on every replay.
     */
    stepId: Str,
    kind: z.enum(WORKFLOW_STEP_KINDS),
    /** The agent an `agent` or `task` step asked (null for `step`). */
    agentId: NullableStr,
    /** What it was asked, shortened to 500 characters (the whole prompt is in its conversation). */
    label: Str,
    status: z.enum(WORKFLOW_STEP_STATUSES),
    /** The agent step's conversation (null for `step`, or before it was sent). */
    conversationId: NullableStr,
    /** The task a `task` step made (null for the others, or before it was made). */
    taskId: NullableStr,
    output: z.unknown(),
    error: NullableStr,
    costUsd: Num,
    tokens: Int,
    startedAt: TimestampSchema,
    endedAt: NullableTimestamp,
  })
  .meta({ id: 'WorkflowStep' });
export type WorkflowStep = z.infer<typeof WorkflowStepSchema>;

/** The module extensions a workflow may have (the engine loads these alone). */
export const WORKFLOW_MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** Absolute, or from the user's home (`~/…`): not taken from TINYAGI_HOME/workflows/. */
const isAbsolutePath = (path: string): boolean => /^(?:\/|~(?:\/|$)|[A-Za-z]:[\\/])/.test(path);

/**
 * A registered workflow's module: an absolute path, or one relative to TINYAGI_HOME/workflows/
 * that stays inside it. Whether the file exists is checked when the workflow starts.
 */
export const RegisteredWorkflowFileSchema = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((file, ctx) => {
    if (file.includes('\0')) ctx.addIssue({ code: 'custom', message: 'A path must not contain a NUL byte' });
    else if (!WORKFLOW_MODULE_EXTENSIONS.some((ext) => file.endsWith(ext))) ctx.addIssue({ code: 'custom', message: 'must be a .ts, .mts, .js or .mjs module, e.g. "review.ts"' });
    else if (!isAbsolutePath(file) && file.split(/[\\/]/).includes('..')) {
      ctx.addIssue({ code: 'custom', message: 'a relative path stays inside TINYAGI_HOME/workflows/ (no ".."); give an absolute path for a module elsewhere' });
    }
  });

/**
 * The JSON Schema a registered workflow's input must match, as zod reads JSON Schema
 * (`z.fromJSONSchema`: types, properties, required, items, enums, bounds, patterns, `$defs`).
 */
export const WorkflowInputJsonSchema = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  try {
    z.fromJSONSchema(schema);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not a JSON Schema TinyAGI can check an input against: ${err instanceof Error ? err.message : String(err)}` });
  }
});

/**
 * A workflow the person registered in settings (`workflows.<name>`, docs/workflows.md "Registered
 * workflows"): started by its name, by a person or by an agent it lists.
 */
export const WorkflowSettingsSchema = z.looseObject({
  file: RegisteredWorkflowFileSchema,
  /** What it does, shown where the registered workflows are listed. */
  description: z.string().max(2000).optional(),
  input: WorkflowInputJsonSchema.optional(),
  /** The agents that may start it (the `start_workflow` tool); absent: none, only a person. */
  agents: z.array(Str).max(500).optional(),
});
export type WorkflowSettings = z.infer<typeof WorkflowSettingsSchema>;

/** A registered workflow as the API lists it. */
export const RegisteredWorkflowSchema = z
  .object({
    name: Str,
    description: NullableStr,
    /** Its module, resolved: an absolute path on the daemon's machine. */
    file: Str,
    /** Whether the module is there now (a start of a missing one is refused). */
    fileExists: Bool,
    /** The JSON Schema its input must match (null: any input). */
    input: z.record(z.string(), z.unknown()).nullable(),
    /** The agents that may start it. */
    agents: StrArray,
  })
  .meta({ id: 'RegisteredWorkflow' });
export type RegisteredWorkflow = z.infer<typeof RegisteredWorkflowSchema>;

const BudgetBody = {
  /** USD for the run (positive). */
  budgetUsd: Num.positive().max(1_000_000).optional(),
  budgetTokens: Int.positive().optional(),
};

/** Give exactly one of `file` and `workflow`. */
export const StartWorkflowBodySchema = z.object({
  /** An absolute path of a .ts, .mts, .js or .mjs module on the daemon's machine (a person's token only). */
  file: z.string().min(1).max(4096).optional(),
  /** The name of a registered workflow (settings' `workflows.<name>`): its module, and its `input` schema checks the input. */
  workflow: z.string().min(1).max(64).optional(),
  input: z.unknown().optional(),
  ...BudgetBody,
});
export type StartWorkflowBody = z.infer<typeof StartWorkflowBodySchema>;

export const ResumeWorkflowBodySchema = z.object(BudgetBody);
export type ResumeWorkflowBody = z.infer<typeof ResumeWorkflowBodySchema>;

const RangeUsd = z.object({ low: Num, high: Num });
const RangeTokens = z.object({ low: Int, high: Int });

/** One agent's share of a forecast: its planned steps and what similar past steps of its runtime and model cost. */
export const WorkflowForecastAgentSchema = z.object({
  agentId: Str,
  /** The runtime it runs on now (`claude`, `codex`, `opencode`, `mock`, …); null for an agent that does not exist. */
  provider: NullableStr,
  model: NullableStr,
  /** Agent steps, plus task steps (each counted once; a task may take several rounds). */
  steps: Int,
  /** The finished past runs of that runtime and model the range is read from (0: no history, so no range). */
  samples: Int,
  costUsd: RangeUsd,
  tokens: RangeTokens,
});
export type WorkflowForecastAgent = z.infer<typeof WorkflowForecastAgentSchema>;

/**
 * What a run is expected to cost, before it starts (docs/workflows.md, "Forecast"): the program is
 * planned once with no agent run (each agent step gives a stand-in reply), and each planned step
 * is priced from the usage of similar past runs: the same runtime and model, a prompt of similar
 * size. The range is the sum of each step's low (the 10th percentile) and high (the 90th; a task
 * step's high counts its rounds).
 */
export const WorkflowForecastSchema = z
  .object({
    costUsd: RangeUsd,
    /** Input plus output tokens (cache reads are billed input). */
    tokens: RangeTokens,
    /** The agent and task steps planned (a step the forecast runs no agent for). */
    steps: Int,
    /** Of those, the steps whose runtime and model have no past run: they are not in the range. */
    unpriced: Int,
    /** Whether the plan reached the program's end (false: cut, or the program stopped on a stand-in reply; `note` says why). */
    complete: Bool,
    note: NullableStr,
    agents: z.array(WorkflowForecastAgentSchema),
    /** What the finished runs of the same workflow (by name) cost, newest 20; null when there is none. */
    pastRuns: z.object({ runs: Int, costUsd: RangeUsd, tokens: RangeTokens }).nullable(),
  })
  .meta({ id: 'WorkflowForecast' });
export type WorkflowForecast = z.infer<typeof WorkflowForecastSchema>;

/** Give exactly one of `file` and `workflow`, as to start it. */
export const ForecastWorkflowBodySchema = z.object({
  file: z.string().min(1).max(4096).optional(),
  workflow: z.string().min(1).max(64).optional(),
  input: z.unknown().optional(),
});
export type ForecastWorkflowBody = z.infer<typeof ForecastWorkflowBodySchema>;

export const WorkflowRunDetailSchema = z.object({ run: WorkflowRunSchema, steps: z.array(WorkflowStepSchema) }).meta({ id: 'WorkflowRunDetail' });
export type WorkflowRunDetail = z.infer<typeof WorkflowRunDetailSchema>;

export const workflowsContract = {
  listWorkflows: route({
    method: 'GET',
    path: '/api/workflows',
    summary: 'The registered workflows (settings’ workflows.<name>): name, description, module, input schema and the agents that may start each',
    tag: 'workflows',
    response: z.object({ workflows: z.array(RegisteredWorkflowSchema) }),
  }),
  listWorkflowRuns: route({
    method: 'GET',
    path: '/api/workflows/runs',
    summary: 'Workflow runs, newest first; of a status, of a workflow (its name)',
    tag: 'workflows',
    query: z.object({ status: z.enum(WORKFLOW_RUN_STATUSES).optional(), name: z.string().min(1).max(200).optional(), limit: IntParam(1, 500).optional() }),
    response: z.object({ runs: z.array(WorkflowRunSchema) }),
  }),
  getWorkflowRun: route({
    method: 'GET',
    path: '/api/workflows/runs/:id',
    summary: 'One workflow run with its steps, in the order they started. An agent’s run token reads the runs its agent started',
    tag: 'workflows',
    auth: 'run',
    params: IdParamsSchema,
    response: WorkflowRunDetailSchema,
  }),
  startWorkflow: route({
    method: 'POST',
    path: '/api/workflows/runs',
    summary:
      'Start a workflow, a module by its path or a registered one by its name: the module is loaded and checked first (a module without a default function, or an input its schema refuses, is VALIDATION_FAILED). An agent’s run token starts only a registered workflow that lists its agent',
    tag: 'workflows',
    auth: 'run',
    status: 201,
    body: StartWorkflowBodySchema,
    response: z.object({ run: WorkflowRunSchema }),
  }),
  forecastWorkflow: route({
    method: 'POST',
    path: '/api/workflows/forecast',
    summary:
      'What a workflow would cost, before it starts: the program planned with stand-in replies (no agent runs, no step but the read-only ones), each step priced from similar past runs. Who may start it may forecast it',
    tag: 'workflows',
    auth: 'run',
    body: ForecastWorkflowBodySchema,
    response: z.object({ forecast: WorkflowForecastSchema }),
  }),
  cancelWorkflowRun: route({
    method: 'POST',
    path: '/api/workflows/runs/:id/cancel',
    summary: 'Cancel a run: no new step starts, and the agent steps running are cancelled with their conversations',
    tag: 'workflows',
    params: IdParamsSchema,
    response: z.object({ run: WorkflowRunSchema }),
  }),
  resumeWorkflowRun: route({
    method: 'POST',
    path: '/api/workflows/runs/:id/resume',
    summary: 'Resume a paused or failed run, with a new budget if given: the program replays, finished steps give their journaled results and the rest run',
    tag: 'workflows',
    params: IdParamsSchema,
    body: ResumeWorkflowBodySchema,
    response: z.object({ run: WorkflowRunSchema }),
  }),
};
