/**
 * Schedules on SQLite: `ScheduleStore` over the process's one connection (synchronous; every method
 * returns a plain value). The model it shares with the PostgreSQL store (./pg-store.ts): the
 * types, the store interface, the rules, SQL and row mapping are in ./store.ts.
 */
import type { ScheduleRow } from '../storage/rows.ts';
import type { EventLog } from '../events/sqlite-log.ts';
import { newId } from '../ids.ts';
import type { TinyDatabase } from '../storage/database.ts';
import { type FiredExtra, type ScheduleInput, type ScheduleRecord, type ScheduleStoreApi, columnsOf, firedEvent, labelTaken, scheduleNotFound, toRecord } from './store.ts';

/** A `SELECT *` row (type derived from the drizzle schema). */
type Row = ScheduleRow;

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
