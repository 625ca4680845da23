/**
 * Workflows through the workflow engine (`ctx.workflows`, teams' `WorkflowService`;
 * docs/workflows.md): the registered ones, a run's forecast, and runs started, listed, read,
 * cancelled and resumed.
 * A run runs the person's code in the daemon, so:
 * - a module by its path (`file`) is started by a person only (the API token or TinyOffice's login);
 * - a registered workflow (`workflow`, settings' `workflows.<name>`) by a person, or by an agent's
 *   run token when the workflow lists that agent; the run then records the agent, and the engine
 *   holds its steps to what the agent may reach;
 * - a forecast runs the module's program (with stand-in results), so who may start it may forecast it;
 * - an agent's run token reads the runs its agent started, and nothing else here (listing,
 *   cancel and resume are a person's: security/guard.ts refuses a run token on them).
 */
import * as z from 'zod';
import type { ForecastWorkflowBody, RegisteredWorkflow, workflowsContract } from '@tinyagi/client/contract';
import { TinyError } from '@tinyagi/core';
import { workflowFileProblem } from '@tinyagi/teams';
import { registeredWorkflow, registeredWorkflows } from '../core-internal.ts';
import { RequestError } from '../errors.ts';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { AuthInfo } from '../security/guard.ts';

function invalid(field: string, message: string): RequestError {
  return new RequestError('VALIDATION_FAILED', `Invalid body: ${field}: ${message}`, { issues: [{ path: `body.${field}`, message }] });
}

/** The module's path, checked as the engine checks it, as a 400 naming `body.file` before anything is recorded. */
function checkModuleFile(file: string): void {
  const problem = workflowFileProblem(file);
  if (problem) throw invalid('file', problem);
}

/** The input against the registered workflow's JSON Schema: a 400 naming the path of each problem (`body.input.files.0`). */
function checkInput(workflow: RegisteredWorkflow, input: unknown): void {
  if (workflow.input === null) return;
  const checked = z.fromJSONSchema(workflow.input).safeParse(input ?? null);
  if (checked.success) return;
  const issues = checked.error.issues.slice(0, 50).map((i) => ({ path: ['body', 'input', ...i.path.map(String)].join('.'), message: i.message }));
  throw new RequestError('VALIDATION_FAILED', `Invalid body: input does not match workflow "${workflow.name}"'s input schema: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    issues,
  });
}

/** The agent whose run token made the request (undefined for a person). */
async function starterOf(ctx: ServerContext, auth: AuthInfo): Promise<{ agentId: string; runId: string } | undefined> {
  if (auth.kind !== 'run') return undefined;
  const run = await ctx.stores.runs.getRun(auth.runId);
  if (!run) throw new RequestError('SCOPE_FORBIDDEN', 'This run-scoped token names no run.');
  return { agentId: run.agentId, runId: run.id };
}

/** The registered workflows an agent may start, for a refusal: `"review", "nightly"`, or that there is none. */
function startableBy(ctx: ServerContext, agentId: string): string {
  const names = registeredWorkflows(ctx.settings(), ctx.home, ctx.env)
    .filter((w) => w.agents.includes(agentId))
    .map((w) => `"${w.name}"`);
  return names.length > 0 ? `@${agentId} may start ${names.join(', ')}.` : `No registered workflow lists @${agentId} in its agents.`;
}

/** The registered workflow `name`, which the starter (an agent, or a person when undefined) may start and whose module is there. */
function registeredToStart(ctx: ServerContext, name: string, starter: { agentId: string } | undefined): RegisteredWorkflow {
  const workflow = registeredWorkflow(ctx.settings(), ctx.home, name, ctx.env);
  if (!workflow) {
    const known = registeredWorkflows(ctx.settings(), ctx.home, ctx.env).map((w) => `"${w.name}"`);
    const which = starter ? startableBy(ctx, starter.agentId) : known.length > 0 ? `Registered: ${known.join(', ')}.` : 'None is registered (settings: workflows.<name>).';
    throw new TinyError('WORKFLOW_NOT_FOUND', `No registered workflow "${name.slice(0, 64)}".`, { hint: which });
  }
  if (starter && !workflow.agents.includes(starter.agentId)) {
    throw new RequestError(
      'SCOPE_FORBIDDEN',
      `@${starter.agentId} may not start workflow "${name}": workflows.${name}.agents does not list it (a person adds "${starter.agentId}" there to allow it). ${startableBy(ctx, starter.agentId)}`,
    );
  }
  if (!workflow.fileExists) throw invalid('workflow', `the module of workflow "${name}", ${workflow.file}, is not a file on the daemon's machine (settings: workflows.${name}.file).`);
  return workflow;
}

/** What to start: a module by its path (a person only), or a registered workflow by its name. */
async function moduleToStart(ctx: ServerContext, body: ForecastWorkflowBody, starter: { agentId: string } | undefined): Promise<{ file: string; registered?: string }> {
  if ((body.file === undefined) === (body.workflow === undefined)) {
    throw invalid('workflow', 'give either "file" (a module\'s absolute path) or "workflow" (the name of a registered workflow), not both or neither.');
  }
  if (body.workflow !== undefined) {
    const workflow = registeredToStart(ctx, body.workflow, starter);
    checkInput(workflow, body.input);
    return { file: workflow.file, registered: workflow.name };
  }
  if (starter) {
    throw new RequestError(
      'SCOPE_FORBIDDEN',
      'An agent\'s run token starts only a registered workflow that lists its agent, by name ("workflow"); a module by its path is a person\'s code, which only a person starts.',
    );
  }
  checkModuleFile(body.file!);
  return { file: body.file! };
}

export function workflowRoutes(ctx: ServerContext): RouteHandlers<keyof typeof workflowsContract> {
  return {
    listWorkflows: () => ({ workflows: registeredWorkflows(ctx.settings(), ctx.home, ctx.env) }),
    listWorkflowRuns: async ({ query }) => ({ runs: await ctx.workflows.listRuns(query) }),
    getWorkflowRun: async ({ params, auth }) => {
      const detail = await ctx.workflows.getRun(params.id);
      const reader = await starterOf(ctx, auth);
      if (reader && detail.run.startedBy !== reader.agentId) throw new RequestError('SCOPE_FORBIDDEN', `A run-scoped token reads only the workflow runs its agent (@${reader.agentId}) started.`);
      return detail;
    },
    startWorkflow: async ({ body, auth }) => {
      const starter = await starterOf(ctx, auth);
      const { file, registered } = await moduleToStart(ctx, body, starter);
      const { workflow: _name, file: _file, ...rest } = body;
      return { run: await ctx.workflows.startRun({ ...rest, file, ...(registered ? { registered } : {}), ...(starter ? { startedBy: starter } : {}) }) };
    },
    forecastWorkflow: async ({ body, auth }) => {
      const { file, registered } = await moduleToStart(ctx, body, await starterOf(ctx, auth));
      return { forecast: await ctx.workflows.forecast({ file, input: body.input, ...(registered ? { registered } : {}) }) };
    },
    cancelWorkflowRun: async ({ params }) => ({ run: await ctx.workflows.cancelRun(params.id) }),
    resumeWorkflowRun: async ({ params, body }) => ({ run: await ctx.workflows.resumeRun(params.id, body) }),
  };
}
