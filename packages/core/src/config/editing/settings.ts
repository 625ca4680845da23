/** Whole-file and channel edits: a merge-patch of settings.json (objects merge, arrays replace, `null` deletes). */
import { deepMergeSettings } from '../merge.ts';
import type { Settings } from '../schema.ts';
import { renameOldKeysInPatch } from '../runtime-names.ts';
import { renameMockRulesInPatch } from '../mock-replies.ts';
import { stripUnchangedMasks } from '../secrets.ts';

type JsonObject = Record<string, unknown>;

/**
 * Masks echoed back from a read keep the stored secret; a mask that would remain is refused on
 * write. A custom provider's old key in the patch sets its `runtime` (runtime-names.ts), an
 * agent's `mock.rules` its `mock.replies` (mock-replies.ts).
 */
export function patchSettings(settings: Settings, patch: JsonObject): Settings {
  return deepMergeSettings(settings, stripUnchangedMasks(renameMockRulesInPatch(renameOldKeysInPatch(patch)), settings)) as Settings;
}

export interface ChannelsChange {
  /** Replaces channels.enabled (else the current list, plus `enable`, minus `disable`). */
  enabled?: string[] | undefined;
  enable?: string[] | undefined;
  disable?: string[] | undefined;
  /** Bot tokens to store, by channel (discord, telegram). */
  tokens?: Partial<Record<string, string>> | undefined;
}

/** The merge-patch that applies `change` to the channels of `settings` (sent as is to PATCH /api/settings). */
export function channelsPatch(settings: Settings, change: ChannelsChange): { channels: JsonObject & { enabled: string[] } } {
  const current = settings.channels?.enabled ?? [];
  const disable = change.disable ?? [];
  const enabled = (change.enabled ?? [...new Set([...current, ...(change.enable ?? [])])]).filter((c) => !disable.includes(c));
  const tokens = Object.entries(change.tokens ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  return { channels: { enabled, ...Object.fromEntries(tokens.map(([name, token]) => [name, { bot_token: token }])) } };
}
