/**
 * Addressing of human messages: `@agent text` or `@team text` picks the target (case-insensitive
 * id, then agent display name, then team display name) and the prefix is stripped before the
 * agent sees the text. A team address goes to its leader and keeps the team as context (the
 * reference resolved the team to the leader at enqueue and lost it).
 */
import type { Settings } from '@tinyagi/core';
import { ownEntry } from '../core-internal.ts';

export interface AddressPrefix {
  /** The word after '@', as written. */
  token: string;
  /** The text after the prefix, trimmed ('' for a bare `@target`). */
  rest: string;
}

const PREFIX = /^\s*@([^\s:,]+)[:,]?(?:\s+([\s\S]*))?$/;

/** `@coder fix it` -> { token: 'coder', rest: 'fix it' }; text without a leading '@' -> undefined. */
export function splitAddressPrefix(text: string): AddressPrefix | undefined {
  const match = PREFIX.exec(text);
  if (!match?.[1]) return undefined;
  return { token: match[1], rest: (match[2] ?? '').trim() };
}

export type ResolvedTarget = { kind: 'agent'; agentId: string; teamId: null } | { kind: 'team'; agentId: string; teamId: string };

export function resolveTarget(settings: Settings, token: string): ResolvedTarget | undefined {
  const wanted = token.trim().toLowerCase();
  if (wanted === '') return undefined;
  const agents = settings.agents ?? {};
  const teams = settings.teams ?? {};
  const asTeam = (teamId: string): ResolvedTarget | undefined => {
    const team = ownEntry(teams, teamId);
    const leader = team?.leader_agent ?? team?.agents?.[0];
    return leader !== undefined && ownEntry(agents, leader) !== undefined ? { kind: 'team', agentId: leader, teamId } : undefined;
  };
  for (const id of Object.keys(agents)) if (id.toLowerCase() === wanted) return { kind: 'agent', agentId: id, teamId: null };
  for (const id of Object.keys(teams)) if (id.toLowerCase() === wanted) return asTeam(id);
  for (const [id, agent] of Object.entries(agents)) if (agent.name?.toLowerCase() === wanted) return { kind: 'agent', agentId: id, teamId: null };
  for (const [id, team] of Object.entries(teams)) if (team.name?.toLowerCase() === wanted) return asTeam(id);
  return undefined;
}

/** The agent a message without any address goes to: `tinyagi` when defined, else the first agent. */
export function defaultAgentId(settings: Settings): string | undefined {
  const ids = Object.keys(settings.agents ?? {});
  return ids.includes('tinyagi') ? 'tinyagi' : ids[0];
}

/** The ids of every team the agent belongs to (as a member or as the leader), sorted. */
export function teamsOf(settings: Settings, agentId: string): string[] {
  return Object.keys(settings.teams ?? {})
    .sort()
    .filter((id) => teamMembers(settings, id).includes(agentId));
}

/**
 * The team context of an agent addressed directly (not through `@team`): its only team. An
 * agent in several teams gets none — no team is guessed (the reference took "the first team
 * containing this agent", so a leader of several teams had its handoffs rejected); its context
 * is then all of its teams (see `planRoutes`).
 */
export function defaultTeamOf(settings: Settings, agentId: string): string | null {
  const teams = teamsOf(settings, agentId);
  return teams.length === 1 ? teams[0]! : null;
}

/** Every agent the team counts as a member (its agents plus its leader). */
export function teamMembers(settings: Settings, teamId: string): string[] {
  const team = ownEntry(settings.teams, teamId);
  if (!team) return [];
  const members = [...(team.agents ?? [])];
  if (team.leader_agent !== undefined && !members.includes(team.leader_agent)) members.unshift(team.leader_agent);
  return members;
}
