/**
 * What a confined run leaves behind stays confined (docs/sandbox.md, "What a confined run leaves
 * behind"). A confined run works read-write in its folder: an unsandboxed agent's own workspace
 * when a sandboxed agent called it, a task's worktree. Whatever it wrote there (a CLI's hooks,
 * `.mcp.json`, `package.json` scripts, a Makefile, `.git/hooks`, AGENTS.md) would run unconfined
 * the next time an unconfined run or command works there. So a confined run *holds* its folder
 * (core's sandbox/held-folders.ts): every later run there is confined by the same agents, and a
 * task's commands there run confined, until a person releases the folder.
 *
 * Not held: a sandboxed agent's runs in its own workspace (every run there is confined already).
 */
import type { Settings } from '@tinyagi/core';
import { agentWorkspaceDir, folderHold, holdFolder, type FolderHold } from '../core-internal.ts';
import { confinementFollowing, sandboxedAgent } from './confinement.ts';

export interface RunFolder {
  agentId: string;
  runId: string;
  /** Where the run works: a task's worktree, or the agent's workspace. */
  cwd: string;
}

/**
 * The agents whose confinement a run in `cwd` takes: those its messages carry, and a held
 * folder's (with the run's own agent, so an agent no other confines still runs at least `on`).
 */
export function confinementAt(env: NodeJS.ProcessEnv, run: RunFolder, fromMessages: readonly string[] | undefined): string[] {
  const hold = folderHold(env, run.cwd);
  const held = hold ? [...hold.confinedBy, run.agentId] : [];
  return [...new Set([...(fromMessages ?? []), ...held])];
}

/**
 * Holds the run's folder when the run is confined and the folder is not a sandboxed agent's own
 * workspace. Returns the hold when this run made or widened it (said on the run's progress).
 */
export function holdRunFolder(settings: Settings, env: NodeJS.ProcessEnv, run: RunFolder, confinedBy: readonly string[]): FolderHold | undefined {
  const own = sandboxedAgent(settings, run.agentId);
  if (confinedBy.length === 0 && !own) return undefined;
  if (own && run.cwd === agentWorkspaceDir(settings, run.agentId, env)) return undefined;
  const chain = confinementFollowing(settings, run.agentId, confinedBy);
  return holdFolder(env, { folder: run.cwd, agent: run.agentId, confinedBy: chain, runId: run.runId });
}

/** The status line a run that holds its folder reports. */
export function holdNote(hold: FolderHold): string {
  const by = hold.confinedBy.filter((id) => id !== hold.agent);
  return `${hold.folder} is now held: a confined run${by.length > 0 ? ` (for ${by.map((id) => `@${id}`).join(', ')})` : ''} works in it, so every later run and task command there runs confined too, until a person releases it (docs/sandbox.md, "What a confined run leaves behind")`;
}
