/**
 * Confinement follows the work (docs/sandbox.md, "Calls between agents"): a call, handoff,
 * chat-room delivery or sub-agent started by a confined run runs with at least the caller's
 * confinement. A confined run is one whose agent is set to a sandbox (`on` or `required`), or
 * one started by a confined run. Such a run carries the agents whose confinement follows it
 * (`confinedBy`: the callers up the chain, in order), and runs as the tighter of its own agent
 * and every one of them: the tighter sandbox, the narrower permission mode, and every rule set
 * judged (a denial of any denies, an allowance needs all of them, anything else asks a person).
 *
 * How a confined run runs is core's (sandbox/agent-spec.ts `confinedAgent`, which the launch plan
 * applies); this module follows the chain. Who may reach whom is decided here too, for the
 * call route, the handoff tools and the router: the sender and every agent up its chain (its
 * `callers`, and its `confinedBy`) must each be allowed by its `agents.<id>.may_call`.
 */
import { TinyError, type AgentSettings, type Settings } from '@tinyagi/core';
import { confinedAgent, ownEntry, sandboxAtLeast, sandboxModeOf } from '../core-internal.ts';
import { teamMembers, teamsOf } from '../protocol/addressing.ts';

/** The agents a chain field (`meta.confinedBy`, `meta.callers`) names across the messages a run answers: a batch carries the chains of all its messages. */
function chainOf(messages: readonly { meta: Record<string, unknown> }[], key: 'confinedBy' | 'callers'): string[] {
  const out = new Set<string>();
  for (const m of messages) {
    const ids = m.meta[key];
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') out.add(id);
  }
  return [...out];
}

/** The agents whose confinement follows a run, from the messages it answers (every one's `meta.confinedBy`: a batch is as confined as its most confined message). */
export function confinedByOf(messages: readonly { meta: Record<string, unknown> }[]): string[] {
  return chainOf(messages, 'confinedBy');
}

/** The callers of a run (every agent up the chain that started it), from the messages it answers (every one's `meta.callers`). */
export function callersOf(messages: readonly { meta: Record<string, unknown> }[]): string[] {
  return chainOf(messages, 'callers');
}

/** The callers of work that `callerId`'s run starts: the run's own callers and the caller itself. */
export function callersFollowing(callerId: string, callerCallers: readonly string[] = []): string[] {
  return [...new Set([...callerCallers, callerId])];
}

