/**
 * Reading settings.json.
 *
 * Contract: loading never writes. A file that is not valid JSON or not valid settings is
 * reported (CONFIG_PARSE_FAILED / CONFIG_INVALID, with every problem) and left exactly as it is:
 * no repair, no backup, no rewrite. (The reference "repaired" half-written files with jsonrepair
 * and wrote the result back, silently losing configuration.)
 */
import { readFileSync } from 'node:fs';
import { TinyError, errorMessage } from '../errors.ts';
import { findJsonSyntaxError } from './json-syntax.ts';
import type { Settings } from './schema.ts';
import { parseSettings } from './validate.ts';

export interface LoadedSettings {
  settings: Settings;
  /** False when the file does not exist (settings are then `{}`: every default applies). */
  exists: boolean;
}

/** The file's text, or undefined when it does not exist. */
export function readSettingsText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TinyError('CONFIG_IO', `Cannot read ${file}: ${errorMessage(err)}`, {
      hint: 'Check that the path is a readable file (permissions, not a directory).',
      details: { file, code: (err as NodeJS.ErrnoException).code },
      cause: err,
    });
  }
}

/** Parses JSON text, reporting a syntax error with its line and column (and never the file's content). */
export function parseSettingsJson(text: string, file: string): unknown {
  // Editors on Windows may save with a byte-order mark; skipping it in memory is not a repair.
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(json) as unknown;
  } catch (err) {
    const located = findJsonSyntaxError(json);
    const where = located ? ` at line ${located.line}, column ${located.column}` : '';
    const reason = json.trim() === '' ? 'the file is empty' : (located?.reason ?? 'invalid JSON');
    throw new TinyError('CONFIG_PARSE_FAILED', `Cannot parse ${file}${where}: ${reason}.`, {
      hint: `Fix the JSON in ${file} by hand or restore it from a backup; TinyAGI never rewrites a broken settings file.`,
      details: { file, line: located?.line, column: located?.column, offset: located?.offset, reason },
      cause: err,
    });
  }
}

/** Parses and validates settings text; throws CONFIG_PARSE_FAILED or CONFIG_INVALID. */
export function parseSettingsText(text: string, file: string): Settings {
  return parseSettings(parseSettingsJson(text, file), file);
}

export function loadSettings(file: string): LoadedSettings {
  const text = readSettingsText(file);
  if (text === undefined) return { settings: {}, exists: false };
  return { settings: parseSettingsText(text, file), exists: true };
}
