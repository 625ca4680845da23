/**
 * Confinement follows the work (docs/sandbox.md, "Calls between agents"): a call, handoff,
 * chat-room delivery or sub-agent started by a confined run runs with at least the caller's
 * confinement. A confined run is one whose agent is set to a sandbox (`on` or `required`), or
 * one started by a confined run. Such a run carries the agents whose confinement follows it
 * (`confinedBy`: the callers up the chain, in order), and runs as the tighter of its own agent
 * and every one of them: the tighter sandbox, the narrower permission mode, and every rule set
 * judged (a denial of any denies, an allowance needs all of them, anything else asks a person).
 *
 * Pure: the settings in, the tightened view out. Who may call whom (`agents.<id>.may_call`) is
 * checked here too, for the call route, the handoff tools and the router.
 */
import { TinyError, type AgentSettings, type Settings } from '@tinyagi/core';
import { ownEntry } from '../core-internal.ts';

/** Sandbox modes from the loosest to the tightest. */
const SANDBOX_ORDER = ['off', 'on', 'required'] as const;
type SandboxMode = (typeof SANDBOX_ORDER)[number];
type PermissionMode = NonNullable<AgentSettings['permission_mode']>;

/**
 * Permission modes from the widest to the narrowest. No mode is the runtimes' own default, which
 * for the CLIs TinyAGI drives is the bypass (Claude Code's --dangerously-skip-permissions, Codex's
 * bypass): as wide as `bypassPermissions`. `ask` lets a person allow what its rules do not;
 * `default` and `dontAsk` refuse what is not pre-approved; `plan` changes nothing.
 */
const MODE_ORDER: readonly (PermissionMode | 'unset')[] = ['unset', 'bypassPermissions', 'acceptEdits', 'ask', 'default', 'dontAsk', 'plan'];

function sandboxOf(agent: AgentSettings | undefined): SandboxMode {
  return agent?.sandbox === 'on' || agent?.sandbox === 'required' ? agent.sandbox : 'off';
}

function modeRank(mode: PermissionMode | undefined): number {
  return MODE_ORDER.indexOf(mode ?? 'unset');
}

/** The agents whose confinement follows a run, from the messages it answers (every one's `meta.confinedBy`: a batch is as confined as its most confined message). */
export function confinedByOf(messages: readonly { meta: Record<string, unknown> }[]): string[] {
  const out = new Set<string>();
  for (const m of messages) if (Array.isArray(m.meta.confinedBy)) for (const id of m.meta.confinedBy) if (typeof id === 'string') out.add(id);
  return [...out];
}

/** Whether `agentId`'s own settings put its runs inside the boundary. */
export function sandboxedAgent(settings: Settings, agentId: string): boolean {
  return sandboxOf(ownEntry(settings.agents, agentId)) !== 'off';
}

/**
 * The agents whose confinement follows work that `callerId`'s run starts (a call, a handoff, a
 * sub-agent): the caller's own `confinedBy` and the caller itself, when that run is confined
 * (the caller is sandboxed or was itself started by a confined run); else none.
 */
export function confinementFollowing(settings: Settings, callerId: string, callerConfinedBy: readonly string[] = []): string[] {
  if (callerConfinedBy.length === 0 && !sandboxedAgent(settings, callerId)) return [];
  return [...new Set([...callerConfinedBy, callerId])];
}

/** The agents of `confinedBy` other than `agentId` itself that still exist (a removed agent's settings are gone; its confinement is kept by the sandbox mode below). */
function confiners(settings: Settings, agentId: string, confinedBy: readonly string[]): { id: string; agent: AgentSettings }[] {
  return confinedBy
    .filter((id) => id !== agentId)
    .flatMap((id) => {
      const agent = ownEntry(settings.agents, id);
      return agent ? [{ id, agent }] : [];
    });
}

/**
 * `agentId` as a run confined by `confinedBy` runs it: the tightest sandbox of it and them
 * (`on` at least: a confined run is one that was sandboxed), the narrowest permission mode. Its
 * rules stay its own: the approval desk judges every rule set (`judgeAll`). The settings are
 * returned unchanged when nothing confines the run.
 */
export function tightenedSettings(settings: Settings, agentId: string, confinedBy: readonly string[] | undefined): Settings {
  if (!confinedBy || confinedBy.length === 0) return settings;
  const own = ownEntry(settings.agents, agentId);
  if (!own) return settings;
  const others = confiners(settings, agentId, confinedBy);
  let sandbox: SandboxMode = sandboxOf(own) === 'off' ? 'on' : sandboxOf(own);
  let mode: PermissionMode | undefined = own.permission_mode;
  for (const { agent } of others) {
    if (SANDBOX_ORDER.indexOf(sandboxOf(agent)) > SANDBOX_ORDER.indexOf(sandbox)) sandbox = sandboxOf(agent);
    if (modeRank(agent.permission_mode) > modeRank(mode)) mode = agent.permission_mode;
  }
  if (sandbox === own.sandbox && mode === own.permission_mode) return settings;
  const tightened: AgentSettings = { ...own, sandbox, ...(mode === undefined ? {} : { permission_mode: mode }) };
  return { ...settings, agents: { ...settings.agents, [agentId]: tightened } };
}

/** One rule set's verdict on a tool use. */
export type Verdict = { action: 'allow' | 'ask'; rule?: boolean } | { action: 'deny'; by: string; why: string };

/**
 * The tighter of several rule sets' verdicts (the callee's and each confiner's): a denial of any
 * denies, all allowing allows, anything else asks a person.
 */
export function tighterVerdict(verdicts: readonly Verdict[]): Verdict {
  const denied = verdicts.find((v) => v.action === 'deny');
  if (denied) return denied;
  return verdicts.every((v) => v.action === 'allow') ? { action: 'allow' } : { action: 'ask' };
}

/** The agents whose rules judge a confined run's tool use besides its own agent's: each confiner's id, settings and mode. */
export function confinerRuleSets(settings: Settings, agentId: string, confinedBy: readonly string[] | undefined): { id: string; agent: AgentSettings }[] {
  return confinedBy ? confiners(settings, agentId, confinedBy) : [];
}

/** What a refused call or handoff says: who may not reach whom, and the setting that says so. */
export function callRefusal(settings: Settings, from: string, to: string): string {
  const allowed = ownEntry(settings.agents, from)?.may_call ?? [];
  return `@${from} may not call @${to}: agents.${from}.may_call is [${allowed.join(', ')}]. Add "${to}" to it (or "*" for any agent) to allow it.`;
}

/**
 * Who may call whom: `agents.<from>.may_call` (agent ids, `*` for any) when set, else anyone
 * (the reach agents had before the setting: their teammates by tags, any agent by a call).
 */
export function mayCall(settings: Settings, from: string, to: string): boolean {
  const allowed = ownEntry(settings.agents, from)?.may_call;
  return allowed === undefined || from === to || allowed.includes('*') || allowed.includes(to);
}

/** `mayCall`, as an error: CALL_NOT_ALLOWED naming the setting (the handoff tool's check). */
export function assertMayCall(settings: Settings, from: string, to: string): void {
  if (mayCall(settings, from, to)) return;
  throw new TinyError('CALL_NOT_ALLOWED', callRefusal(settings, from, to), { hint: `Set agents.${from}.may_call in settings.json (docs/sandbox.md, "Calls between agents").` });
}
