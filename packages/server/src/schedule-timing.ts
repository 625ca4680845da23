/**
 * When a schedule runs: a cron expression (5 fields, or 6 with seconds) evaluated in an IANA
 * time zone, or a one-shot time. Used by the schedule routes and by the daemon's scheduler, so
 * both agree on every next run.
 */
import { Cron } from 'croner';
import { RequestError } from './errors.ts';

export interface ScheduleTiming {
  cron: string | null;
  timezone: string;
  runAt: number | null;
}

function invalid(path: string, message: string): RequestError {
  return new RequestError('VALIDATION_FAILED', `Invalid body: body.${path}: ${message}`, { issues: [{ path: `body.${path}`, message }] });
}

export function assertTimeZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalid('timezone', `Unknown time zone "${timezone}"; use an IANA name such as "Europe/Berlin" or "UTC".`);
  }
}

/** The next run strictly after `after`, or null when there is none (a past one-shot, an exhausted cron). */
export function nextScheduleRun(timing: ScheduleTiming, after = Date.now()): number | null {
  if (timing.cron !== null) {
    assertTimeZone(timing.timezone);
    let job: Cron;
    try {
      job = new Cron(timing.cron, { timezone: timing.timezone, paused: true, mode: '5-or-6-parts' });
    } catch (err) {
      throw invalid('cron', `${(err as Error).message} Example: "0 9 * * 1-5" (09:00 on weekdays).`);
    }
    return job.nextRun(new Date(after))?.getTime() ?? null;
  }
  return timing.runAt !== null && timing.runAt > after ? timing.runAt : null;
}

/** Checks that exactly one of cron/runAt is set (and, when asked, that a one-shot lies in the future); returns the next run. */
export function validateScheduleTiming(timing: ScheduleTiming, options: { requireFutureRunAt?: boolean; now?: number } = {}): number | null {
  const now = options.now ?? Date.now();
  if ((timing.cron === null) === (timing.runAt === null)) {
    throw invalid('cron', 'Give either `cron` (recurring) or `runAt` (one-shot), not both and not neither.');
  }
  const next = nextScheduleRun(timing, now);
  if (options.requireFutureRunAt !== false && timing.runAt !== null && next === null) throw invalid('runAt', 'The one-shot time is in the past.');
  return next;
}
