/**
 * An agent's sandbox status as every surface shows it (docs/sandbox.md, "A status that tells the
 * truth"): `enforced`, `degraded` (with the reason and the fix), `unknown` or `off`, from its
 * setting, its runtime and the self-test of the machine that runs it. Never a silent downgrade:
 * an agent set to `on` that runs unconfined is `degraded`, one set to `required` that cannot be
 * confined is `degraded` and does not run. With several nodes (nodes/sandbox.ts) the machine is
 * the agent's node's, as it published its check; `unknown` when that node is down or has not
 * published one: never another machine's word.
 */
import { agentProvider, customProviderRuntime } from '../config/runtime-names.ts';
import type { Settings } from '../config/schema.ts';
import { ownEntry } from '../config/object-path.ts';
import { agentWorkspaceDir, type Env } from '../config/paths.ts';
import { folderHold } from './held-folders.ts';
import { runtimeKinds } from '../kinds/registry.ts';
import { type MachineCheck, DEFAULT_SANDBOX_MEMORY_MB } from '@tinyagi/sandbox';

export const SANDBOX_STATES = ['enforced', 'degraded', 'unknown', 'off'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];
export type SandboxSetting = 'off' | 'on' | 'required';

export interface AgentSandboxStatus {
  /** What the agent's settings say (absent: off). */
  setting: SandboxSetting;
  state: SandboxState;
  /** Why not enforced (degraded). */
  reason?: string;
  /** What to change (degraded). */
  fix?: string;
  /** `required` and not enforced: its messages fail. */
  refused?: boolean;
  /** The memory cap (MB) when enforced and the machine makes cgroups; else why there is none. */
  memoryMb?: number;
  memoryNote?: string;
  /** Its workspace is held (sandbox/held-folders.ts): who confined the run that worked there, and since when. */
  held?: { folder: string; by: string[]; since: string };
  /** The node whose boundary this is (several nodes). */
  node?: string;
  /** An agent on no node: the live nodes where its state differs from this one. */
  elsewhere?: Array<{ node: string; state: SandboxState; reason?: string }>;
}

/** What is known of the boundary of the machine that runs an agent: its check, or why there is none to trust. */
export type MachineKnowledge = MachineCheck | { unknown: { reason: string; fix: string } } | undefined;

/** A runtime runs a process the boundary can confine: a CLI (its kind has a command) or an ACP agent. */
export function runtimeRunsProcess(kind: { name: string; command: string | null } | undefined): boolean {
  return kind !== undefined && (kind.command !== null || kind.name === 'acp');
}

export function agentSandboxStatus(input: {
  setting: SandboxSetting | undefined;
  runtime: { name: string; command: string | null } | undefined;
  machine: MachineKnowledge;
  memoryMb: number;
}): AgentSandboxStatus {
  const setting = input.setting ?? 'off';
  if (setting === 'off') return { setting, state: 'off' };
  const degraded = (reason: string, fix: string): AgentSandboxStatus => ({
    setting,
    state: 'degraded',
    reason: setting === 'required' ? `${reason}; it does not run (sandbox "required")` : `${reason}; it runs unconfined`,
    fix,
    ...(setting === 'required' ? { refused: true } : {}),
  });
  if (!runtimeRunsProcess(input.runtime)) {
    const name = input.runtime?.name ?? 'its';
    return degraded(
      `the ${name} runtime runs inside the daemon: there is no process to confine`,
      'use a CLI runtime (claude-code, codex, opencode, acp) for a sandboxed agent, or set its sandbox to "off"',
    );
  }
  const machine = input.machine;
  if (machine !== undefined && 'unknown' in machine) return { setting, state: 'unknown', ...machine.unknown };
  if (!machine) return degraded('the boundary has not been checked yet (the daemon runs its self-test at start)', 'wait for the daemon to finish starting, then ask again');
  if (!machine.ok) return degraded(machine.problem?.reason ?? 'the boundary does not work on this machine', machine.problem?.fix ?? 'run `tinyagi doctor`');
  return machine.memory.ok ? { setting, state: 'enforced', memoryMb: input.memoryMb } : { setting, state: 'enforced', memoryNote: `no memory cap: ${machine.memory.reason}` };
}

/** The agent's sandbox status from the settings and the machine's check (a node's: its sandbox host's `check`). */
export function sandboxStatusOf(settings: Settings, agentId: string, machine: MachineKnowledge): AgentSandboxStatus {
  const agent = ownEntry(settings.agents, agentId);
  const provider = agent ? agentProvider(settings, agent) : undefined;
  const runtimeName = provider?.startsWith('custom:') ? customProviderRuntime(ownEntry(settings.custom_providers, provider.slice('custom:'.length))) : provider;
  const kind = runtimeName === undefined ? undefined : runtimeKinds.get(runtimeName);
  return agentSandboxStatus({ setting: agent?.sandbox, runtime: kind, machine, memoryMb: settings.sandbox?.memory_mb ?? DEFAULT_SANDBOX_MEMORY_MB });
}

/**
 * `sandboxStatusOf` with the hold on the agent's workspace, when there is one (this node's:
 * sandbox/held-folders.ts). A held agent set to `off` runs confined, as `on` would: its state is
 * that of `on`, its setting stays `off`.
 */
export function agentSandboxView(settings: Settings, agentId: string, env: Env, machine: MachineCheck | undefined): AgentSandboxStatus {
  const hold = folderHold(env, agentWorkspaceDir(settings, agentId, env));
  if (hold === undefined) return sandboxStatusOf(settings, agentId, machine);
  const own = ownEntry(settings.agents, agentId);
  const held = own?.sandbox === 'on' || own?.sandbox === 'required' ? settings : { ...settings, agents: { ...settings.agents, [agentId]: { ...own, sandbox: 'on' as const } } };
  // Its state as it runs (confined), its setting as the person wrote it.
  return { ...sandboxStatusOf(held, agentId, machine), setting: own?.sandbox ?? 'off', held: { folder: hold.folder, by: hold.confinedBy.filter((id) => id !== agentId), since: hold.since } };
}

/** The machine's check as the API shows it (GET /api/status `sandbox`); null before any check. */
export function sandboxMachineView(check: MachineCheck | undefined) {
  if (!check) return null;
  return {
    ok: check.ok,
    ...(check.problem ? { reason: check.problem.reason, fix: check.problem.fix } : {}),
    ...(check.bwrap ? { bwrap: check.bwrap } : {}),
    memory: check.memory.ok ? { ok: true } : { ok: false, reason: check.memory.reason },
    checks: check.checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail })),
    source: check.source,
    checkedAt: check.checkedAt,
  };
}
