/**
 * Tools tokens (docs/mcp.md, "How each CLI gets it"): the credential an agent CLI process
 * presents to TinyAGI's agent tools on the daemon's `/mcp` (TINYAGI_TOOLS_TOKEN in its
 * environment), one per process, mapped here to the run the process works on now. A CLI reads
 * its MCP configuration once, at start, and a warm process outlives its runs: its token stays,
 * the run behind it changes every turn (invoke-warm.ts sets it, as it rewrites the run file); a
 * per-message process gets a token for its one run.
 *
 * The token is random and lives only in this daemon's memory: it means nothing once its process
 * has exited (closed here) or the daemon restarts. It grants no more than the run's own token:
 * the tools act with the current run's token, so the API's checks stay the same (that run only,
 * while it runs; the token of one agent's process only ever maps to runs of that process).
 */
import { randomBytes } from 'node:crypto';

const PREFIX = 'tools.';

/** The variable that carries a CLI process's tools token. */
export const TOOLS_TOKEN_ENV = 'TINYAGI_TOOLS_TOKEN';

/** The run a tools token acts for now. */
export interface ToolsRun {
  runId: string;
  runToken: string;
}

const current = new Map<string, ToolsRun | undefined>();

function runOf(env: Record<string, string>): ToolsRun | undefined {
  const runId = env['TINYAGI_RUN_ID'];
  const runToken = env['TINYAGI_RUN_TOKEN'];
  return runId && runToken ? { runId, runToken } : undefined;
}

/** A new token for one CLI process, acting for the run of `env` (TINYAGI_RUN_ID, TINYAGI_RUN_TOKEN). */
export function openToolsToken(env: Record<string, string>): string {
  const token = `${PREFIX}${randomBytes(24).toString('base64url')}`;
  current.set(token, runOf(env));
  return token;
}

/** The process's run for its next turn. */
export function setToolsRun(token: string, env: Record<string, string>): void {
  if (current.has(token)) current.set(token, runOf(env));
}

export function closeToolsToken(token: string): void {
  current.delete(token);
}

export function isToolsToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** Whether the token belongs to a process that is still there. */
export function toolsTokenOpen(token: string): boolean {
  return current.has(token);
}

/** The run the token acts for now; undefined for an unknown token or a process given no run. */
export function toolsRunOf(token: string): ToolsRun | undefined {
  return current.get(token);
}

/** Runs a per-message invocation with a tools token for its run, closed when it ends. */
export async function withToolsToken<T>(env: Record<string, string> | undefined, run: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const token = openToolsToken(env ?? {});
  try {
    return await run({ ...env, [TOOLS_TOKEN_ENV]: token });
  } finally {
    closeToolsToken(token);
  }
}
