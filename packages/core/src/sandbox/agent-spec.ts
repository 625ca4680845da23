/**
 * An agent's sandbox as its settings say it (docs/sandbox.md, "Settings"), and as a confined run
 * runs it. The one reading of `agents.<id>.sandbox` for a launch: `agentSandboxMode`. `on` or
 * `required` give a `SandboxSpec` (with where the TinyAGI home and the workspace root are, the
 * memory cap, and the values that never enter it: withheld.ts), `off` none. A run confined by
 * other agents (its callers' chain, a held folder) runs as `confinedAgent` says: the tightest
 * sandbox of its agent and theirs (`on` at least) and the narrowest permission mode. The launch
 * plan (invoker/launch-plan.ts) and a task's confined commands (task-commands.ts) use these.
 */
import { ownEntry } from '../config/object-path.ts';
import { resolveTinyHome, workspaceRoot, type Env } from '../config/paths.ts';
import type { AgentSettings, Settings } from '../config/schema.ts';
import { DEFAULT_SANDBOX_MEMORY_MB, type SandboxSpec } from '@tinyagi/sandbox';
import { type ConfigSecrets, withheldSecrets } from './withheld.ts';

/** Sandbox modes from the loosest to the tightest. */
export const SANDBOX_MODES = ['off', 'on', 'required'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];
type PermissionMode = NonNullable<AgentSettings['permission_mode']>;

/**
 * Permission modes from the widest to the narrowest. No mode is the runtimes' own default, which
 * for the CLIs TinyAGI drives is the bypass (Claude Code's --dangerously-skip-permissions, Codex's
 * bypass): as wide as `bypassPermissions`. `ask` lets a person allow what its rules do not;
 * `default` and `dontAsk` refuse what is not pre-approved; `plan` changes nothing.
 */
const PERMISSION_ORDER: readonly (PermissionMode | 'unset')[] = ['unset', 'bypassPermissions', 'acceptEdits', 'ask', 'default', 'dontAsk', 'plan'];

/** An agent's own sandbox setting (absent or unknown: off). */
export function sandboxModeOf(agent: Pick<AgentSettings, 'sandbox'> | undefined): SandboxMode {
  return agent?.sandbox === 'on' || agent?.sandbox === 'required' ? agent.sandbox : 'off';
}

/** `agents.<id>.sandbox` (absent agent or setting: off). */
export function agentSandboxMode(settings: Settings, agentId: string): SandboxMode {
  return sandboxModeOf(ownEntry(settings.agents, agentId));
}

/** Whether `a` confines at least as tightly as `b`. */
export function sandboxAtLeast(a: SandboxMode, b: SandboxMode): boolean {
  return SANDBOX_MODES.indexOf(a) >= SANDBOX_MODES.indexOf(b);
}

function permissionRank(mode: PermissionMode | undefined): number {
  return PERMISSION_ORDER.indexOf(mode ?? 'unset');
}

/**
 * `agentId` as a run confined by `confinedBy` runs it: the tightest sandbox of it and them (`on` at
 * least: a confined run is one that was sandboxed), the narrowest permission mode. Agents of the
 * chain that no longer exist count by that floor only. Unchanged (the same object) when nothing
 * confines the run or nothing tightens.
 */
export function confinedAgent(settings: Settings, agentId: string, own: AgentSettings, confinedBy: readonly string[]): AgentSettings {
  if (confinedBy.length === 0) return own;
  let sandbox = sandboxModeOf(own) === 'off' ? 'on' : sandboxModeOf(own);
  let mode = own.permission_mode;
  for (const id of confinedBy) {
    const other = id === agentId ? undefined : ownEntry(settings.agents, id);
    if (other === undefined) continue;
    if (!sandboxAtLeast(sandbox, sandboxModeOf(other))) sandbox = sandboxModeOf(other);
    if (permissionRank(other.permission_mode) > permissionRank(mode)) mode = other.permission_mode;
  }
  if (sandbox === own.sandbox && mode === own.permission_mode) return own;
  return { ...own, sandbox, ...(mode === undefined ? {} : { permission_mode: mode }) };
}

/** The boundary of `agentId` run in `mode` (none for `off`). `configs`: what the user's CLI configs hold (invoker/cli-config-secrets.ts). */
export function sandboxSpecFor(settings: Settings, agentId: string, mode: SandboxMode, env: Env = process.env, configs?: ConfigSecrets): SandboxSpec | undefined {
  if (mode === 'off') return undefined;
  return {
    mode,
    tinyHome: resolveTinyHome(env),
    workspaceRoot: workspaceRoot(settings, env),
    memoryMb: settings.sandbox?.memory_mb ?? DEFAULT_SANDBOX_MEMORY_MB,
    withheld: withheldSecrets(settings, agentId, env, configs),
  };
}

/** The boundary of `agentId` as its own setting says. */
export function sandboxSpecOf(settings: Settings, agentId: string, env: Env = process.env, configs?: ConfigSecrets): SandboxSpec | undefined {
  return sandboxSpecFor(settings, agentId, agentSandboxMode(settings, agentId), env, configs);
}
