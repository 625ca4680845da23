/**
 * A task's commands (its worktree's setup, its checks) confined like the agent that owns the task
 * (docs/sandbox.md, "A task's worktree"): when the owner is sandboxed, each command starts inside
 * the same kind of boundary as the agent's CLI, in the worktree — the worktree (and what a commit
 * needs) writable, the rest read-only, the credentials and the TinyAGI home hidden, the network
 * only through the agent's egress proxy, the agent's memory cap — and its `/bin/sh` launcher
 * leads the process group the check runner journals and kills. The owner is the task's assignee
 * agent, or for a team its first sandboxed agent (the leader first): any of them works in the
 * worktree. An owner set to `on` on a machine that cannot enforce the boundary runs its commands
 * unconfined, as its CLI runs; `required` refuses them (the check could not start, the reason
 * said). With no sandboxed owner there is no wrap and nothing changes. The commands start on the
 * node's sandbox host (its agents' networks and cgroups: the task flow passes it); without one each
 * command gets a host of its own, closed when its process is released (host.ts).
 */
import { ownEntry } from '../config/object-path.ts';
import type { Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { agentSandboxMode, type SandboxMode, sandboxModeOf, sandboxSpecFor } from './agent-spec.ts';
import { type FolderHold, folderHold } from './held-folders.ts';
import { sandboxHost } from './host.ts';
import type { SandboxHost } from '@tinyagi/sandbox';

/** The shape of git-tasks' `CheckWrap` (checks.ts), kept here without importing it. */
export type ConfinedCommandWrap = (spawn: { command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }) => Promise<{
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  extraPipes?: number;
  release?: () => void;
}>;

/** The agent whose sandbox a task's commands take, or undefined when none of its owners is sandboxed. */
export function taskSandboxAgent(settings: Settings, owner: { assigneeAgent: string | null; assigneeTeam: string | null }): string | undefined {
  const team = owner.assigneeTeam === null ? undefined : ownEntry(settings.teams, owner.assigneeTeam);
  const candidates = owner.assigneeAgent !== null ? [owner.assigneeAgent] : team === undefined ? [] : [team.leader_agent, ...(team.agents ?? [])];
  return candidates.find((id): id is string => typeof id === 'string' && agentSandboxMode(settings, id) !== 'off');
}

/** Runs each command inside `agentId`'s boundary on `host` (see the module's comment), in `mode` (default: the agent's own). */
export function confinedCommandWrap(
  settings: Settings,
  agentId: string,
  env: Env = process.env,
  host?: SandboxHost,
  mode: SandboxMode = agentSandboxMode(settings, agentId),
): ConfinedCommandWrap | undefined {
  const spec = sandboxSpecFor(settings, agentId, mode, env);
  if (spec === undefined) return undefined;
  return async ({ command, args, env: childEnv, cwd }) => {
    // `required` on a machine without the boundary throws here: the command does not start.
    const decision = (host ?? sandboxHost({ oneStart: true })).boundaryFor(agentId, spec, cwd, env);
    if (decision?.boundary === undefined) return { command, args, env: childEnv };
    const plain: Record<string, string> = {};
    for (const [key, value] of Object.entries(childEnv)) if (value !== undefined) plain[key] = value;
    // Found as spawn finds it: without a PATH, the C library's default.
    plain.PATH ??= '/usr/bin:/bin';
    const wrapped = await decision.boundary.wrap({ command, args, env: decision.boundary.env(plain) });
    return { command: wrapped.command, args: wrapped.args, env: wrapped.env, extraPipes: 1, release: wrapped.release };
  };
}

/**
 * The wrap for a task's commands: its owner's boundary; else, for a command in a held folder (a
 * worktree a confined run worked in: sandbox/held-folders.ts), the boundary of the agent whose
 * run worked there, or of the owner, at least `on`; else the command runs as it is.
 */
export function taskCommandWrap(settings: Settings, owner: { assigneeAgent: string | null; assigneeTeam: string | null }, env: Env = process.env, host?: SandboxHost): ConfinedCommandWrap {
  const agentId = taskSandboxAgent(settings, owner);
  const ownerWrap = agentId === undefined ? undefined : confinedCommandWrap(settings, agentId, env, host);
  if (ownerWrap) return ownerWrap;
  return async (spawn) => {
    const hold = folderHold(env, spawn.cwd);
    if (hold === undefined) return { command: spawn.command, args: spawn.args, env: spawn.env };
    const candidates = [hold.agent, ...hold.confinedBy, owner.assigneeAgent].filter((id): id is string => typeof id === 'string' && ownEntry(settings.agents, id) !== undefined);
    const heldAgent = candidates[0];
    const wrap = heldAgent === undefined ? undefined : confinedCommandWrap(settings, heldAgent, env, host, heldMode(settings, heldAgent, hold));
    if (wrap === undefined)
      throw new Error(`${spawn.cwd} is held (a confined run worked in it) and no agent's boundary is left to run its commands in; release it with tinyagi sandbox release after you looked at it`);
    return wrap(spawn);
  };
}

/** The sandbox a held folder's commands run in as `agentId`: `on` at least, `required` when an agent of the hold requires it. */
function heldMode(settings: Settings, agentId: string, hold: FolderHold): SandboxMode {
  return [agentId, ...hold.confinedBy].some((id) => sandboxModeOf(ownEntry(settings.agents, id)) === 'required') ? 'required' : 'on';
}
