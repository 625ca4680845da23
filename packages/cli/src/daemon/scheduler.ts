/**
 * Runs the schedules table: cron schedules (time zone aware) and one-shots.
 *
 * Contract:
 * - The server computes `nextRunAt` when a schedule is created or changed; the scheduler fires
 *   what is due, then stores the following run (`markFired` also emits `schedule.fired` and
 *   disables a finished one-shot).
 * - Missed runs: a run due more than MISSED_AFTER_MS ago (the daemon was down) follows the
 *   schedule's policy: `run-once` fires once now (however many runs were missed), `skip` does
 *   not fire and moves on to the next run.
 * - A firing is enqueued with an idempotency key per (schedule, due time), so a crash between
 *   the enqueue and `markFired` never sends it twice.
 * - New and edited schedules are picked up within POLL_MS (the table is the only source).
 */
import { errorMessage } from '@tinyagi/core';
import type { ScheduleRecord, ScheduleStoreApi } from '../core-internal.ts';
import type { Logger } from './logger.ts';

export const MISSED_AFTER_MS = 60_000;
const POLL_MS = 2000;
/** A schedule that could not fire (e.g. its agent was removed) is retried this much later. */
const RETRY_MS = 30_000;

export interface ScheduleFire {
  schedule: ScheduleRecord;
  idempotencyKey: string;
}

export interface SchedulerOptions {
  store: ScheduleStoreApi;
  /** Enqueues the schedule's message (kind 'schedule'); returns the message id. */
  fire(input: ScheduleFire): Promise<string>;
  /** The run after `after` (cron in its time zone), or null. */
  nextRun(schedule: ScheduleRecord, after: number): number | null;
  logger: Logger;
  now?: () => number;
}

export class ScheduleRunner {
  readonly #options: SchedulerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #ticking: Promise<void> | undefined;
  readonly #retryAt = new Map<string, number>();

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    this.#arm(0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#ticking;
  }

  /** Fires everything due now. */
  async tick(): Promise<void> {
    const now = this.#now();
    for (const schedule of await this.#options.store.due(now)) {
      if ((this.#retryAt.get(schedule.id) ?? 0) > now) continue;
      const dueAt = schedule.nextRunAt ?? now;
      const missed = now - dueAt > MISSED_AFTER_MS;
      let next: number | null;
      try {
        next = this.#options.nextRun(schedule, now);
      } catch (err) {
        this.#options.logger.error(`schedule ${schedule.label || schedule.id}: ${errorMessage(err)}; disabling it`);
        await this.#options.store.update(schedule.id, { ...inputOf(schedule), enabled: false });
        continue;
      }
      if (missed && schedule.missedPolicy === 'skip') {
        this.#options.logger.info(`schedule ${schedule.label || schedule.id}: skipped the run missed at ${new Date(dueAt).toISOString()} (policy skip)`);
        await this.#options.store.update(schedule.id, { ...inputOf(schedule), nextRunAt: next, enabled: next !== null && schedule.enabled });
        continue;
      }
      try {
        const messageId = await this.#options.fire({ schedule, idempotencyKey: `schedule:${schedule.id}:${dueAt}` });
        await this.#options.store.markFired(schedule.id, now, next, { messageId, dueAt, missed });
        this.#retryAt.delete(schedule.id);
      } catch (err) {
        // Not marked fired: it stays due and is retried later.
        this.#retryAt.set(schedule.id, now + RETRY_MS);
        this.#options.logger.warn(`schedule ${schedule.label || schedule.id} could not fire: ${errorMessage(err)}`);
      }
    }
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  #arm(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#ticking = this.#tickThenNextDue().then((next) => {
        this.#ticking = undefined;
        if (!this.#running) return;
        this.#arm(next === undefined ? POLL_MS : Math.min(POLL_MS, Math.max(200, next - this.#now())));
      });
    }, delayMs);
    this.#timer.unref();
  }

  /** One tick, then when the next schedule is due (undefined: poll); never rejects. */
  async #tickThenNextDue(): Promise<number | undefined> {
    try {
      await this.tick();
      return this.#running ? await this.#options.store.nextDueAt() : undefined;
    } catch (err) {
      this.#options.logger.error(`scheduler tick failed: ${errorMessage(err)}`);
      return undefined;
    }
  }
}

function inputOf(s: ScheduleRecord) {
  return {
    label: s.label,
    agentId: s.agentId,
    teamId: s.teamId,
    message: s.message,
    cron: s.cron,
    timezone: s.timezone,
    runAt: s.runAt,
    enabled: s.enabled,
    missedPolicy: s.missedPolicy,
    channel: s.channel,
    senderId: s.senderId,
    nextRunAt: s.nextRunAt,
  };
}
