/**
 * Quiet hours for heartbeats: `monitoring.quiet_hours: "22:00-07:00"` (24-hour local time of the
 * daemon; a range may wrap past midnight; start == end means never quiet). During quiet hours no
 * heartbeat is sent; a heartbeat that falls due then is sent when they end. The settings schema
 * rejects a malformed value at load; `parseQuietHours` also checks the CLI's --quiet-hours flag.
 */
import { QUIET_HOURS_PATTERN } from '../core-internal.ts';

export interface QuietHours {
  /** Minutes after midnight. */
  start: number;
  end: number;
  text: string;
}

/** Parses the setting; undefined when unset, an error message string when malformed. */
export function parseQuietHours(value: unknown): QuietHours | string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const match = typeof value === 'string' ? QUIET_HOURS_PATTERN.exec(value) : null;
  if (match === null) return `monitoring.quiet_hours must look like "22:00-07:00" (got ${JSON.stringify(value)})`;
  const [, h1, m1, h2, m2] = match.map(Number) as [number, number, number, number, number];
  return { start: h1 * 60 + m1, end: h2 * 60 + m2, text: (value as string).trim() };
}

export function inQuietHours(quiet: QuietHours, at: Date): boolean {
  const minute = at.getHours() * 60 + at.getMinutes();
  if (quiet.start === quiet.end) return false;
  return quiet.start < quiet.end ? minute >= quiet.start && minute < quiet.end : minute >= quiet.start || minute < quiet.end;
}

/** The first moment at or after `at` that is outside quiet hours. */
export function quietHoursEnd(quiet: QuietHours, at: Date): Date {
  if (!inQuietHours(quiet, at)) return at;
  const end = new Date(at);
  end.setHours(Math.floor(quiet.end / 60), quiet.end % 60, 0, 0);
  if (end.getTime() <= at.getTime()) end.setDate(end.getDate() + 1);
  return end;
}
