/**
 * What a confined run leaves behind stays confined (docs/sandbox.md, "What a confined run leaves
 * behind"). A confined run works read-write in its folder: an unsandboxed agent's own workspace
 * when a sandboxed agent called it, a task's worktree. Whatever it wrote there (a CLI's hooks,
 * `.mcp.json`, `package.json` scripts, a Makefile, `.git/hooks`, AGENTS.md) would run unconfined
 * the next time an unconfined run or command works there. So a confined run *holds* its folder
 * (core's sandbox/held-folders.ts): every later run there is confined by the same agents, and a
 * task's commands there run confined, until a person releases the folder. A later run reads the
 * hold into its launch plan (core's invoker/launch-plan.ts), which confines it by the hold's agents.
 *
 * Not held: a sandboxed agent's runs in its own workspace (every run there is confined already).
 */
import { holdFolder, type FolderHold, type LaunchConfinement } from '../core-internal.ts';

export interface RunFolder {
  agentId: string;
  runId: string;
  /** Where the run works: a task's worktree, or the agent's workspace. */
  cwd: string;
  /** The agent's own workspace. */
  workspace: string;
}

/**
 * Holds the run's folder when its launch is confined (its plan's confinement: the chain and the
 * folder's hold are in it) and the folder is not a sandboxed agent's own workspace. Returns the
 * hold when this run made or widened it (said on the run's progress).
 */
export function holdRunFolder(env: NodeJS.ProcessEnv, run: RunFolder, confinement: Pick<LaunchConfinement, 'own' | 'mode' | 'confinedBy'>): FolderHold | undefined {
  if (confinement.mode === 'off') return undefined;
  if (confinement.own !== 'off' && run.cwd === run.workspace) return undefined;
  const chain = [...new Set([...confinement.confinedBy, run.agentId])];
  return holdFolder(env, { folder: run.cwd, agent: run.agentId, confinedBy: chain, runId: run.runId });
}

/** The status line a run that holds its folder reports. */
export function holdNote(hold: FolderHold): string {
  const by = hold.confinedBy.filter((id) => id !== hold.agent);
  return `${hold.folder} is now held: a confined run${by.length > 0 ? ` (for ${by.map((id) => `@${id}`).join(', ')})` : ''} works in it, so every later run and task command there runs confined too, until a person releases it (docs/sandbox.md, "What a confined run leaves behind")`;
}
