/**
 * Reading agents, teams and custom providers out of settings for the API: ids are checked,
 * missing entries are typed 404s, and everything returned is masked.
 */
import { TinyError, assertValidId, maskSettings, ownEntry, type AgentSettings, type Settings, type TeamSettings } from '@tinyagi/core';

export function requireAgent(settings: Settings, id: string): AgentSettings {
  assertValidId(id, 'agent id');
  const agent = ownEntry(settings.agents, id);
  if (!agent) {
    throw new TinyError('AGENT_NOT_FOUND', `No agent "${id}".`, { hint: `Known agents: ${Object.keys(settings.agents ?? {}).join(', ') || 'none'}. Create one with PUT /api/agents/${id}.` });
  }
  return agent;
}

export function requireTeam(settings: Settings, id: string): TeamSettings {
  assertValidId(id, 'team id');
  const team = ownEntry(settings.teams, id);
  if (!team) {
    throw new TinyError('TEAM_NOT_FOUND', `No team "${id}".`, { hint: `Known teams: ${Object.keys(settings.teams ?? {}).join(', ') || 'none'}.` });
  }
  return team;
}

export function maskedAgents(settings: Settings): Array<AgentSettings & { id: string }> {
  return Object.entries(maskSettings(settings.agents ?? {})).map(([id, agent]) => ({ ...agent, id }));
}

export function maskedAgent(settings: Settings, id: string): AgentSettings & { id: string } {
  requireAgent(settings, id);
  return { ...maskSettings(settings.agents![id]!), id };
}

export function maskedTeams(settings: Settings): Array<TeamSettings & { id: string }> {
  return Object.entries(maskSettings(settings.teams ?? {})).map(([id, team]) => ({ ...team, id }));
}

export function maskedTeam(settings: Settings, id: string): TeamSettings & { id: string } {
  requireTeam(settings, id);
  return { ...maskSettings(settings.teams![id]!), id };
}
