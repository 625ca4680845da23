/** Schedules: cron (with a time zone) or one-shot, sending a message to an agent or team. */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdParamsSchema, IdText, Int, IntParam, NullableStr, NullableTimestamp, OkSchema, OptionalShortText, ShortText, Str, TimestampSchema } from './common.ts';

export const MISSED_POLICIES = ['run-once', 'skip'] as const;

export const ScheduleSchema = z
  .object({
    id: Str,
    label: Str,
    agentId: NullableStr,
    teamId: NullableStr,
    message: Str,
    cron: NullableStr,
    timezone: Str,
    runAt: NullableTimestamp,
    enabled: Bool,
    missedPolicy: z.enum(MISSED_POLICIES),
    channel: Str,
    senderId: Str,
    lastFiredAt: NullableTimestamp,
    nextRunAt: NullableTimestamp,
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  })
  .meta({ id: 'Schedule' });
export type Schedule = z.infer<typeof ScheduleSchema>;

/** Epoch ms, or an ISO-8601 date-time string. */
const RunAtSchema = z.union([Int.min(0), z.iso.datetime({ offset: true })]);

const scheduleFields = {
  label: IdText,
  agent: ShortText,
  team: ShortText,
  message: z.string().min(1).max(100_000),
  cron: IdText,
  timezone: z.string().min(1).max(100),
  runAt: RunAtSchema,
  enabled: Bool,
  missedPolicy: z.enum(MISSED_POLICIES),
  channel: ShortText,
};

export const CreateScheduleBodySchema = z.object({
  ...scheduleFields,
  label: scheduleFields.label.optional(),
  agent: scheduleFields.agent.optional(),
  team: scheduleFields.team.optional(),
  cron: scheduleFields.cron.optional(),
  timezone: scheduleFields.timezone.optional(),
  runAt: scheduleFields.runAt.optional(),
  enabled: scheduleFields.enabled.optional(),
  missedPolicy: scheduleFields.missedPolicy.optional(),
  channel: scheduleFields.channel.optional(),
});
export type CreateScheduleBody = z.infer<typeof CreateScheduleBodySchema>;

export const PatchScheduleBodySchema = z.object({
  label: scheduleFields.label.optional(),
  agent: scheduleFields.agent.nullable().optional(),
  team: scheduleFields.team.nullable().optional(),
  message: scheduleFields.message.optional(),
  cron: scheduleFields.cron.nullable().optional(),
  timezone: scheduleFields.timezone.optional(),
  runAt: scheduleFields.runAt.nullable().optional(),
  enabled: scheduleFields.enabled.optional(),
  missedPolicy: scheduleFields.missedPolicy.optional(),
  channel: scheduleFields.channel.optional(),
});
export type PatchScheduleBody = z.infer<typeof PatchScheduleBodySchema>;

/** How many next runs a calendar may ask for at once. */
export const MAX_NEXT_RUNS = 366;

export const NextRunsSchema = z
  .object({
    timezone: Str,
    /** Epoch ms, ascending; fewer than asked when the schedule ends (a one-shot has at most one). */
    runs: z.array(TimestampSchema),
  })
  .meta({ id: 'NextRuns' });
export type NextRuns = z.infer<typeof NextRunsSchema>;

/** One firing of a schedule (its `schedule.fired` event), newest first in a history. */
export const ScheduleFiringSchema = z
  .object({
    firedAt: TimestampSchema,
    /** The run it was due for; null when it was run by hand (POST /api/schedules/:id/run). */
    dueAt: NullableTimestamp,
    /** Fired late, after the daemon was down (missed policy run-once). */
    missed: Bool,
    messageId: NullableStr,
    conversationId: NullableStr,
    /** The conversation's status now (null when it is gone, e.g. after retention). */
    status: NullableStr,
  })
  .meta({ id: 'ScheduleFiring' });
export type ScheduleFiring = z.infer<typeof ScheduleFiringSchema>;

/** How many firings a history may ask for at once. */
export const MAX_HISTORY = 200;

const CountQuery = IntParam(1, MAX_NEXT_RUNS).optional().describe('How many runs (default 10)');

export const schedulesContract = {
  listSchedules: route({
    method: 'GET',
    path: '/api/schedules',
    summary: 'Schedules (optionally of one agent)',
    tag: 'schedules',
    query: z.object({ agent: OptionalShortText }),
    response: z.array(ScheduleSchema),
  }),
  getSchedule: route({ method: 'GET', path: '/api/schedules/:id', summary: 'One schedule (by id or label)', tag: 'schedules', params: IdParamsSchema, response: ScheduleSchema }),
  createSchedule: route({
    method: 'POST',
    path: '/api/schedules',
    summary: 'Create a schedule: `cron` (+ `timezone`, default UTC) or a future `runAt`; `agent` or `team`',
    tag: 'schedules',
    status: 201,
    body: CreateScheduleBodySchema,
    response: ScheduleSchema,
  }),
  patchSchedule: route({
    method: 'PATCH',
    path: '/api/schedules/:id',
    summary: 'Change a schedule (validated again as a whole)',
    tag: 'schedules',
    params: IdParamsSchema,
    body: PatchScheduleBodySchema,
    response: ScheduleSchema,
  }),
  scheduleNextRuns: route({
    method: 'GET',
    path: '/api/schedules/:id/next',
    summary: 'The next runs of a schedule (by id or label), computed by the scheduler’s own cron code in the schedule’s time zone',
    tag: 'schedules',
    params: IdParamsSchema,
    query: z.object({ count: CountQuery }),
    response: NextRunsSchema,
  }),
  previewCron: route({
    method: 'GET',
    path: '/api/cron/next',
    summary: 'The next runs of a cron expression in a time zone (default UTC), before a schedule is saved; an invalid expression or zone is VALIDATION_FAILED naming the field',
    tag: 'schedules',
    query: z.object({ cron: scheduleFields.cron, timezone: scheduleFields.timezone.optional(), count: CountQuery }),
    response: NextRunsSchema,
  }),
  runSchedule: route({
    method: 'POST',
    path: '/api/schedules/:id/run',
    summary: 'Send the schedule’s message now, also when it is disabled; its timing does not change. Recorded as a firing (schedule.fired without dueAt)',
    tag: 'schedules',
    status: 201,
    params: IdParamsSchema,
    response: z.object({ messageId: Str, conversationId: Str, firedAt: TimestampSchema }),
  }),
  scheduleHistory: route({
    method: 'GET',
    path: '/api/schedules/:id/history',
    summary: 'The latest firings of a schedule (by id or label), newest first, from the event log (kept for retention.days)',
    tag: 'schedules',
    params: IdParamsSchema,
    query: z.object({ limit: IntParam(1, MAX_HISTORY).optional().describe('How many firings (default 20)') }),
    response: z.object({ firings: z.array(ScheduleFiringSchema) }),
  }),
  deleteSchedule: route({ method: 'DELETE', path: '/api/schedules/:id', summary: 'Delete a schedule (by id or label)', tag: 'schedules', params: IdParamsSchema, response: OkSchema }),
} as const;
