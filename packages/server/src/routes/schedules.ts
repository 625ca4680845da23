/**
 * Schedules CRUD through core's schedule edits (targets must exist, timing validated, nextRunAt
 * computed); "run now", sent like the scheduler sends a firing; and a schedule's history, read
 * from its `schedule.fired` events.
 */
import { createSchedule, firedEvent, nextScheduleRuns, scheduleMessage, updateSchedule } from '../core-internal.ts';
import type { ScheduleFiring } from '@tinyagi/client/contract';
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
    runSchedule: async ({ params }) => {
      const schedule = await ctx.schedules.mustGet(params.id);
      const firedAt = Date.now();
      const sent = await ctx.orchestrator.submitGrouped({ ...scheduleMessage(schedule), idempotencyKey: `schedule:${schedule.id}:now:${firedAt}` });
      // Only the event: the scheduler owns the row's timing (markFired would race a due run).
      await ctx.stores.events.append(firedEvent(schedule, firedAt, schedule.nextRunAt, { messageId: sent.messageId }));
      return { messageId: sent.messageId, conversationId: sent.conversationId, firedAt };
    },
    scheduleHistory: async ({ params, query }) => {
      const schedule = await ctx.schedules.mustGet(params.id);
      const limit = query.limit ?? 20;
      const firings: Array<Omit<ScheduleFiring, 'conversationId' | 'status'>> = [];
      // Oldest first in pages; the last `limit` of this schedule are kept.
      for (let after = 0; ; ) {
        const page = await ctx.stores.events.readSince(after, { types: ['schedule.fired'], ...(schedule.agentId ? { agentId: schedule.agentId } : {}) }, HISTORY_PAGE);
        for (const e of page) {
          if (e.data.scheduleId !== schedule.id) continue;
          firings.push({ firedAt: e.data.firedAt, dueAt: e.data.dueAt ?? null, missed: e.data.missed === true, messageId: e.data.messageId ?? null });
          if (firings.length > limit) firings.shift();
        }
        if (page.length < HISTORY_PAGE) break;
        after = page.at(-1)!.id;
      }
      const withConversations = await Promise.all(
        firings.reverse().map(async (f) => {
          const message = f.messageId ? await ctx.stores.queue.get(f.messageId) : undefined;
          const conversation = message ? await ctx.stores.runs.getConversation(message.conversationId) : undefined;
          return { ...f, conversationId: message?.conversationId ?? null, status: conversation?.status ?? null };
        }),
      );
      return { firings: withConversations };
    },
    deleteSchedule: async ({ params }) => {
      await ctx.schedules.delete(params.id);
      return { ok: true as const };
    },
  };
}

const HISTORY_PAGE = 500;
