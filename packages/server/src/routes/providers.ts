/** Built-in provider credentials (models.anthropic / models.openai) and custom_providers; masked on read. */
import { TinyError, maskSettings, secretStatus, stripUnchangedMasks, ownEntry, type Settings } from '@tinyagi/core';

type CustomProviderSettings = NonNullable<Settings['custom_providers']>[string];
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { providersContract } from '@tinyagi/client/contract';

function customProviders(settings: Settings): Array<CustomProviderSettings & { id: string }> {
  return Object.entries(maskSettings(settings.custom_providers ?? {})).map(([id, p]) => ({ ...p, id }));
}

/** Secrets under models and custom_providers, the keys this view shows masked. */
const PROVIDER_SECRET = /^(?:models|custom_providers)[.[]/;

function providersView(settings: Settings) {
  const models = maskSettings(settings.models ?? {});
  return {
    default: models.provider ?? null,
    anthropic: models.anthropic ?? {},
    openai: models.openai ?? {},
    custom: customProviders(settings),
    secrets: secretStatus(settings).filter((s) => PROVIDER_SECRET.test(s.path)),
  };
}

function requireCustomProvider(settings: Settings, id: string): CustomProviderSettings {
  const provider = ownEntry(settings.custom_providers, id);
  if (!provider) {
    throw new TinyError('PROVIDER_NOT_FOUND', `No custom provider "${id}".`, { hint: `Known: ${Object.keys(settings.custom_providers ?? {}).join(', ') || 'none'}.` });
  }
  return provider;
}

export function providerRoutes(ctx: ServerContext): RouteHandlers<keyof typeof providersContract> {
  return {
    listProviders: () => providersView(ctx.settings()),

    putProvider: async ({ params, body }) => {
      const written = await ctx.updateSettings((current) => {
        const models = { ...current.models };
        const existing = models[params.name] ?? {};
        // makeDefault: the deprecated camelCase spelling, still accepted.
        const { make_default, makeDefault, ...fields } = body;
        models[params.name] = { ...existing, ...stripUnchangedMasks(fields, existing) };
        if (make_default ?? makeDefault) models.provider = params.name;
        return { ...current, models };
      });
      return providersView(written);
    },

    listCustomProviders: () => customProviders(ctx.settings()),

    getCustomProvider: ({ params }) => {
      const settings = ctx.settings();
      requireCustomProvider(settings, params.id);
      return { ...maskSettings(settings.custom_providers![params.id]!), id: params.id };
    },

    putCustomProvider: async ({ params, body }) => {
      const written = await ctx.updateSettings((current) => {
        const existing = ownEntry(current.custom_providers, params.id);
        // `id` is read-only (the path names the provider): a client that PUTs what it read must not store it.
        const { id: _echoedId, ...fields } = body;
        return { ...current, custom_providers: { ...current.custom_providers, [params.id]: stripUnchangedMasks(fields, existing) } };
      });
      return { ...maskSettings(written.custom_providers![params.id]!), id: params.id };
    },

    deleteCustomProvider: async ({ params }) => {
      await ctx.updateSettings((current) => {
        requireCustomProvider(current, params.id);
        const users = Object.entries(current.agents ?? {}).filter(([, a]) => a.provider === `custom:${params.id}`).map(([id]) => id);
        if (users.length > 0) {
          throw new TinyError('INVALID_STATE', `Custom provider "${params.id}" is used by agent${users.length > 1 ? 's' : ''} ${users.join(', ')}.`, {
            hint: 'Switch those agents to another provider first.',
            details: { agents: users },
          });
        }
        const rest = { ...current.custom_providers };
        delete rest[params.id];
        return { ...current, custom_providers: rest };
      });
      return { ok: true as const };
    },
  };
}

