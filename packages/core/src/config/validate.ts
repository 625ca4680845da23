/**
 * Validating a settings value and turning zod issues into `{ path, message, hint }` lines a
 * person can act on. Used by load, by write (before anything touches the disk) and by the API.
 */
import type { z } from 'zod';
import { TinyError } from '../errors.ts';
import { channelBlockIssues } from './channel-blocks.ts';
import { settingsRuntimeBlockIssues } from './runtime-blocks.ts';
import { findJsonTreeProblem, formatSettingsPath, isPlainObject } from './object-path.ts';
import { SettingsSchema, type Settings } from './schema.ts';

export interface SettingsIssue {
  /** JSON path, e.g. `agents.Coder`, `teams.dev.leader_agent`, `teams.dev.agents[2]`; '' is the whole file. */
  path: string;
  message: string;
  hint?: string;
}

export type SettingsValidation = { ok: true; settings: Settings } | { ok: false; issues: SettingsIssue[] };

function withArticle(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'custom': {
      const hint = (issue.params as { hint?: unknown } | undefined)?.hint;
      return typeof hint === 'string' ? hint : undefined;
    }
    case 'invalid_type':
      if (issue.path.length === 0) return 'settings.json must hold one JSON object: { "agents": { … }, … }.';
      return `Use ${withArticle(issue.expected)} here, or remove the key to get the default.`;
    case 'invalid_value':
      return `Use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'too_small':
      if (issue.origin === 'number') return `Use a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}.`;
      return issue.origin === 'string' ? 'Use a non-empty string.' : undefined;
    case 'too_big':
      return issue.origin === 'number' ? `Use a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}.` : undefined;
    default:
      return undefined;
  }
}

export function toSettingsIssues(issues: readonly z.core.$ZodIssue[]): SettingsIssue[] {
  return issues.map((issue) => {
    const hint = hintFor(issue);
    const out: SettingsIssue = { path: formatSettingsPath(issue.path), message: issue.message };
    if (hint !== undefined) out.hint = hint;
    return out;
  });
}

/**
 * JSON.parse makes `"__proto__"` an ordinary key, but zod drops such keys from what it checks
 * (and from what the rules see). Since we hand out the input itself, they are rejected here.
 */
export function protoKeyIssues(value: unknown, path: PropertyKey[] = []): SettingsIssue[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => protoKeyIssues(item, [...path, index]));
  if (!isPlainObject(value)) return [];
  return Object.keys(value).flatMap((key) =>
    key === '__proto__'
      ? [{ path: formatSettingsPath([...path, key]), message: 'The key "__proto__" is not allowed', hint: 'Remove or rename this key.' }]
      : protoKeyIssues(value[key], [...path, key]),
  );
}

/** Deeper than any real settings file (agents.<id>.mock.replies[0].spawn[0] is 7 levels). */
export const MAX_SETTINGS_DEPTH = 64;

/**
 * Checked first and iteratively: the shape check and everything downstream (masking, merging,
 * cloning) walk settings recursively, so a deeper file would overflow the stack instead of
 * being reported.
 */
function depthIssue(value: unknown): SettingsIssue | undefined {
  const problem = findJsonTreeProblem(value, { maxDepth: MAX_SETTINGS_DEPTH });
  if (problem === undefined) return undefined;
  return {
    path: formatSettingsPath(problem.path),
    message: `Nested deeper than ${MAX_SETTINGS_DEPTH} levels`,
    hint: 'Remove this value or flatten it; no setting is nested this deeply.',
  };
}

/**
 * Checks shape and cross-key rules; every problem is reported, not just the first. A valid
 * `value` is returned itself, not zod's copy: zod reorders keys, and since the schema has no
 * defaults or transforms the original is the exact, order-preserving form to hand out and write.
 * Without zod's `new Function` fast path: settings are checked a few times in a daemon's life, and
 * compiling that path for each of the ~40 nested objects cost 5 ms of every start, more than
 * the checks it speeds up (docs/profiling.md, round 10).
 */
export function validateSettings(value: unknown): SettingsValidation {
  const tooDeep = depthIssue(value);
  if (tooDeep !== undefined) return { ok: false, issues: [tooDeep] };
  const result = SettingsSchema.safeParse(value, { jitless: true });
  const issues = uniqueIssues([
    ...(result.success ? [] : toSettingsIssues(result.error.issues)),
    ...toSettingsIssues(channelBlockIssues(value)),
    // Also among the schema's rules, unless zod skipped them: each once.
    ...(result.success ? [] : toSettingsIssues(settingsRuntimeBlockIssues(value))),
    ...protoKeyIssues(value),
  ]);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, settings: value as Settings };
}

function uniqueIssues(issues: SettingsIssue[]): SettingsIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\0${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One line per issue: `  - teams.dev.leader_agent: Leader "x" is not a member … (hint)`. */
export function formatSettingsIssues(issues: readonly SettingsIssue[]): string {
  return issues.map((i) => `  - ${i.path === '' ? '(whole file)' : i.path}: ${i.message}${i.hint ? `. ${i.hint}` : ''}`).join('\n');
}

/** The CONFIG_INVALID error for `issues` found in `source` (a file path, or e.g. "PATCH /api/settings"). */
export function settingsInvalidError(source: string, issues: SettingsIssue[]): TinyError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new TinyError('CONFIG_INVALID', `Invalid settings in ${source} (${count}):\n${formatSettingsIssues(issues)}`, {
    hint: `Fix the keys listed above in ${source}; nothing was changed.`,
    details: { file: source, issues },
  });
}

/**
 * CONFIG_INVALID for a change (a write, an edit through the API or the CLI) whose result would be
 * invalid: the file itself is fine and untouched, so the message blames the change, not the file.
 */
export function settingsChangeRefusedError(file: string, issues: SettingsIssue[]): TinyError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new TinyError('CONFIG_INVALID', `The change was refused: it would make the settings invalid (${count}):\n${formatSettingsIssues(issues)}`, {
    hint: `Nothing was changed; ${file} is as it was.`,
    details: { file, issues, change: true },
  });
}

/** `value` itself once it is valid; otherwise the change-refused CONFIG_INVALID error. */
export function parseSettingsChange(value: unknown, file: string): Settings {
  const result = validateSettings(value);
  if (!result.ok) throw settingsChangeRefusedError(file, result.issues);
  return result.settings;
}

/** `value` itself once it is valid (see validateSettings); otherwise CONFIG_INVALID naming `source`. */
export function parseSettings(value: unknown, source = 'settings'): Settings {
  const result = validateSettings(value);
  if (!result.ok) throw settingsInvalidError(source, result.issues);
  return result.settings;
}
