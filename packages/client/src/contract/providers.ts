/** Built-in provider credentials and custom providers; secrets are masked on every read. */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, NullableStr, OkSchema, OptionalBool, OptionalMax200, OptionalStr, Str } from './common.ts';
import { SecretStatusSchema } from './settings.ts';

export const CustomProviderBodySchema = z
  .looseObject({
    name: OptionalMax200,
    /** The runtime that talks to it (`GET /api/kinds`: the runtimes with `customProvider`); checked by the settings rules. */
    runtime: z.string().min(1).max(64).optional(),
    /** The old name of `runtime`, still accepted (`runtime` wins); stored as `runtime`. */
    harness: z.string().min(1).max(64).optional(),
    base_url: z.string().min(1).max(2048),
    api_key: z.string().max(4096).optional(),
    model: OptionalMax200,
  })
  .refine((body) => body.runtime !== undefined || body.harness !== undefined, { error: 'Name the runtime that talks to it', path: ['runtime'] });

export const CustomProviderSchema = z
  .looseObject({
    id: Str,
    name: OptionalStr,
    /** The runtime that talks to it, by its current name. */
    runtime: OptionalStr,
    base_url: OptionalStr,
    /** Masked. */
    api_key: OptionalStr,
    model: OptionalStr,
  })
  .meta({ id: 'CustomProvider' });
export type CustomProvider = z.infer<typeof CustomProviderSchema>;

export const BUILTIN_CREDENTIAL_PROVIDERS = ['anthropic', 'openai'] as const;

export const ProvidersSchema = z.object({
  /** models.provider: the default for agents that do not name one. */
  default: NullableStr,
  anthropic: z.looseObject({ model: OptionalStr, api_key: OptionalStr, oauth_token: OptionalStr }),
  openai: z.looseObject({ model: OptionalStr, api_key: OptionalStr }),
  custom: z.array(CustomProviderSchema),
  /** Set flags of the masked keys above (models.anthropic.api_key, …, custom_providers.<id>.api_key). */
  secrets: z.array(SecretStatusSchema),
});

export const providersContract = {
  listProviders: route({ method: 'GET', path: '/api/providers', summary: 'Built-in provider settings and custom providers (masked)', tag: 'providers', response: ProvidersSchema }),
  putProvider: route({
    method: 'PUT',
    path: '/api/providers/:name',
    summary: 'Set the key, OAuth token or model of a built-in provider (a masked value keeps the stored one)',
    tag: 'providers',
    params: z.object({ name: z.enum(BUILTIN_CREDENTIAL_PROVIDERS) }),
    body: z.object({
      api_key: z.string().max(4096).optional(),
      oauth_token: z.string().max(4096).optional(),
      model: OptionalMax200,
      make_default: OptionalBool.describe('Also set models.provider to this provider'),
      makeDefault: OptionalBool.meta({ deprecated: true, description: 'Old spelling of make_default' }),
    }),
    response: ProvidersSchema,
  }),
  listCustomProviders: route({ method: 'GET', path: '/api/custom-providers', summary: 'Custom providers (masked)', tag: 'providers', response: z.array(CustomProviderSchema) }),
  getCustomProvider: route({ method: 'GET', path: '/api/custom-providers/:id', summary: 'One custom provider (masked)', tag: 'providers', params: IdParamsSchema, response: CustomProviderSchema }),
  putCustomProvider: route({
    method: 'PUT',
    path: '/api/custom-providers/:id',
    summary: 'Create or replace a custom provider (a masked api_key keeps the stored one; an echoed id is ignored)',
    tag: 'providers',
    params: IdParamsSchema,
    body: CustomProviderBodySchema,
    response: CustomProviderSchema,
  }),
  deleteCustomProvider: route({
    method: 'DELETE',
    path: '/api/custom-providers/:id',
    summary: 'Remove a custom provider (refused while an agent uses it)',
    tag: 'providers',
    params: IdParamsSchema,
    response: OkSchema,
  }),
} as const;
