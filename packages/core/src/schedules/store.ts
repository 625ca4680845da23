/**
 * Schedules (`schedules` table): a message sent to an agent or team on a cron expression (with
 * a time zone) or once at `runAt`.
 *
 * Contract: the store keeps `nextRunAt` but does not interpret cron; whoever creates or changes
 * a schedule computes it (./editing.ts does, with ./timing.ts), and the scheduler reads `due()` and
 * records each firing with `markFired` (which also stores the following `nextRunAt`, and
 * disables a one-shot). Labels are unique; lookups accept an id or a label.
 */
import { TinyError } from '../errors.ts';
import type { EventInput, EventPayloadInput } from '../events/types.ts';
import type { ScheduleRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

export type MissedPolicy = 'run-once' | 'skip';

export interface ScheduleRecord {
  id: string;
  label: string;
  agentId: string | null;
  teamId: string | null;
  message: string;
  cron: string | null;
  timezone: string;
  runAt: number | null;
  enabled: boolean;
  missedPolicy: MissedPolicy;
  channel: string;
  senderId: string;
  lastFiredAt: number | null;
  nextRunAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What a caller sets; the store owns the id, the firing record and the timestamps. */
export type ScheduleInput = Omit<ScheduleRecord, 'id' | 'lastFiredAt' | 'createdAt' | 'updatedAt'>;

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = ScheduleRow;

export interface ScheduleStoreApi {
  create(input: ScheduleInput): Awaitable<ScheduleRecord>;
  update(idOrLabel: string, input: ScheduleInput): Awaitable<ScheduleRecord>;
  get(idOrLabel: string): Awaitable<ScheduleRecord | undefined>;
  mustGet(idOrLabel: string): Awaitable<ScheduleRecord>;
  list(query?: { agentId?: string }): Awaitable<ScheduleRecord[]>;
  delete(idOrLabel: string): Awaitable<void>;
  due(now?: number): Awaitable<ScheduleRecord[]>;
  nextDueAt(): Awaitable<number | undefined>;
  markFired(id: string, firedAt: number, nextRunAt: number | null, extra?: Pick<EventPayloadInput<'schedule.fired'>, 'messageId' | 'dueAt' | 'missed'>): Awaitable<ScheduleRecord>;
}

// Shared with the PostgreSQL store (pg-store.ts).

export type FiredExtra = Pick<EventPayloadInput<'schedule.fired'>, 'messageId' | 'dueAt' | 'missed'>;

export function scheduleNotFound(idOrLabel: string): TinyError {
  return new TinyError('SCHEDULE_NOT_FOUND', `No schedule with id or label "${idOrLabel}".`, { hint: 'List schedules with `tinyagi schedule list`.' });
}

export function labelTaken(label: string): TinyError {
  return new TinyError('ALREADY_EXISTS', `A schedule labelled "${label}" already exists.`, { hint: 'Choose another label, or change the existing schedule.' });
}

export function firedEvent(s: ScheduleRecord, firedAt: number, nextRunAt: number | null, extra: FiredExtra): EventInput {
  return { type: 'schedule.fired', agentId: s.agentId, data: { scheduleId: s.id, label: s.label, teamId: s.teamId, firedAt, nextRunAt, ...extra } };
}

/** What a firing sends (the scheduler's, and "run now" from the API): the message, its target and who it is from. */
export function scheduleMessage(s: ScheduleRecord) {
  return {
    message: s.message,
    ...(s.teamId !== null ? { team: s.teamId } : s.agentId !== null ? { agent: s.agentId } : {}),
    kind: 'schedule' as const,
    channel: s.channel,
    sender: `schedule:${s.label}`,
    senderId: s.senderId || `tinyagi-schedule:${s.label}`,
  };
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toRecord(r: Row): ScheduleRecord {
  return {
    id: r.id,
    label: r.label,
    agentId: r.agent_id,
    teamId: r.team_id,
    message: r.message,
    cron: r.cron,
    timezone: r.timezone,
    runAt: r.run_at,
    enabled: r.enabled === 1,
    missedPolicy: r.missed_policy as MissedPolicy,
    channel: r.channel,
    senderId: r.sender_id,
    lastFiredAt: r.last_fired_at,
    nextRunAt: r.next_run_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The schedule's own columns, in the order both INSERT and UPDATE name them (both stores). */
export function columnsOf(input: ScheduleInput): Array<string | number | null> {
  return [input.label, input.agentId, input.teamId, input.message, input.cron, input.timezone, input.runAt, input.enabled ? 1 : 0, input.missedPolicy, input.channel, input.senderId, input.nextRunAt];
}
