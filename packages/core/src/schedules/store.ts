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
import type { EventLog } from '../events/log.ts';
import type { EventInput, EventPayloadInput } from '../events/types.ts';
import { newId } from '../ids.ts';
import type { TinyDatabase } from '../storage/database.ts';
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

export class ScheduleStore implements ScheduleStoreApi {
  readonly #db: TinyDatabase;
  readonly #events: EventLog | undefined;

  constructor(db: TinyDatabase, options: { events?: EventLog } = {}) {
    this.#db = db;
    this.#events = options.events;
  }

  create(input: ScheduleInput): ScheduleRecord {
    const now = Date.now();
    const id = newId('sched');
    this.#db.write(() => {
      this.#assertLabelFree(input.label, undefined);
      this.#db
        .prepare(`INSERT INTO schedules (id, label, agent_id, team_id, message, cron, timezone, run_at, enabled, missed_policy, channel, sender_id, next_run_at, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, ...columnsOf(input), now, now);
    });
    return this.get(id)!;
  }

  /** Replaces every field of the schedule (the caller merged and validated them). */
  update(idOrLabel: string, input: ScheduleInput): ScheduleRecord {
    const current = this.mustGet(idOrLabel);
    this.#db.write(() => {
      this.#assertLabelFree(input.label, current.id);
      this.#db
        .prepare(`UPDATE schedules SET label = ?, agent_id = ?, team_id = ?, message = ?, cron = ?, timezone = ?, run_at = ?, enabled = ?, missed_policy = ?,
          channel = ?, sender_id = ?, next_run_at = ?, updated_at = ? WHERE id = ?`)
        .run(...columnsOf(input), Date.now(), current.id);
    });
    return this.get(current.id)!;
  }

  get(idOrLabel: string): ScheduleRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM schedules WHERE id = ? OR label = ? ORDER BY id = ? DESC LIMIT 1').get(idOrLabel, idOrLabel, idOrLabel) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  mustGet(idOrLabel: string): ScheduleRecord {
    const s = this.get(idOrLabel);
    if (!s) throw scheduleNotFound(idOrLabel);
    return s;
  }

  list(query: { agentId?: string } = {}): ScheduleRecord[] {
    const rows = query.agentId
      ? (this.#db.prepare('SELECT * FROM schedules WHERE agent_id = ? ORDER BY created_at, id').all(query.agentId) as Row[])
      : (this.#db.prepare('SELECT * FROM schedules ORDER BY created_at, id').all() as Row[]);
    return rows.map(toRecord);
  }

  delete(idOrLabel: string): void {
    const current = this.mustGet(idOrLabel);
    this.#db.write(() => this.#db.prepare('DELETE FROM schedules WHERE id = ?').run(current.id));
  }

  /** Enabled schedules whose next run is at or before `now`, soonest first. */
  due(now = Date.now()): ScheduleRecord[] {
    return (this.#db.prepare('SELECT * FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at').all(now) as Row[]).map(toRecord);
  }

  /** The soonest upcoming run of any enabled schedule (for the scheduler's timer). */
  nextDueAt(): number | undefined {
    const v = this.#db.prepare('SELECT MIN(next_run_at) AS t FROM schedules WHERE enabled = 1').get() as { t: number | null };
    return v.t ?? undefined;
  }

  /**
   * Records a firing; `nextRunAt` null disables the schedule (one-shots, exhausted crons). With
   * `extra.dueAt` it records only the firing of that run: when the schedule's next run is no
   * longer `dueAt` (another scheduler recorded it first), nothing changes and no event is sent.
   */
  markFired(id: string, firedAt: number, nextRunAt: number | null, extra: FiredExtra = {}): ScheduleRecord {
    const current = this.mustGet(id);
    this.#db.write(() => {
      const changed = this.#db
        .prepare('UPDATE schedules SET last_fired_at = ?, next_run_at = ?, enabled = CASE WHEN ? IS NULL THEN 0 ELSE enabled END, updated_at = ? WHERE id = ? AND (? IS NULL OR next_run_at = ?)')
        .run(firedAt, nextRunAt, nextRunAt, Date.now(), current.id, extra.dueAt ?? null, extra.dueAt ?? null).changes;
      if (changed > 0) this.#events?.append(firedEvent(current, firedAt, nextRunAt, extra));
    });
    return this.get(current.id)!;
  }

  #assertLabelFree(label: string, exceptId: string | undefined): void {
    const other = this.#db.prepare('SELECT id FROM schedules WHERE (label = ? OR id = ?) AND id != ?').get(label, label, exceptId ?? '') as { id: string } | undefined;
    if (other) throw labelTaken(label);
  }
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
