/** Agents and teams as the API shows them: looked up by core's settings service, then masked. */
import type { AgentSettings, Settings, TeamSettings } from '@tinyagi/core';
import { maskSettings, requireAgent, requireTeam } from '@tinyagi/core/internal';

export function maskedAgents(settings: Settings): Array<AgentSettings & { id: string }> {
  return Object.entries(maskSettings(settings.agents ?? {})).map(([id, agent]) => ({ ...agent, id }));
}

export function maskedAgent(settings: Settings, id: string): AgentSettings & { id: string } {
  return { ...maskSettings(requireAgent(settings, id)), id };
}

export function maskedTeams(settings: Settings): Array<TeamSettings & { id: string }> {
  return Object.entries(maskSettings(settings.teams ?? {})).map(([id, team]) => ({ ...team, id }));
}

export function maskedTeam(settings: Settings, id: string): TeamSettings & { id: string } {
  return { ...maskSettings(requireTeam(settings, id)), id };
}
