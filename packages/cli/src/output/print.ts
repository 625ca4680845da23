/**
 * Printing results: one JSON document for `--json`, aligned plain-text tables otherwise.
 */
import { stripVTControlCharacters } from 'node:util';
import { style } from './style.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Visible length: ANSI colour sequences do not take columns. */
function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}

/** A table with a dimmed header row; cells are strings (already coloured if wanted). */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[], empty = '(none)'): void {
  if (rows.length === 0) {
    println(style.dim(empty));
    return;
  }
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  println(style.dim(line(headers)));
  for (const row of rows) println(line(row));
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
