/** Built-in provider credentials (models.anthropic / models.openai) and custom_providers; masked on read, runtimes by their current names. */
import type { Settings } from '@tinyagi/core';
import {
  customProviderWithRuntime,
  deleteCustomProvider,
  maskSettings,
  providerRuntime,
  putCustomProvider,
  requireCustomProvider,
  secretStatus,
  setBuiltinProvider,
  type CustomProviderSettings,
} from '../core-internal.ts';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { providersContract } from '@tinyagi/client/contract';

/** A custom provider as the API shows it: masked, its `runtime` named as it runs (an old "openai" shows "openai-api", an old key shows as `runtime`). */
function customProviderView(provider: CustomProviderSettings, id: string): CustomProviderSettings & { id: string } {
  return { ...customProviderWithRuntime(maskSettings(provider)), id };
}

function customProviders(settings: Settings): Array<CustomProviderSettings & { id: string }> {
  return Object.entries(settings.custom_providers ?? {}).map(([id, p]) => customProviderView(p, id));
}

/** Secrets under models and custom_providers, the keys this view shows masked. */
const PROVIDER_SECRET = /^(?:models|custom_providers)[.[]/;

function providersView(settings: Settings) {
  const models = maskSettings(settings.models ?? {});
  return {
    default: models.provider !== undefined ? providerRuntime(models.provider) : null,
    anthropic: models.anthropic ?? {},
    openai: models.openai ?? {},
    custom: customProviders(settings),
    secrets: secretStatus(settings).filter((s) => PROVIDER_SECRET.test(s.path)),
  };
}

export function providerRoutes(ctx: ServerContext): RouteHandlers<keyof typeof providersContract> {
  return {
    listProviders: () => providersView(ctx.settings()),

    putProvider: async ({ params, body }) => {
      const written = await ctx.updateSettings((current) => setBuiltinProvider(current, params.name, body));
      return providersView(written);
    },

    listCustomProviders: () => customProviders(ctx.settings()),

    getCustomProvider: ({ params }) => {
      return customProviderView(requireCustomProvider(ctx.settings(), params.id), params.id);
    },

    putCustomProvider: async ({ params, body }) => {
      const written = await ctx.updateSettings((current) => putCustomProvider(current, params.id, body).settings);
      return customProviderView(written.custom_providers![params.id]!, params.id);
    },

    deleteCustomProvider: async ({ params }) => {
      await ctx.updateSettings((current) => deleteCustomProvider(current, params.id));
      return { ok: true as const };
    },
  };
}
