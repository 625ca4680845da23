/**
 * When a schedule runs: a cron expression (5 fields, or 6 with seconds) evaluated in an IANA
 * time zone, or a one-shot time. Used by the schedule edits (API and offline CLI) and by the
 * daemon's scheduler, so all of them agree on every next run.
 */
import { Cron } from 'croner';
import { TinyError } from '../errors.ts';
import { isTimeZone } from '../time-zone.ts';

export interface ScheduleTiming {
  cron: string | null;
  timezone: string;
  runAt: number | null;
}

/** VALIDATION_FAILED naming the schedule field at fault. */
export function invalidSchedule(field: string, message: string): TinyError {
  return new TinyError('VALIDATION_FAILED', `Invalid schedule: ${field}: ${message}`, { details: { issues: [{ path: field, message }] } });
}

export { isTimeZone };

export function assertTimeZone(timezone: string): void {
  if (!isTimeZone(timezone)) throw invalidSchedule('timezone', `Unknown time zone "${timezone}"; use an IANA name such as "Europe/Berlin" or "UTC".`);
}

/** The next run strictly after `after`, or null when there is none (a past one-shot, an exhausted cron). */
export function nextScheduleRun(timing: ScheduleTiming, after = Date.now()): number | null {
  if (timing.cron !== null) {
    assertTimeZone(timing.timezone);
    let job: Cron;
    try {
      job = new Cron(timing.cron, { timezone: timing.timezone, paused: true, mode: '5-or-6-parts' });
    } catch (err) {
      const why = (err as Error).message.replace(/^CronPattern: /, '').replace(/[^.!?]$/, '$&.');
      throw invalidSchedule('cron', `${why} Example: "0 9 * * 1-5" (09:00 on weekdays).`);
    }
    return job.nextRun(new Date(after))?.getTime() ?? null;
  }
  return timing.runAt !== null && timing.runAt > after ? timing.runAt : null;
}

/** The next `count` runs strictly after `after` (fewer when the schedule ends: a one-shot has at most one). */
export function nextScheduleRuns(timing: ScheduleTiming, count: number, after = Date.now()): number[] {
  const runs: number[] = [];
  let from = after;
  while (runs.length < count) {
    const next = nextScheduleRun(timing, from);
    if (next === null) break;
    runs.push(next);
    if (timing.cron === null) break;
    from = next;
  }
  return runs;
}

/** Checks that exactly one of cron/runAt is set (and, when asked, that a one-shot lies in the future); returns the next run. */
export function validateScheduleTiming(timing: ScheduleTiming, options: { requireFutureRunAt?: boolean; now?: number } = {}): number | null {
  const now = options.now ?? Date.now();
  if ((timing.cron === null) === (timing.runAt === null)) {
    throw invalidSchedule('cron', 'Give either `cron` (recurring) or `runAt` (one-shot), not both and not neither.');
  }
  const next = nextScheduleRun(timing, now);
  if (options.requireFutureRunAt !== false && timing.runAt !== null && next === null) throw invalidSchedule('runAt', 'The one-shot time is in the past.');
  return next;
}

/**
 * A one-shot time as the CLI's --at takes it: an ISO date-time (without an offset it is local
 * time) or `+30m`, `+2h`, `+1d`, `+45s` from `now`. Returns epoch ms, or undefined when unparsable.
 */
export function parseRunAt(value: string, now = Date.now()): number | undefined {
  const relative = /^\+(\d+)\s*([smhd])$/.exec(value.trim());
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return now + Number(relative[1]) * unit;
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
