/** Schedules CRUD through core's schedule edits (targets must exist, timing validated, nextRunAt computed). */
import { createSchedule, nextScheduleRuns, updateSchedule } from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { schedulesContract } from '@tinyagi/client/contract';

export function scheduleRoutes(ctx: ServerContext): RouteHandlers<keyof typeof schedulesContract> {
  return {
    listSchedules: ({ query }) => ctx.schedules.list(query.agent ? { agentId: query.agent } : {}),
    getSchedule: ({ params }) => ctx.schedules.mustGet(params.id),
    createSchedule: ({ body }) => createSchedule(ctx.schedules, ctx.settings(), body),
    patchSchedule: ({ params, body }) => updateSchedule(ctx.schedules, ctx.settings(), params.id, body),
    scheduleNextRuns: async ({ params, query }) => {
      const schedule = await ctx.schedules.mustGet(params.id);
      return { timezone: schedule.timezone, runs: nextScheduleRuns(schedule, query.count ?? 10) };
    },
    previewCron: ({ query }) => {
      const timezone = query.timezone ?? 'UTC';
      return { timezone, runs: nextScheduleRuns({ cron: query.cron, timezone, runAt: null }, query.count ?? 10) };
    },
    deleteSchedule: async ({ params }) => {
      await ctx.schedules.delete(params.id);
      return { ok: true as const };
    },
  };
}
