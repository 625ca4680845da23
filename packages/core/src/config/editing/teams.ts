/**
 * Team edits (settings.teams). PUT keeps the keys it does not send; PATCH is a merge-patch
 * (arrays replace, `null` deletes). Members, leader and id collisions are checked by the
 * settings validation when the result is written, so hand edits get the same rules.
 */
import { assertValidId } from '../../ids.ts';
import { deepMergeSettings } from '../merge.ts';
import type { Settings, TeamSettings } from '../schema.ts';
import { requireFreeId, requireTeam, withEntry } from './entities.ts';
import { ownEntry } from '../object-path.ts';

type JsonObject = Record<string, unknown>;

function withTeam(settings: Settings, id: string, team: TeamSettings | undefined): Settings {
  return { ...settings, teams: withEntry(settings.teams, id, team) };
}

export function putTeam(settings: Settings, id: string, body: JsonObject): { settings: Settings; created: boolean } {
  assertValidId(id, 'team id');
  const existing = ownEntry(settings.teams, id);
  return { settings: withTeam(settings, id, { ...existing, ...body } as TeamSettings), created: existing === undefined };
}

/** Creates a team, refusing an id an agent or a team already has (ALREADY_EXISTS). */
export function createTeam(settings: Settings, id: string, body: JsonObject): Settings {
  requireFreeId(settings, id, 'team');
  return putTeam(settings, id, body).settings;
}

export function patchTeam(settings: Settings, id: string, patch: JsonObject): Settings {
  return withTeam(settings, id, deepMergeSettings(requireTeam(settings, id), patch) as TeamSettings);
}

export function deleteTeam(settings: Settings, id: string): Settings {
  requireTeam(settings, id);
  return withTeam(settings, id, undefined);
}