/** Whether `agentId`'s own settings put its runs inside the boundary. */
export function sandboxedAgent(settings: Settings, agentId: string): boolean {
  return sandboxModeOf(ownEntry(settings.agents, agentId)) !== 'off';
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

/** A run's chain: the agents whose confinement follows it and every agent up the chain that started it. */
export interface RunChain {
  confinedBy: string[];
  callers: string[];
}

/** The chain of work that `callerId`'s run (whose chain is `chain`) starts: `confinementFollowing` and `callersFollowing`. */
export function chainFollowing(settings: Settings, callerId: string, chain: RunChain): RunChain {
  return { confinedBy: confinementFollowing(settings, callerId, chain.confinedBy), callers: callersFollowing(callerId, chain.callers) };
}

/** The agents of `confinedBy` other than `agentId` itself that still exist (a removed agent's settings are gone; its confinement is kept by the `on` floor of `confinedAgent`). */
function confiners(settings: Settings, agentId: string, confinedBy: readonly string[]): { id: string; agent: AgentSettings }[] {
  return confinedBy
    .filter((id) => id !== agentId)
    .flatMap((id) => {
      const agent = ownEntry(settings.agents, id);
      return agent ? [{ id, agent }] : [];
    });
}

/**
 * The settings with `agentId` as a run confined by `confinedBy` runs it (`confinedAgent`), for the
 * approval desk, whose rule evaluation and sandbox status read an agent from the settings; a
 * launch takes the chain in its plan instead. Unchanged when nothing tightens.
 */
export function tightenedSettings(settings: Settings, agentId: string, confinedBy: readonly string[] | undefined): Settings {
  const own = ownEntry(settings.agents, agentId);
  if (!own || !confinedBy) return settings;
  const tightened = confinedAgent(settings, agentId, own, confinedBy);
  return tightened === own ? settings : { ...settings, agents: { ...settings.agents, [agentId]: tightened } };
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

/** Work about to reach another agent: the sending agent and the agents up its chain (its callers and confiners). */
export interface ReachChain {
  from: string;
  callers?: readonly string[] | undefined;
  confinedBy?: readonly string[] | undefined;
}

/**
 * Whom `from` itself may call, hand work to or post to: `agents.<from>.may_call` (agent ids, `*`
 * for any) when set. Absent, an unconfined agent may reach any agent; a sandboxed one its
 * teammates (in any of its teams) and the agents sandboxed at least as tightly as it.
 */
export function mayCall(settings: Settings, from: string, to: string): boolean {
  if (from === to) return true;
  const own = ownEntry(settings.agents, from);
  const allowed = own?.may_call;
  if (allowed !== undefined) return allowed.includes('*') || allowed.includes(to);
  if (sandboxModeOf(own) === 'off') return true;
  const asTight = sandboxAtLeast(sandboxModeOf(ownEntry(settings.agents, to)), sandboxModeOf(own));
  return asTight || teamsOf(settings, from).some((team) => teamMembers(settings, team).includes(to));
}

/** What a refused call, handoff or room delivery says: whose setting refuses, and how to allow it. */
function callRefusal(settings: Settings, by: string, to: string, sender: string): string {
  const allowed = ownEntry(settings.agents, by)?.may_call;
  const who = by === sender ? `@${by}` : `@${by} (earlier in this chain)`;
  if (allowed === undefined) {
    return `${who} may not call @${to}: agents.${by}.may_call is not set, so sandboxed @${by} may call only its teammates and agents sandboxed at least as tightly. List in it the agents it may call, "${to}" among them (or "*" for any agent), to allow it.`;
  }
  return `${who} may not call @${to}: agents.${by}.may_call is [${allowed.join(', ')}]. Add "${to}" to it (or "*" for any agent) to allow it.`;
}

/**
 * Whether work may reach `to`: the first agent of the chain (the sender, then its callers and
 * confiners) whose `may_call` leaves `to` out, with the refusal in words; undefined when every one
 * allows it.
 */
export function reachRefusal(settings: Settings, chain: ReachChain, to: string): { by: string; message: string } | undefined {
  const agents = new Set([chain.from, ...(chain.callers ?? []), ...(chain.confinedBy ?? [])]);
  for (const by of agents) if (!mayCall(settings, by, to)) return { by, message: callRefusal(settings, by, to, chain.from) };
  return undefined;
}

/** `reachRefusal`, as an error: CALL_NOT_ALLOWED naming the setting (the handoff tool's check). */
export function assertMayReach(settings: Settings, chain: ReachChain, to: string): void {
  const refused = reachRefusal(settings, chain, to);
  if (!refused) return;
  throw new TinyError('CALL_NOT_ALLOWED', refused.message, { hint: `Set agents.${refused.by}.may_call in settings.json (docs/sandbox.md, "Calls between agents").` });
}

/**
 * Work that runs with its agent's own settings rather than under a chain (a workflow's task step:
 * the task flow runs its agent as it runs any task) may leave a confined chain only for an agent
 * sandboxed at least as tightly as the chain would run it: `on`, or `required` when a confiner
 * is. The refusal in words; undefined when `to` is that tight anyway, or nothing confines the chain.
 */
export function unconfinedWorkRefusal(settings: Settings, confinedBy: readonly string[], to: string): string | undefined {
  if (confinedBy.length === 0) return undefined;
  const wanted = confinedBy.some((id) => sandboxModeOf(ownEntry(settings.agents, id)) === 'required') ? 'required' : 'on';
  const own = sandboxModeOf(ownEntry(settings.agents, to));
  if (sandboxAtLeast(own, wanted)) return undefined;
  return `a task runs @${to} with its own settings (sandbox "${own}"), outside the confinement of ${confinedBy.map((id) => `@${id}`).join(', ')}. Set agents.${to}.sandbox to "${wanted}" to allow it.`;
}
