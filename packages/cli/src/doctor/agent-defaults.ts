/**
 * `tinyagi doctor`'s `agents:defaults` check: the agents whose settings leave out what a new agent
 * gets on this machine today (core's `newAgent`: sandbox, warm process, asking with the starter
 * rules) — made before these defaults, or by hand in settings.json. They are never changed
 * silently; doctor says what differs, why it matters and the command that changes it. An
 * unconfined one that a sandboxed agent can call or hand work to is a warning.
 */
import type { Settings } from '@tinyagi/core';
import { newAgent, type NewAgentMachine } from '../core-internal.ts';
import type { Finding } from './finding.ts';

/** One agent's differences from the new-agent defaults, each with why it matters and what changes it. */
export interface AgentDifference {
  agent: string;
  key: 'sandbox' | 'process' | 'permission_mode';
  /** What a new agent gets instead. */
  default: string;
  why: string;
  fix: string;
}

/** What a new agent of the same runtime would have that this one leaves out (keys it sets itself are its choice). */
export function agentDifferences(settings: Settings, machine: NewAgentMachine): AgentDifference[] {
  return Object.entries(settings.agents ?? {}).flatMap(([id, agent]) => {
    const made = newAgent(settings, id, { provider: agent.provider }, machine).agent as Record<string, unknown>;
    const out: AgentDifference[] = [];
    if (agent.sandbox === undefined && made['sandbox'] === 'on') {
      out.push({ agent: id, key: 'sandbox', default: 'on', why: 'it runs unconfined, as you, while new agents here run inside the boundary', fix: `tinyagi agent sandbox ${id} on` });
    }
    if (agent.process === undefined && made['process'] === 'warm') {
      out.push({
        agent: id,
        key: 'process',
        default: 'warm',
        why: 'its CLI starts for every message (slower; per message Codex and OpenCode cannot ask)',
        fix: `set agents.${id}.process to "warm" (docs/sessions.md)`,
      });
    }
    if (agent.permission_mode === undefined && agent.permissions === undefined && made['permission_mode'] === 'ask') {
      out.push({
        agent: id,
        key: 'permission_mode',
        default: 'ask',
        why: 'it runs every tool without asking anyone',
        fix: `set agents.${id}.permission_mode to "ask" with the starter rules (docs/approvals.md, "New agents")`,
      });
    }
    return out;
  });
}

/**
 * The `agents:defaults` findings: a warning for an unconfined agent a sandboxed one reaches
 * (`reached`: the ids doctor's `sandbox:reach` found), else one line of information.
 */
export function agentDefaultsFindings(settings: Settings, machine: NewAgentMachine, reached: ReadonlySet<string>): Finding[] {
  const differences = agentDifferences(settings, machine);
  if (differences.length === 0) return [];
  const risky = differences.filter((d) => d.key === 'sandbox' && reached.has(d.agent));
  const list = differences.map((d) => `${d.agent}: ${d.key} not set (new agents: ${d.default}; ${d.why})`).join('; ');
  return [
    {
      check: 'agents:defaults',
      status: risky.length > 0 ? 'warn' : 'info',
      message: `agents that differ from the new-agent defaults on this machine: ${list}${risky.length > 0 ? `. A sandboxed agent can call or hand work to ${risky.map((d) => d.agent).join(', ')}, which alone ${risky.length === 1 ? 'runs' : 'run'} unconfined` : ''}`,
      hint: `Nothing is changed for you. ${[...new Set(differences.map((d) => d.fix))].map((f) => (f.startsWith('tinyagi ') ? `Run \`${f}\`` : f[0]?.toUpperCase() + f.slice(1))).join('; ')}.`,
      details: { differences },
    },
  ];
}
