/**
 * Which settings are shared through the database and which stay on each node.
 *
 * With several nodes on one PostgreSQL database, settings.json's content lives in the
 * `shared_settings` row, except the keys a node needs before it can reach the database or that
 * describe its own machine. Those stay in the node's local settings.json and are never written
 * to the row (a row holding them, edited by hand, has them ignored):
 * - `storage`: how this node reaches the database (`storage.url`; or TINYAGI_DATABASE_URL).
 * - `node`: this node's own name (`node.name`, default the host name).
 * - `workspace`: where this node keeps the agents' workspaces (a path on this machine).
 * Everything else (agents and their `node` placement, teams, providers and their keys, channels,
 * queue, limits, budgets, server, …) is shared: every node sees the same values.
 */
import type { Settings } from '../config/schema.ts';

export const LOCAL_SETTINGS_KEYS = ['storage', 'node', 'workspace'] as const;
export type LocalSettingsKey = (typeof LOCAL_SETTINGS_KEYS)[number];

const LOCAL: ReadonlySet<string> = new Set(LOCAL_SETTINGS_KEYS);

export function isLocalSettingsKey(key: string): key is LocalSettingsKey {
  return LOCAL.has(key);
}

/** The shared part (what the database row holds) and the local part of `settings`. */
export function splitSettings(settings: Settings): { shared: Settings; local: Settings } {
  const shared: Record<string, unknown> = {};
  const local: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) (isLocalSettingsKey(key) ? local : shared)[key] = value;
  return { shared: shared as Settings, local: local as Settings };
}

/** A node's settings: the shared ones with its local keys (any local key in `shared` is ignored). */
export function joinSettings(shared: Settings, local: Settings): Settings {
  return { ...splitSettings(shared).shared, ...splitSettings(local).local };
}
