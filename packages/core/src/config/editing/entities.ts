/** Looking up agents, teams and custom providers by id: checked ids, typed not-found errors. */
import { TinyError } from '../../errors.ts';
import { assertValidId } from '../../ids.ts';
import type { AgentSettings, CustomProviderSettings, Settings, TeamSettings } from '../schema.ts';
import { ownEntry } from '../object-path.ts';

function known(ids: Record<string, unknown> | undefined): string {
  return Object.keys(ids ?? {}).join(', ') || 'none';
}

export function requireAgent(settings: Settings, id: string): AgentSettings {
  assertValidId(id, 'agent id');
  const agent = ownEntry(settings.agents, id);
  if (!agent) throw new TinyError('AGENT_NOT_FOUND', `No agent "${id}".`, { hint: `Known agents: ${known(settings.agents)}.` });
  return agent;
}

export function requireTeam(settings: Settings, id: string): TeamSettings {
  assertValidId(id, 'team id');
  const team = ownEntry(settings.teams, id);
  if (!team) throw new TinyError('TEAM_NOT_FOUND', `No team "${id}".`, { hint: `Known teams: ${known(settings.teams)}.` });
  return team;
}

export function requireCustomProvider(settings: Settings, id: string): CustomProviderSettings {
  assertValidId(id, 'provider id');
  const provider = ownEntry(settings.custom_providers, id);
  if (!provider) throw new TinyError('PROVIDER_NOT_FOUND', `No custom provider "${id}".`, { hint: `Known: ${known(settings.custom_providers)}.` });
  return provider;
}

/**
 * For a create-only edit: the id must name neither an agent nor a team (they share one
 * namespace: `@id` and `#id` address the same routing table). ALREADY_EXISTS otherwise, with the
 * issue on `id` so a form can show it at that field.
 */
export function requireFreeId(settings: Settings, id: string, kind: 'agent' | 'team'): void {
  assertValidId(id, `${kind} id`);
  const taken = ownEntry(settings.agents, id) !== undefined ? 'agent' : ownEntry(settings.teams, id) !== undefined ? 'team' : undefined;
  if (taken === undefined) return;
  const owner = taken === 'agent' ? 'an agent' : 'a team';
  throw new TinyError('ALREADY_EXISTS', `The id "${id}" is already used by ${owner}.`, {
    hint: taken === kind ? `Pick another id, or edit the existing ${kind}.` : 'Agents and teams share one set of ids: pick another.',
    details: { issues: [{ path: ['id'], message: `already used by ${owner}` }] },
  });
}

/** A copy of `record` with `id` set to `value`, or removed when `value` is undefined. */
export function withEntry<T>(record: Record<string, T> | undefined, id: string, value: T | undefined): Record<string, T> {
  const next = { ...record };
  if (value === undefined) delete next[id];
  else next[id] = value;
  return next;
}
