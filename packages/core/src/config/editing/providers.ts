/**
 * Provider edits: credentials and model of the built-in providers (models.anthropic/openai) and
 * custom providers (custom_providers). A masked secret sent back as read keeps the stored value.
 */
import { TinyError } from '../../errors.ts';
import { assertValidId } from '../../ids.ts';
import type { Settings } from '../schema.ts';
import { stripUnchangedMasks } from '../secrets.ts';
import { requireCustomProvider, withEntry } from './entities.ts';
import { ownEntry } from '../object-path.ts';
import { providerRuntime } from '../runtime-names.ts';

type JsonObject = Record<string, unknown>;

export type BuiltinCredentialProvider = 'anthropic' | 'openai';

export interface BuiltinProviderChange {
  api_key?: string | undefined;
  oauth_token?: string | undefined;
  model?: string | undefined;
  /** Also make its runtime models.provider (anthropic: claude-code, openai: codex; the reference's meaning of `provider anthropic`). */
  make_default?: boolean | undefined;
  /** Deprecated camelCase spelling of make_default, still accepted. */
  makeDefault?: boolean | undefined;
}

export function setBuiltinProvider(settings: Settings, name: BuiltinCredentialProvider, change: BuiltinProviderChange): Settings {
  const { make_default, makeDefault, ...fields } = change;
  const models = { ...settings.models };
  const existing = models[name] ?? {};
  models[name] = { ...existing, ...stripUnchangedMasks(fields, existing) };
  if (make_default ?? makeDefault) models.provider = providerRuntime(name);
  return { ...settings, models };
}

/** Creates or replaces a custom provider; an echoed `id` (the path names the provider) is not stored. */
export function putCustomProvider(settings: Settings, id: string, body: JsonObject): { settings: Settings; created: boolean } {
  assertValidId(id, 'provider id');
  const existing = ownEntry(settings.custom_providers, id);
  const { id: _echoedId, ...fields } = body;
  const provider = stripUnchangedMasks(fields, existing) as NonNullable<Settings['custom_providers']>[string];
  return { settings: { ...settings, custom_providers: withEntry(settings.custom_providers, id, provider) }, created: existing === undefined };
}

/** Agents that use `custom:<id>`. */
export function customProviderUsers(settings: Settings, id: string): string[] {
  return Object.entries(settings.agents ?? {})
    .filter(([, a]) => a.provider === `custom:${id}`)
    .map(([agentId]) => agentId);
}

/** Refused while an agent or the default provider (models.provider) uses it. */
export function deleteCustomProvider(settings: Settings, id: string): Settings {
  requireCustomProvider(settings, id);
  const agents = customProviderUsers(settings, id);
  const isDefault = settings.models?.provider === `custom:${id}`;
  if (agents.length > 0 || isDefault) {
    const users = [...(agents.length > 0 ? [`agent${agents.length > 1 ? 's' : ''} ${agents.join(', ')}`] : []), ...(isDefault ? ['the default provider (models.provider)'] : [])];
    throw new TinyError('INVALID_STATE', `Custom provider "${id}" is used by ${users.join(' and ')}.`, {
      hint: 'Switch them to another provider first.',
      details: { agents, default: isDefault },
    });
  }
  return { ...settings, custom_providers: withEntry(settings.custom_providers, id, undefined) };
}
