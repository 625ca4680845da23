/** Teams (settings.teams, edited through core's settings service) and chat rooms. */
import { createTeam, deleteTeam, patchTeam, putTeam, requireTeam } from '../core-internal.ts';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { teamsContract } from '@tinyagi/client/contract';
import { maskedTeam, maskedTeams } from '../settings-entities.ts';

export function teamRoutes(ctx: ServerContext): RouteHandlers<keyof typeof teamsContract> {
  return {
    listTeams: () => maskedTeams(ctx.settings()),

    getTeam: ({ params }) => maskedTeam(ctx.settings(), params.id),

    createTeam: async ({ body: { id, ...team } }) => ({ team: maskedTeam(await ctx.updateSettings((current) => createTeam(current, id, team)), id) }),

    putTeam: async ({ params, body }) => {
      let created = false;
      const written = await ctx.updateSettings((current) => {
        const result = putTeam(current, params.id, body);
        created = result.created;
        return result.settings;
      });
      return { team: maskedTeam(written, params.id), created };
    },

    patchTeam: async ({ params, body }) => maskedTeam(await ctx.updateSettings((current) => patchTeam(current, params.id, body)), params.id),

    deleteTeam: async ({ params }) => {
      await ctx.updateSettings((current) => deleteTeam(current, params.id));
      return { ok: true as const };
    },

    getChatroom: async ({ params, query }) => {
      requireTeam(ctx.settings(), params.id);
      const limit = query.limit ?? 100;
      const messages = await (query.after !== undefined
        ? ctx.chatroom.list(params.id, { afterId: query.after, limit })
        : query.before !== undefined
          ? ctx.chatroom.list(params.id, { beforeId: query.before, limit })
          : ctx.chatroom.latest(params.id, limit));
      const oldest = messages[0]?.id ?? query.before;
      return {
        messages,
        nextCursor: messages.at(-1)?.id ?? query.after ?? 0,
        hasOlder: oldest !== undefined && (await ctx.chatroom.list(params.id, { beforeId: oldest, limit: 1 })).length > 0,
      };
    },

    postChatroom: async ({ params, body }) => {
      requireTeam(ctx.settings(), params.id);
      const result = await ctx.facets.chatRoom.post(params.id, body.from ?? 'user', body.message);
      return { ...(result !== null && typeof result === 'object' ? result : {}), ok: true as const };
    },
  };
}
