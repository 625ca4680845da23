/**
 * Problems by field: the contract's zod issues (checked in the page before sending) and the
 * server's 4xx details (`{issues: [{path, message, hint?}]}` of VALIDATION_FAILED and
 * CONFIG_INVALID) both become `{ 'heartbeat.interval': ['must be …'] }`, keyed by the settings
 * path written the way the API writes it (`a.b[2]`), so a form shows each next to its field.
 */
import { isApiError } from '@tinyagi/client';

export type FieldIssues = Record<string, string[]>;

export interface Issue {
  path: string;
  message: string;
}

/** `['agents', 'coder', 'limits', 'max_depth']` -> `agents.coder.limits.max_depth`; indexes as `[2]`. */
export function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** A zod issue as the form shows it: any version's `{path, message}`, with zod 4's details when present. */
export interface ZodLikeIssue {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  expected?: unknown;
  origin?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  inclusive?: unknown;
  values?: unknown;
}

/**
 * Plain words for the common zod issues ("must be a whole number", "must be 0 or more") instead
 * of zod's own ("Invalid input: expected int, received number"); anything else keeps zod's text.
 */
export function plainMessage(issue: ZodLikeIssue): string {
  const { code, origin } = issue;
  const bound = (n: unknown): string => (typeof n === 'bigint' || typeof n === 'number' ? String(n) : '');
  if (code === 'invalid_type') {
    if (issue.expected === 'int') return 'must be a whole number';
    if (issue.expected === 'number') return 'must be a number';
    if (issue.expected === 'boolean') return 'must be on or off';
    if (issue.expected === 'string') return 'must be text';
  }
  if (code === 'too_small') {
    const min = bound(issue.minimum);
    if (origin === 'number') return issue.inclusive === false ? `must be more than ${min}` : `must be ${min} or more`;
    if (origin === 'string') return min === '1' ? 'must not be empty' : `must be at least ${min} characters`;
    if (origin === 'array' || origin === 'set') return `pick at least ${min}`;
  }
  if (code === 'too_big') {
    const max = bound(issue.maximum);
    if (origin === 'number') return issue.inclusive === false ? `must be less than ${max}` : `must be ${max} or less`;
    if (origin === 'string') return `must be at most ${max} characters`;
    if (origin === 'array' || origin === 'set') return `pick at most ${max}`;
  }
  if (code === 'invalid_value' && Array.isArray(issue.values)) return `must be one of: ${issue.values.map(String).join(', ')}`;
  return issue.message;
}

/** zod issues as field issues, in plain words. */
export function fromZodIssues(issues: readonly ZodLikeIssue[]): FieldIssues {
  return group(issues.map((i) => ({ path: pathOf(i.path), message: plainMessage(i) })));
}

/**
 * A server error's issues as field issues, each path with the first matching prefix removed
 * (`body.`, `agents.coder.`): what stays is the form's own field path. Issues outside every
 * prefix keep their full path (the form shows those above its fields).
 */
export function fromApiError(err: unknown, prefixes: readonly string[] = []): FieldIssues | null {
  if (!isApiError(err) || err.status < 400 || err.status >= 500) return null;
  const details = err.details as { issues?: Array<{ path?: unknown; message?: unknown; hint?: unknown }> } | undefined;
  const raw = Array.isArray(details?.issues) ? details.issues : [];
  if (raw.length === 0) return null;
  return group(
    raw.map((i) => {
      let path = typeof i.path === 'string' ? i.path : '';
      for (const prefix of prefixes) {
        if (path === prefix.replace(/\.$/, '')) {
          path = '';
          break;
        }
        if (path.startsWith(prefix)) {
          path = path.slice(prefix.length);
          break;
        }
      }
      const message = `${String(i.message ?? 'invalid')}${typeof i.hint === 'string' ? `. ${i.hint}` : ''}`;
      return { path, message };
    }),
  );
}

function group(issues: Issue[]): FieldIssues {
  const out: FieldIssues = {};
  for (const issue of issues) {
    const list = out[issue.path] ?? [];
    list.push(issue.message);
    out[issue.path] = list;
  }
  return out;
}

/** Issues at `path` or below it (a section shows the problems of its fields). */
export function issuesUnder(issues: FieldIssues, path: string): Issue[] {
  return Object.entries(issues)
    .filter(([p]) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`))
    .flatMap(([p, messages]) => messages.map((message) => ({ path: p, message })));
}
