/**
 * What the surfaces (the API's routes, and through them the CLI, TinyOffice and MCP) ask of the
 * workflow engine (docs/workflows.md). `Workflows` (./engine.ts) implements it on every node.
 */
import type { WorkflowForecast, WorkflowRun, WorkflowRunDetail, WorkflowRunStatus } from '@tinyagi/client/contract';

export interface WorkflowBudgetInput {
  budgetUsd?: number | undefined;
  budgetTokens?: number | undefined;
}

export interface StartWorkflowInput extends WorkflowBudgetInput {
  /** An absolute path of the module (.ts, .mts, .js, .mjs) on this node. */
  file: string;
  input?: unknown;
  /** The registered workflow it is started as (settings' `workflows.<name>`): the run is named after it. */
  registered?: string | undefined;
  /**
   * The agent whose run starts it (its run token), when an agent does; absent: a person. The run's
   * agent and task steps are then held to what that agent may reach, and confined by it.
   */
  startedBy?: { agentId: string; runId: string } | undefined;
}

export interface WorkflowService {
  /** Loads and checks the module (VALIDATION_FAILED naming what is wrong), records the run and starts it. */
  startRun(input: StartWorkflowInput): Promise<WorkflowRun>;
  /** What a run of the module would cost (docs/workflows.md, "Forecast"): planned with stand-in results, priced from past runs. Nothing is recorded. */
  forecast(input: Pick<StartWorkflowInput, 'file' | 'input' | 'registered'>): Promise<WorkflowForecast>;
  /** Newest first. */
  listRuns(query?: { status?: WorkflowRunStatus | undefined; name?: string | undefined; limit?: number | undefined }): Promise<WorkflowRun[]>;
  /** WORKFLOW_NOT_FOUND when there is none. */
  getRun(id: string): Promise<WorkflowRunDetail>;
  /** No new step starts; the agent steps running are cancelled. An ended run is INVALID_STATE. */
  cancelRun(id: string): Promise<WorkflowRun>;
  /** A paused or failed run replays (failed steps run again, as a new attempt); a running or completed run is INVALID_STATE. */
  resumeRun(id: string, budget?: WorkflowBudgetInput): Promise<WorkflowRun>;
}
