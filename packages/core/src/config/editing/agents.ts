/**
 * Agent edits (settings.agents). PUT keeps the keys it does not send and replaces the ones it
 * does; PATCH is a merge-patch (objects merge, `null` deletes). A masked secret sent back as read
 * keeps the stored value. The result is validated as a whole when it is written.
 */
import { TinyError } from '../../errors.ts';
import { assertValidId } from '../../ids.ts';
import { deepMergeSettings } from '../merge.ts';
import type { AgentSettings, Settings } from '../schema.ts';
import { stripUnchangedMasks } from '../secrets.ts';
import { unknownAgentKeys } from '../unknown-keys.ts';
import { requireAgent, requireFreeId, withEntry } from './entities.ts';
import { ownEntry } from '../object-path.ts';
import { newAgent, UNKNOWN_MACHINE, type NewAgentMachine, type NewAgentNote } from '../../approvals/new-agent-defaults.ts';

type JsonObject = Record<string, unknown>;

/**
 * The agent's settings from an edit. A key the agent schema does not know is a typo far more
 * often than a setting from the future, so it is refused; the `id` a client read with the agent
 * may come back unchanged and is dropped, never stored, and so is the read's `sandboxStatus`
 * (what the daemon found, never a setting).
 */
export function agentConfig<T extends JsonObject>(body: T, id: string): T {
  const { sandboxStatus: _view, ...unviewed } = body;
  const { id: echoed, ...rest } = unviewed;
  const config = (echoed === id ? rest : unviewed) as T;
  const issues = unknownAgentKeys(config).map((i) => ({ path: i.path, message: `${i.message}${i.hint ? `. ${i.hint}` : ''}` }));
  if (issues.length === 0) return config;
  throw new TinyError('VALIDATION_FAILED', `Invalid agent settings: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { details: { issues } });
}

function withAgent(settings: Settings, id: string, agent: AgentSettings | undefined): Settings {
  return { ...settings, agents: withEntry(settings.agents, id, agent) };
}

/** What an agent edit wrote, and for a new agent what to tell the user (approvals/new-agent-defaults.ts). */
export interface AgentWrite {
  settings: Settings;
  created: boolean;
  notes: NewAgentNote[];
  warnings: NewAgentNote[];
}

/**
 * Creates or replaces an agent; keys not sent (heartbeat, limits, mock, …) are kept. A new agent
 * gets the new-agent defaults from what it was given and the machine's facts (`newAgent`: sandbox,
 * process, permissions); an existing one only what the edit says.
 */
export function putAgent(settings: Settings, id: string, body: JsonObject, machine: NewAgentMachine = UNKNOWN_MACHINE): AgentWrite {
  assertValidId(id, 'agent id');
  const existing = ownEntry(settings.agents, id);
  const given = agentConfig(body, id);
  const made = existing === undefined ? newAgent(settings, id, given, machine) : { agent: given, notes: [], warnings: [] };
  const agent = { ...existing, ...stripUnchangedMasks(made.agent, existing) } as AgentSettings;
  return { settings: withAgent(settings, id, agent), created: existing === undefined, notes: made.notes, warnings: made.warnings };
}

/** Creates an agent, refusing an id an agent or a team already has (ALREADY_EXISTS). */
export function addAgent(settings: Settings, id: string, body: JsonObject, machine: NewAgentMachine = UNKNOWN_MACHINE): AgentWrite {
  requireFreeId(settings, id, 'agent');
  return putAgent(settings, id, body, machine);
}

/** `addAgent`'s settings. */
export function createAgent(settings: Settings, id: string, body: JsonObject, machine: NewAgentMachine = UNKNOWN_MACHINE): Settings {
  return addAgent(settings, id, body, machine).settings;
}

export function patchAgent(settings: Settings, id: string, patch: JsonObject): Settings {
  const checked = agentConfig(patch, id);
  const existing = requireAgent(settings, id);
  return withAgent(settings, id, deepMergeSettings(existing, stripUnchangedMasks(checked, existing)) as AgentSettings);
}

export function setAgentHeartbeat(settings: Settings, id: string, change: { enabled?: boolean | undefined; interval?: number | undefined }): Settings {
  const agent = requireAgent(settings, id);
  const heartbeat = {
    ...agent.heartbeat,
    ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
    ...(change.interval !== undefined ? { interval: change.interval } : {}),
  };
  return withAgent(settings, id, { ...agent, heartbeat });
}

/** Teams that list the agent as a member or as their leader. */
export function teamsReferencingAgent(settings: Settings, id: string): string[] {
  return Object.entries(settings.teams ?? {})
    .filter(([, t]) => t.agents?.includes(id) || t.leader_agent === id)
    .map(([teamId]) => teamId);
}

/** Refused while a team lists the agent (as a member or its leader). */
export function deleteAgent(settings: Settings, id: string): Settings {
  requireAgent(settings, id);
  const teams = teamsReferencingAgent(settings, id);
  if (teams.length > 0) {
    throw new TinyError('INVALID_STATE', `Agent "${id}" is in team${teams.length > 1 ? 's' : ''} ${teams.join(', ')}.`, {
      hint: 'Remove it from those teams first, then delete it.',
      details: { teams },
    });
  }
  return withAgent(settings, id, undefined);
}
