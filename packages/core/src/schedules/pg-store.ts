/**
 * Schedules on PostgreSQL: the contract of the SQLite `ScheduleStore` (./store.ts), whose mapping,
 * errors and event it shares. For several nodes on one database:
 * - labels stay unique: create and update check the label under the schema's `schedules`
 *   advisory lock (the table has no unique index on labels, and a label must not equal another
 *   schedule's id either);
 * - a run fires once when two nodes' schedulers both see it due: `markFired` with `dueAt` is a
 *   conditional update on `next_run_at` (the row lock serialises the two updates; the second
 *   finds the next run moved and records nothing, no second `schedule.fired`), and the message
 *   itself is enqueued under the idempotency key `schedule:<id>:<dueAt>` by the scheduler, so the
 *   second node's enqueue returns the first one's message.
 */
import { pgEventLog, type PgEventLog } from '../events/pg-log.ts';
import { newId } from '../ids.ts';
import type { ScheduleStoreApi } from './store.ts';
import { lockSchema, type PgShared } from '../storage/pg/helpers.ts';
import type { PgScope } from '../storage/pg/scope.ts';
import type { ScheduleRow } from '../storage/rows.ts';
import { columnsOf, type FiredExtra, firedEvent, labelTaken, type ScheduleInput, type ScheduleRecord, scheduleNotFound, toRecord } from './store.ts';

export class PgScheduleStore implements ScheduleStoreApi {
  readonly #scope: PgScope;
  readonly #events: PgEventLog;
  readonly #t: string;

  constructor(scope: PgScope, events: PgEventLog) {
    this.#scope = scope;
    this.#events = events;
    this.#t = scope.table('schedules');
  }

  async create(input: ScheduleInput): Promise<ScheduleRecord> {
    const now = Date.now();
    return this.#scope.transaction(async (scope) => {
      await this.#assertLabelFree(scope, input.label, undefined);
      const [row] = await scope.query<ScheduleRow>(
        `INSERT INTO ${this.#t} (id, label, agent_id, team_id, message, cron, timezone, run_at, enabled, missed_policy, channel, sender_id, next_run_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING *`,
        [newId('sched'), ...columnsOf(input), now],
      );
      return toRecord(row!);
    });
  }

  /** Replaces every field of the schedule (the caller merged and validated them). */
  async update(idOrLabel: string, input: ScheduleInput): Promise<ScheduleRecord> {
    return this.#scope.transaction(async (scope) => {
      const current = await this.#mustGet(scope, idOrLabel);
      await this.#assertLabelFree(scope, input.label, current.id);
      const [row] = await scope.query<ScheduleRow>(
        `UPDATE ${this.#t} SET label = $1, agent_id = $2, team_id = $3, message = $4, cron = $5, timezone = $6, run_at = $7, enabled = $8, missed_policy = $9,
          channel = $10, sender_id = $11, next_run_at = $12, updated_at = $13 WHERE id = $14 RETURNING *`,
        [...columnsOf(input), Date.now(), current.id],
      );
      return toRecord(row!);
    });
  }

  get(idOrLabel: string): Promise<ScheduleRecord | undefined> {
    return this.#get(this.#scope, idOrLabel);
  }

  mustGet(idOrLabel: string): Promise<ScheduleRecord> {
    return this.#mustGet(this.#scope, idOrLabel);
  }

  async list(query: { agentId?: string } = {}): Promise<ScheduleRecord[]> {
    const rows = query.agentId
      ? await this.#scope.query<ScheduleRow>(`SELECT * FROM ${this.#t} WHERE agent_id = $1 ORDER BY created_at, id`, [query.agentId])
      : await this.#scope.query<ScheduleRow>(`SELECT * FROM ${this.#t} ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  async delete(idOrLabel: string): Promise<void> {
    const current = await this.mustGet(idOrLabel);
    await this.#scope.query(`DELETE FROM ${this.#t} WHERE id = $1`, [current.id]);
  }

  /** Enabled schedules whose next run is at or before `now`, soonest first. */
  async due(now = Date.now()): Promise<ScheduleRecord[]> {
    return (await this.#scope.query<ScheduleRow>(`SELECT * FROM ${this.#t} WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at`, [now])).map(toRecord);
  }

  /** The soonest upcoming run of any enabled schedule (for the scheduler's timer). */
  async nextDueAt(): Promise<number | undefined> {
    const [row] = await this.#scope.query<{ t: number | null }>(`SELECT min(next_run_at) AS t FROM ${this.#t} WHERE enabled = 1`);
    return row?.t ?? undefined;
  }

  /** Records a firing (only of run `dueAt` when given: see the file's comment); `nextRunAt` null disables the schedule. */
  async markFired(id: string, firedAt: number, nextRunAt: number | null, extra: FiredExtra = {}): Promise<ScheduleRecord> {
    return this.#scope.transaction(async (scope) => {
      const current = await this.#mustGet(scope, id);
      const [row] = await scope.query<ScheduleRow>(
        `UPDATE ${this.#t} SET last_fired_at = $1, next_run_at = $2, enabled = CASE WHEN $2::bigint IS NULL THEN 0 ELSE enabled END, updated_at = $3
        WHERE id = $4 AND ($5::bigint IS NULL OR next_run_at = $5) RETURNING *`,
        [firedAt, nextRunAt, Date.now(), current.id, extra.dueAt ?? null],
      );
      if (!row) return this.#mustGet(scope, current.id);
      await this.#events.append(firedEvent(current, firedAt, nextRunAt, extra));
      return toRecord(row);
    });
  }

  async #get(scope: PgScope, idOrLabel: string): Promise<ScheduleRecord | undefined> {
    const [row] = await scope.query<ScheduleRow>(`SELECT * FROM ${this.#t} WHERE id = $1 OR label = $1 ORDER BY id = $1 DESC LIMIT 1`, [idOrLabel]);
    return row ? toRecord(row) : undefined;
  }

  async #mustGet(scope: PgScope, idOrLabel: string): Promise<ScheduleRecord> {
    const s = await this.#get(scope, idOrLabel);
    if (!s) throw scheduleNotFound(idOrLabel);
    return s;
  }

  async #assertLabelFree(scope: PgScope, label: string, exceptId: string | undefined): Promise<void> {
    await lockSchema(scope, 'schedules');
    const other = await scope.query(`SELECT 1 FROM ${this.#t} WHERE (label = $1 OR id = $1) AND id <> $2`, [label, exceptId ?? '']);
    if (other.length > 0) throw labelTaken(label);
  }
}

export function pgScheduleStore(scope: PgScope, shared: PgShared): PgScheduleStore {
  return new PgScheduleStore(scope, pgEventLog(scope, shared));
}
