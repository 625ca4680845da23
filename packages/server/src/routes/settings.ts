/** GET masked settings; PATCH as a validated, locked, atomic merge-patch; which secrets are set. */
import { maskSettings, patchSettings, secretStatus } from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { settingsContract } from '@tinyagi/client/contract';

export function settingsRoutes(ctx: ServerContext): RouteHandlers<keyof typeof settingsContract> {
  return {
    getSettings: () => maskSettings(ctx.settings()),
    patchSettings: async ({ body }) => {
      const written = await ctx.updateSettings((current) => patchSettings(current, body));
      return maskSettings(written);
    },
    // A route of its own rather than a key in the GET body: that body is the document clients
    // edit and PATCH back, and an extra key there would end up in settings.json.
    getSecretStatus: () => ({ secrets: secretStatus(ctx.settings()) }),
  };
}
