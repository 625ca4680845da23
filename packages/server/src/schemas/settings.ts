/** The whole settings file: masked read, validated atomic merge-patch. */
import { z } from 'zod';
import { route } from './route.ts';
import { LooseObjectSchema } from './common.ts';

export const settingsContract = {
  getSettings: route({ method: 'GET', path: '/api/settings', summary: 'settings.json with every secret masked', tag: 'settings', response: LooseObjectSchema }),
  patchSettings: route({
    method: 'PATCH',
    path: '/api/settings',
    summary: 'Merge-patch settings (objects merge, arrays replace, null deletes; masked secrets sent back keep the stored value); validated and written atomically',
    tag: 'settings',
    body: z.record(z.string(), z.unknown()),
    response: LooseObjectSchema,
  }),
} as const;
