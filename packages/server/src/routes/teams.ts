/** Teams (settings.teams; core validates members, leader and id collisions on write) and chat rooms. */
import { assertValidId, deepMergeSettings, ownEntry, type Settings, type TeamSettings } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { teamsContract } from '@tinyagi/client/contract';
import { maskedTeam, maskedTeams, requireTeam } from '../settings-entities.ts';

function withTeam(settings: Settings, id: string, team: TeamSettings | undefined): Settings {
  const teams = { ...settings.teams };
  if (team === undefined) delete teams[id];
  else teams[id] = team;
  return { ...settings, teams };
}

export function teamRoutes(ctx: ServerContext): RouteHandlers<keyof typeof teamsContract> {
  return {
    listTeams: () => maskedTeams(ctx.settings()),

    getTeam: ({ params }) => maskedTeam(ctx.settings(), params.id),

    putTeam: async ({ params, body }) => {
      assertValidId(params.id, 'team id');
      let created = false;
      const written = await ctx.updateSettings((current) => {
        const existing = ownEntry(current.teams, params.id);
        created = existing === undefined;
        return withTeam(current, params.id, { ...existing, ...body });
      });
      return { team: maskedTeam(written, params.id), created };
    },

    patchTeam: async ({ params, body }) => {
      const written = await ctx.updateSettings((current) => withTeam(current, params.id, deepMergeSettings(requireTeam(current, params.id), body) as TeamSettings));
      return maskedTeam(written, params.id);
    },

    deleteTeam: async ({ params }) => {
      await ctx.updateSettings((current) => {
        requireTeam(current, params.id);
        return withTeam(current, params.id, undefined);
      });
      return { ok: true as const };
    },

    getChatroom: ({ params, query }) => {
      requireTeam(ctx.settings(), params.id);
      const limit = query.limit ?? 100;
      const messages = query.after !== undefined ? ctx.chatroom.list(params.id, { afterId: query.after, limit }) : ctx.chatroom.latest(params.id, limit);
      return { messages, nextCursor: messages.at(-1)?.id ?? query.after ?? 0 };
    },

    postChatroom: async ({ params, body }) => {
      requireTeam(ctx.settings(), params.id);
      const result = await ctx.orchestrator.postChatroom(params.id, body.from ?? 'user', body.message);
      return { ...(result !== null && typeof result === 'object' ? result : {}), ok: true as const };
    },
  };
}
