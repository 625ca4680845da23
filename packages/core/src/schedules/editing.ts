/**
 * Schedule edits, shared by the API routes and the CLI when no daemon runs: the target (agent
 * or team) must exist in the settings, the timing is validated and `nextRunAt` computed here,
 * then the store writes the row.
 */
import { requireAgent, requireTeam } from '../config/editing/entities.ts';
import type { Settings } from '../config/schema.ts';
import type { ScheduleStoreApi } from './store.ts';
import type { MissedPolicy, ScheduleInput, ScheduleRecord } from './store.ts';
import { invalidSchedule, validateScheduleTiming } from './timing.ts';

/** Epoch ms, or an ISO-8601 date-time string. */
type RunAt = number | string;

export interface ScheduleCreate {
  message: string;
  label?: string | undefined;
  agent?: string | undefined;
  team?: string | undefined;
  cron?: string | undefined;
  timezone?: string | undefined;
  runAt?: RunAt | undefined;
  enabled?: boolean | undefined;
  missedPolicy?: MissedPolicy | undefined;
  channel?: string | undefined;
}

/** Omitted keys keep their value; setting one kind of timing (or target) clears the other. */
export interface SchedulePatch {
  label?: string | undefined;
  agent?: string | null | undefined;
  team?: string | null | undefined;
  message?: string | undefined;
  cron?: string | null | undefined;
  timezone?: string | undefined;
  runAt?: RunAt | null | undefined;
  enabled?: boolean | undefined;
  missedPolicy?: MissedPolicy | undefined;
  channel?: string | undefined;
}

type ScheduleFields = Omit<ScheduleInput, 'nextRunAt' | 'senderId'>;

function toMs(runAt: RunAt | null | undefined): number | null {
  if (runAt === undefined || runAt === null) return null;
  return typeof runAt === 'number' ? runAt : Date.parse(runAt);
}

function checkTarget(settings: Settings, agentId: string | null, teamId: string | null): void {
  if ((agentId === null) === (teamId === null)) throw invalidSchedule('agent', 'Give either `agent` or `team`, not both and not neither.');
  if (agentId !== null) requireAgent(settings, agentId);
  if (teamId !== null) requireTeam(settings, teamId);
}

/** The timing first: a malformed schedule is a usage error whatever its target. */
function finish(settings: Settings, fields: ScheduleFields, requireFutureRunAt: boolean, now: number): ScheduleInput {
  const nextRunAt = validateScheduleTiming(fields, { requireFutureRunAt, now });
  checkTarget(settings, fields.agentId, fields.teamId);
  return { ...fields, senderId: `schedule:${fields.label}`, nextRunAt };
}

/** The row for a new schedule; a one-shot must lie in the future. */
export function newScheduleInput(settings: Settings, body: ScheduleCreate, now = Date.now()): ScheduleInput {
  const target = body.agent ?? body.team ?? 'schedule';
  return finish(
    settings,
    {
      label: body.label ?? `${target}-${now.toString(36)}`,
      agentId: body.agent ?? null,
      teamId: body.team ?? null,
      message: body.message,
      cron: body.cron ?? null,
      timezone: body.timezone ?? 'UTC',
      runAt: toMs(body.runAt),
      enabled: body.enabled ?? true,
      missedPolicy: body.missedPolicy ?? 'run-once',
      channel: body.channel ?? 'schedule',
    },
    true,
    now,
  );
}

/** The row after `patch`, validated as a whole; a one-shot time must lie in the future only when it changes. */
export function patchedScheduleInput(settings: Settings, current: ScheduleRecord, patch: SchedulePatch, now = Date.now()): ScheduleInput {
  const pick = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
  const cron = patch.runAt !== undefined && patch.runAt !== null && patch.cron === undefined ? null : pick(patch.cron, current.cron);
  const runAt = patch.cron !== undefined && patch.cron !== null && patch.runAt === undefined ? null : patch.runAt === undefined ? current.runAt : toMs(patch.runAt);
  const agentId = patch.team !== undefined && patch.team !== null && patch.agent === undefined ? null : pick(patch.agent, current.agentId);
  const teamId = patch.agent !== undefined && patch.agent !== null && patch.team === undefined ? null : pick(patch.team, current.teamId);
  const fields: ScheduleFields = {
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
  return finish(settings, fields, fields.runAt !== current.runAt, now);
}

/** Either backend's store (docs/storage.md): awaited, so a PostgreSQL store works too. */
export async function createSchedule(store: ScheduleStoreApi, settings: Settings, body: ScheduleCreate): Promise<ScheduleRecord> {
  return store.create(newScheduleInput(settings, body));
}

export async function updateSchedule(store: ScheduleStoreApi, settings: Settings, idOrLabel: string, patch: SchedulePatch): Promise<ScheduleRecord> {
  const current = await store.mustGet(idOrLabel);
  return store.update(current.id, patchedScheduleInput(settings, current, patch));
}
