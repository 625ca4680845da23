/** Agents and teams as the API shows them: looked up by core's settings service, then masked. */
import type { AgentSettings, Settings, TeamSettings } from '@tinyagi/core';
import { maskSettings, providerRuntime, requireAgent, requireTeam } from './core-internal.ts';

/** An agent's provider named as it runs: a file that still says "anthropic" shows "claude-code" (docs/kinds.md). */
function withRuntimeName(agent: AgentSettings): AgentSettings {
  return agent.provider === undefined ? agent : { ...agent, provider: providerRuntime(agent.provider) };
}

export function maskedAgents(settings: Settings): Array<AgentSettings & { id: string }> {
  return Object.entries(maskSettings(settings.agents ?? {})).map(([id, agent]) => ({ ...withRuntimeName(agent), id }));
}

export function maskedAgent(settings: Settings, id: string): AgentSettings & { id: string } {
  return { ...withRuntimeName(maskSettings(requireAgent(settings, id))), id };
}

export function maskedTeams(settings: Settings): Array<TeamSettings & { id: string }> {
  return Object.entries(maskSettings(settings.teams ?? {})).map(([id, team]) => ({ ...team, id }));
}

export function maskedTeam(settings: Settings, id: string): TeamSettings & { id: string } {
  return { ...maskSettings(requireTeam(settings, id)), id };
}
