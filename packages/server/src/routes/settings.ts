/** GET masked settings; PATCH as a validated, locked, atomic merge-patch; which secrets are set. */
import { deepMergeSettings, maskSettings, secretStatus, stripUnchangedMasks, type Settings } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { settingsContract } from '@tinyagi/client/contract';

export function settingsRoutes(ctx: ServerContext): RouteHandlers<keyof typeof settingsContract> {
  return {
    getSettings: () => maskSettings(ctx.settings()),
    patchSettings: async ({ body }) => {
      // Masks echoed back from GET keep the stored secret; core rejects any mask that would remain.
      const written = await ctx.updateSettings((current) => deepMergeSettings(current, stripUnchangedMasks(body, current)) as Settings);
      return maskSettings(written);
    },
    // A route of its own rather than a key in the GET body: that body is the document clients
    // edit and PATCH back, and an extra key there would end up in settings.json.
    getSecretStatus: () => ({ secrets: secretStatus(ctx.settings()) }),
  };
}
