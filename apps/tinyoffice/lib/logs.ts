/**
 * The daemon log's lines as the Logs page shows them: `2025-01-01T12:00:00.000Z INFO  [scope] text`
 * (cli/src/daemon/logger.ts) split into time, level, scope and text; a line in another shape (a
 * stack trace, a channel's own output) keeps the level of the line above it.
 */
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface LogLine {
  n: number;
  raw: string;
  at: string | null;
  level: Level;
  scope: string | null;
  text: string;
}

const LINE = /^(\d{4}-\d\d-\d\dT\S+)\s+(DEBUG|INFO|WARN|ERROR)\s+\[([^\]]+)\]\s?(.*)$/;

export function parseLog(lines: readonly string[]): LogLine[] {
  let level: Level = 'info';
  return lines.map((raw, n) => {
    const m = LINE.exec(raw);
    if (!m) return { n, raw, at: null, level, scope: null, text: raw };
    level = m[2]!.toLowerCase() as Level;
    return { n, raw, at: m[1]!, level, scope: m[3]!, text: m[4]! };
  });
}

/** Lines at `min` or above whose text contains `search` (any case). */
export function filterLog(lines: readonly LogLine[], min: Level, search: string): LogLine[] {
  const floor = LEVELS.indexOf(min);
  const needle = search.trim().toLowerCase();
  return lines.filter((l) => LEVELS.indexOf(l.level) >= floor && (needle === '' || l.raw.toLowerCase().includes(needle)));
}
