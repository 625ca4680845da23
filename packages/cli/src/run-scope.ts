/**
 * The agent run a command inside an agent's shell acts for (`tinyagi call`, `tinyagi mcp`'s agent
 * tools): the run's variables the daemon gives the CLI. A warm agent process outlives its runs
 * (docs/sessions.md), so its current run is in the file TINYAGI_RUN_FILE names (rewritten before
 * each turn), which wins over the environment.
 */
import { readFileSync } from 'node:fs';

export interface RunScope {
  apiUrl: string;
  runId: string;
  token: string;
}

/** The run's API URL, id and token; undefined outside an agent run. Read at every call (a warm session's run changes). */
export function runScopeFrom(env: NodeJS.ProcessEnv): RunScope | undefined {
  const merged: Record<string, string | undefined> = { ...env, ...readRunFile(env.TINYAGI_RUN_FILE) };
  const apiUrl = merged.TINYAGI_API_URL;
  const runId = merged.TINYAGI_RUN_ID;
  const token = merged.TINYAGI_RUN_TOKEN;
  return apiUrl && runId && token ? { apiUrl, runId, token } : undefined;
}

/** The TINYAGI_* variables of a warm session's run file; nothing when there is none or it cannot be read. */
function readRunFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0].startsWith('TINYAGI_')));
  } catch {
    return {};
  }
}
