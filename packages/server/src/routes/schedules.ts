/** Schedules CRUD: targets must exist, timing is validated with croner and nextRunAt computed. */
import { type ScheduleInput, type ScheduleRecord, type Settings } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import type { RouteHandlers } from '../routing.ts';
import type { PatchScheduleBody, schedulesContract } from '@tinyagi/client/contract';
import { requireAgent, requireTeam } from '../settings-entities.ts';
import { validateScheduleTiming } from '../schedule-timing.ts';

function toMs(runAt: number | string | null | undefined): number | null {
  if (runAt === undefined || runAt === null) return null;
  return typeof runAt === 'number' ? runAt : Date.parse(runAt);
}

function checkTarget(settings: Settings, agentId: string | null, teamId: string | null): void {
  if ((agentId === null) === (teamId === null)) {
    throw new RequestError('VALIDATION_FAILED', 'Invalid body: body.agent: give either `agent` or `team`, not both and not neither.', {
      issues: [{ path: 'body.agent', message: 'give either agent or team' }],
    });
  }
  if (agentId !== null) requireAgent(settings, agentId);
  if (teamId !== null) requireTeam(settings, teamId);
}

function finish(ctx: ServerContext, input: Omit<ScheduleInput, 'nextRunAt' | 'senderId'>, requireFutureRunAt: boolean): ScheduleInput {
  checkTarget(ctx.settings(), input.agentId, input.teamId);
  return { ...input, senderId: `schedule:${input.label}`, nextRunAt: validateScheduleTiming(input, { requireFutureRunAt }) };
}

function applyPatch(current: ScheduleRecord, patch: PatchScheduleBody): Omit<ScheduleInput, 'nextRunAt' | 'senderId'> {
  const pick = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
  // Setting one kind of timing (or target) clears the other, so a PATCH can switch between them.
  const cron = patch.runAt !== undefined && patch.runAt !== null && patch.cron === undefined ? null : pick(patch.cron, current.cron);
  const runAt = patch.cron !== undefined && patch.cron !== null && patch.runAt === undefined ? null : patch.runAt === undefined ? current.runAt : toMs(patch.runAt);
  const agentId = patch.team !== undefined && patch.team !== null && patch.agent === undefined ? null : pick(patch.agent, current.agentId);
  const teamId = patch.agent !== undefined && patch.agent !== null && patch.team === undefined ? null : pick(patch.team, current.teamId);
  return {
    label: pick(patch.label, current.label),
    agentId,
    teamId,
    message: pick(patch.message, current.message),
    cron,
    timezone: pick(patch.timezone, current.timezone),
    runAt,
    enabled: pick(patch.enabled, current.enabled),
    missedPolicy: pick(patch.missedPolicy, current.missedPolicy),
    channel: pick(patch.channel, current.channel),
  };
}

export function scheduleRoutes(ctx: ServerContext): RouteHandlers<keyof typeof schedulesContract> {
  return {
    listSchedules: ({ query }) => ctx.schedules.list(query.agent ? { agentId: query.agent } : {}),
    getSchedule: ({ params }) => ctx.schedules.mustGet(params.id),
    createSchedule: ({ body }) => {
      const target = body.agent ?? body.team ?? 'schedule';
      return ctx.schedules.create(
        finish(ctx, {
          label: body.label ?? `${target}-${Date.now().toString(36)}`,
          agentId: body.agent ?? null,
          teamId: body.team ?? null,
          message: body.message,
          cron: body.cron ?? null,
          timezone: body.timezone ?? 'UTC',
          runAt: toMs(body.runAt),
          enabled: body.enabled ?? true,
          missedPolicy: body.missedPolicy ?? 'run-once',
          channel: body.channel ?? 'schedule',
        }, true),
      );
    },
    patchSchedule: ({ params, body }) => {
      const current = ctx.schedules.mustGet(params.id);
      const next = applyPatch(current, body);
      return ctx.schedules.update(current.id, finish(ctx, next, next.runAt !== current.runAt));
    },
    deleteSchedule: ({ params }) => {
      ctx.schedules.delete(params.id);
      return { ok: true as const };
    },
  };
}
