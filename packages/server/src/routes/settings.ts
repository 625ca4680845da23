/**
 * GET masked settings; PATCH as a merge-patch; which secrets are set. Read and written through
 * the context's settings source (core/src/config/settings-source.ts, or the shared row on
 * PostgreSQL): validated, written under the lock, never over a broken file, and recorded as a
 * `settings.changed` event by the source itself.
 */
import { maskSettings, patchSettings, secretStatus } from '../core-internal.ts';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { settingsContract } from '@tinyagi/client/contract';

export function settingsRoutes(ctx: ServerContext): RouteHandlers<keyof typeof settingsContract> {
  return {
    getSettings: () => maskSettings(ctx.settingsSource.get()),
    patchSettings: async ({ body }) => maskSettings(await ctx.settingsSource.update((current) => patchSettings(current, body))),
    // A route of its own rather than a key in the GET body: that body is the document clients
    // edit and PATCH back, and an extra key there would end up in settings.json.
    getSecretStatus: () => ({ secrets: secretStatus(ctx.settingsSource.get()) }),
  };
}
