/**
 * The agent's workflow tools (docs/workflows.md, "Registered workflows"): `start_workflow` starts
 * a workflow the person registered for the agent, by name, and answers at once with the run id
 * and what the run is forecast to cost (the same checks refuse a forecast as a start);
 * `workflow_status` says how a run the agent started stands. Both go through the run's own token,
 * so the daemon decides: the workflow must list the agent, the input must match its schema, and
 * the run's steps reach only the agents the agent may call. Listed for every agent (the tool list
 * is not built per agent); a refusal says which workflows the agent may start.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApiClient } from '@tinyagi/client';
import { MCP_AGENT_TOOLS, type WorkflowRun } from '@tinyagi/client/contract';

type ForRun = (body: (client: ApiClient, runId: string) => Promise<CallToolResult>) => Promise<CallToolResult>;

const json = (value: Record<string, unknown>): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value });

/** A run as the model reads it: its state, its steps done of all, and its result or why it stopped. */
export function workflowStatusOf(run: WorkflowRun): Record<string, unknown> {
  return {
    run_id: run.id,
    workflow: run.name,
    status: run.status,
    steps: { done: run.steps.completed, total: run.steps.total, running: run.steps.running, failed: run.steps.failed },
    ...(run.status === 'completed' ? { result: run.result } : {}),
    ...(run.reason ? { reason: run.reason } : {}),
    cost_usd: run.costUsd,
  };
}

export function registerWorkflowTools(server: McpServer, forRun: ForRun): void {
  const t = MCP_AGENT_TOOLS;
  server.registerTool('start_workflow', { title: t.start_workflow.title, description: t.start_workflow.description, inputSchema: t.start_workflow.input }, (args) =>
    forRun(async (client) => {
      const body = { workflow: args.name, ...(args.input === undefined ? {} : { input: args.input }) };
      const { forecast } = await client.forecastWorkflow({ body });
      const { run } = await client.startWorkflow({ body });
      return json({
        run_id: run.id,
        workflow: run.name,
        status: run.status,
        forecast: { cost_usd: forecast.costUsd, steps: forecast.steps, unpriced_steps: forecast.unpriced, ...(forecast.note ? { note: forecast.note } : {}) },
        next: `It runs on without you. Call workflow_status with {"run_id": "${run.id}"} to see how it stands: running, paused, completed (with its result), failed or cancelled (with the reason).`,
      });
    }),
  );
  server.registerTool('workflow_status', { title: t.workflow_status.title, description: t.workflow_status.description, inputSchema: t.workflow_status.input }, (args) =>
    forRun(async (client) => json(workflowStatusOf((await client.getWorkflowRun({ params: { id: args.run_id } })).run))),
  );
}
