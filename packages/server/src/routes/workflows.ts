/**
 * Workflow runs through the workflow engine (`ctx.workflows`, teams' `WorkflowService`;
 * docs/workflows.md): start, list, read, cancel and resume. Starting a run runs the person's code
 * in the daemon, so every route here is the contract's default `token` auth: the API token or
 * TinyOffice's login, never an agent's run token or a channel's token (security/guard.ts).
 */
import { stat } from 'node:fs/promises';
import { extname, isAbsolute } from 'node:path';
import type { workflowsContract } from '@tinyagi/client/contract';
import { RequestError } from '../errors.ts';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';

const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const EXTENSION_NAMES = '.ts, .mts, .js or .mjs';

function invalidFile(message: string): RequestError {
  return new RequestError('VALIDATION_FAILED', `Invalid body: file: ${message}`, { issues: [{ path: 'body.file', message }] });
}

/**
 * The module must be an absolute path of an existing .ts, .mts, .js or .mjs file on this node. The
 * engine checks it again as it loads it; this gives the clear 400 before anything is recorded.
 */
async function checkModuleFile(file: string): Promise<void> {
  if (!isAbsolute(file)) throw invalidFile(`"${file.slice(0, 200)}" is not an absolute path; give the module's full path on the daemon's machine.`);
  if (!MODULE_EXTENSIONS.includes(extname(file))) throw invalidFile(`"${file.slice(0, 200)}" is not a ${EXTENSION_NAMES} module.`);
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) throw invalidFile(`"${file.slice(0, 200)}" is not a file on the daemon's machine.`);
}

export function workflowRoutes(ctx: ServerContext): RouteHandlers<keyof typeof workflowsContract> {
  return {
    listWorkflowRuns: async ({ query }) => ({ runs: await ctx.workflows.listRuns(query) }),
    getWorkflowRun: ({ params }) => ctx.workflows.getRun(params.id),
    startWorkflow: async ({ body }) => {
      await checkModuleFile(body.file);
      return { run: await ctx.workflows.startRun(body) };
    },
    cancelWorkflowRun: async ({ params }) => ({ run: await ctx.workflows.cancelRun(params.id) }),
    resumeWorkflowRun: async ({ params, body }) => ({ run: await ctx.workflows.resumeRun(params.id, body) }),
  };
}
