/** The whole settings file: masked read, validated atomic merge-patch; which secrets are set (flags, never values). */
import * as z from 'zod';
import { route } from './route.ts';
import { LooseObjectSchema, Str } from './common.ts';

/**
 * Whether one secret is set, by its settings path (`models.anthropic.api_key`,
 * `custom_providers.local.api_key`): the `set` flag beside every masked value, never the value.
 */
export const SecretStatusSchema = z
  .object({
    path: z.string().describe('Settings path, as in CONFIG_INVALID issues'),
    set: z.boolean().describe('True when a non-empty value is stored'),
  })
  .meta({ id: 'SecretStatus' });

export const SecretsViewSchema = z.object({ secrets: z.array(SecretStatusSchema) });

export const settingsContract = {
  getSettings: route({ method: 'GET', path: '/api/settings', summary: 'settings.json with every secret masked', tag: 'settings', response: LooseObjectSchema }),
  patchSettings: route({
    method: 'PATCH',
    path: '/api/settings',
    summary: 'Merge-patch settings (objects merge, arrays replace, null deletes; masked secrets sent back keep the stored value); validated and written atomically',
    tag: 'settings',
    body: z.record(Str, z.unknown()),
    response: LooseObjectSchema,
  }),
  getSecretStatus: route({
    method: 'GET',
    path: '/api/settings/secrets',
    summary: 'Which secrets are set: every known secret path (set or not) and any other secret key present, with a set flag; never a value',
    tag: 'settings',
    response: SecretsViewSchema,
  }),
} as const;
