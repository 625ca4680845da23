/**
 * Workflows (docs/workflows.md): a program the person writes holds the plan; each step that starts
 * an agent is journaled, so a run replays after a crash without running a finished step again.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, Int, Num, NullableStr, NullableTimestamp, Str, TimestampSchema } from './common.ts';

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
    /** The module's file name without its extension. */
    name: Str,
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

const BudgetBody = {
  /** USD for the run (positive). */
  budgetUsd: Num.positive().max(1_000_000).optional(),
  budgetTokens: Int.positive().optional(),
};

export const StartWorkflowBodySchema = z.object({
  /** An absolute path of a .ts, .mts, .js or .mjs module on the daemon's machine. */
  file: z.string().min(1).max(4096),
  input: z.unknown().optional(),
  ...BudgetBody,
});
export type StartWorkflowBody = z.infer<typeof StartWorkflowBodySchema>;

export const ResumeWorkflowBodySchema = z.object(BudgetBody);
export type ResumeWorkflowBody = z.infer<typeof ResumeWorkflowBodySchema>;

export const WorkflowRunDetailSchema = z.object({ run: WorkflowRunSchema, steps: z.array(WorkflowStepSchema) }).meta({ id: 'WorkflowRunDetail' });
export type WorkflowRunDetail = z.infer<typeof WorkflowRunDetailSchema>;

export const workflowsContract = {
  listWorkflowRuns: route({
    method: 'GET',
    path: '/api/workflows/runs',
    summary: 'Workflow runs, newest first',
    tag: 'workflows',
    query: z.object({ status: z.enum(WORKFLOW_RUN_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(500).optional() }),
    response: z.object({ runs: z.array(WorkflowRunSchema) }),
  }),
  getWorkflowRun: route({
    method: 'GET',
    path: '/api/workflows/runs/:id',
    summary: 'One workflow run with its steps, in the order they started',
    tag: 'workflows',
    params: IdParamsSchema,
    response: WorkflowRunDetailSchema,
  }),
  startWorkflow: route({
    method: 'POST',
    path: '/api/workflows/runs',
    summary: 'Start a workflow: the module is loaded and checked first (a module without a default function is VALIDATION_FAILED). A person’s token only: an agent’s run token is refused',
    tag: 'workflows',
    status: 201,
    body: StartWorkflowBodySchema,
    response: z.object({ run: WorkflowRunSchema }),
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
