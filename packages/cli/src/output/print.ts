/**
 * Printing results: one JSON document for `--json`, aligned plain-text tables otherwise.
 */
import { stripVTControlCharacters } from 'node:util';
import { inCommandForm } from './command-form.ts';
import { style } from './style.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A line on stdout, its commands (`` `tinyagi …` ``, after ": ") in the form that works here (command-form.ts). */
export function println(line = ''): void {
  process.stdout.write(`${inCommandForm(line)}\n`);
}

/** Visible length: ANSI colour sequences do not take columns. */
function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}

/** The terminal's width when stdout is one; undefined when piped (scripts get whole cells). */
function terminalColumns(): number | undefined {
  return process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined;
}

/** Less room than this for the last column, and cutting it would not make the rows fit: they wrap whole instead. */
const MIN_LAST_COLUMN = 12;

/** Cuts `text` to `max` visible columns, ending in `…`; colour sequences do not count and are kept. */
function truncateVisible(text: string, max: number): string {
  if (visibleLength(text) <= max) return text;
  let out = '';
  let visible = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI sequences are what this skips.
  for (const part of text.split(/(\u001b\[[0-9;]*m)/)) {
    if (part.startsWith('\u001b[')) {
      out += part;
      continue;
    }
    const room = max - 1 - visible;
    if (room <= 0) continue;
    out += part.slice(0, room);
    visible += Math.min(part.length, room);
  }
  return `${out}…${text.includes('\u001b[') ? '\u001b[0m' : ''}`;
}

/**
 * A table's lines: a header row, then one line per row, columns padded to align. Given the
 * terminal's width, the last column (a title, a message) is cut to fit it, when that is enough
 * to make the rows fit.
 */
export function formatTable(headers: readonly string[], given: readonly (readonly string[])[], columns?: number): string[] {
  // One line per row: a line break or tab in a cell (a title written on two lines) is a space.
  const rows = given.map((row) => row.map((cell) => cell.replace(/[ \t]*[\r\n\t\v\f\u2028\u2029]\s*/g, ' ')));
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const last = headers.length - 1;
  const fixed = widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0);
  const room = columns === undefined ? Number.POSITIVE_INFINITY : columns - fixed;
  const lastMax = room >= MIN_LAST_COLUMN ? room : Number.POSITIVE_INFINITY;
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === last ? truncateVisible(cell, lastMax) : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** A table with a dimmed header row; cells are strings (already coloured if wanted); `total`: a last row in bold, aligned with the others. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[], empty = '(none)', total?: readonly string[]): void {
  if (rows.length === 0) {
    println(style.dim(empty));
    return;
  }
  const [head = '', ...body] = formatTable(headers, total ? [...rows, total] : rows, terminalColumns());
  const last = total ? body.pop() : undefined;
  println(style.dim(head));
  for (const line of body) println(line);
  if (last !== undefined) println(style.bold(last));
}

/** `key: value` lines with aligned keys. */
export function printFields(fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  for (const [key, value] of fields) println(`${style.dim(`${key}:`.padEnd(width + 1))} ${value}`);
}

/** `1 team`, `2 teams`; `irregular` for words that do not just take an s. */
export function plural(n: number, word: string, irregular = `${word}s`): string {
  return `${n} ${n === 1 ? word : irregular}`;
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
