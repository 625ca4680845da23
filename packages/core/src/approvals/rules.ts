/**
 * Permission rules (docs/approvals.md), evaluated in the daemon for every permission request a
 * runtime reports: any matching `deny` rule denies, else any matching `ask` rule asks a person,
 * else a matching `allow` rule allows, else the agent's fallback applies (`ask` for
 * permission_mode "ask"). Pure apart from resolving paths on disk (symlinks).
 *
 * What a rule can name, and how it is matched so that a rule never allows more than it says:
 * - `tool`: a glob on the tool's name (`Bash`, `mcp__github__*`).
 * - `command`: a glob on each simple command of the request's shell command line. The line is
 *   split at `;`, `&&`, `||`, `|`, `&` and newlines outside quotes; every part must be allowed,
 *   by one allow rule matching them all or by an allow rule for each (`cd web && npm test` with
 *   rules for `cd *` and `npm test`; `git status; rm -rf /` is not `git status*`), while a deny
 *   or ask rule matching any part decides. A line with
 *   command or process substitution (`$(…)`, backticks, `<(…)`) can never be allowed by a rule
 *   (what it runs is not in the text), and a part that redirects (`>`, `<`) only by a pattern that
 *   itself redirects.
 * - `path`: `inside` / `outside` the agent's workspace, or a glob on the absolute path (`**` any
 *   depth, `*` within one name). Paths are resolved against the workspace, `..` removed, and
 *   symlinks of the deepest existing ancestor followed, so a link out of the workspace is outside.
 *   An allow rule must match every path of the request, a deny or ask rule any.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { PermissionRule } from '@tinyagi/client/contract';

export interface PermissionRequest {
  tool: string;
  input: unknown;
}

export interface PermissionVerdict {
  action: 'allow' | 'deny' | 'ask';
  /** The rule that decided; none when the fallback did. */
  rule?: PermissionRule;
}

/** Evaluates `rules` for `request` (paths resolved against `workspace`); `fallback` when none matches. */
export function evaluatePermission(rules: readonly PermissionRule[], request: PermissionRequest, workspace: string, fallback: 'allow' | 'ask' | 'deny'): PermissionVerdict {
  const facts = requestFacts(request, workspace);
  for (const action of ['deny', 'ask', 'allow'] as const) {
    const rule = rules.find((r) => r.action === action && ruleMatches(r, facts, action === 'allow'));
    if (rule) return { action, rule };
  }
  // A command line no one rule allows whole: allowed when each of its commands has an allow rule of its own.
  if (facts.commands && facts.commands.length > 1) {
    const covering = facts.commands.map((part) => rules.find((r) => r.action === 'allow' && r.command !== undefined && ruleMatches(r, { ...facts, commands: [part] }, true)));
    if (covering.every((r) => r !== undefined)) return { action: 'allow', rule: covering[0]! };
  }
  return { action: fallback };
}

interface RequestFacts {
  tool: string;
  /** The command line's simple commands; null when it has substitutions (never allowable); undefined without a command. */
  commands: Array<{ text: string; redirects: boolean }> | null | undefined;
  /** The command line as given (for deny and ask rules on a line that cannot be split). */
  commandLine: string | undefined;
  /** Absolute, resolved paths the request touches. */
  paths: string[];
  workspace: string;
}

function ruleMatches(rule: PermissionRule, facts: RequestFacts, allow: boolean): boolean {
  if (rule.tool !== undefined && !globMatch(rule.tool, facts.tool, 'text')) return false;
  if (rule.command !== undefined) {
    if (facts.commands === undefined) return false;
    // A line with substitutions: never allowed by a rule; a deny or ask rule matches the whole line.
    if (facts.commands === null) {
      if (allow || !globMatch(rule.command, facts.commandLine ?? '', 'text')) return false;
    } else if (!commandsMatch(rule.command, facts.commands, allow)) return false;
  }
  if (rule.path !== undefined) {
    if (facts.paths.length === 0) return false;
    const matches = (path: string): boolean => {
      if (rule.path === 'inside') return isInside(path, facts.workspace);
      if (rule.path === 'outside') return !isInside(path, facts.workspace);
      return globMatch(isAbsolute(rule.path!) ? rule.path! : join(facts.workspace, rule.path!), path, 'path');
    };
    if (allow ? !facts.paths.every(matches) : !facts.paths.some(matches)) return false;
  }
  return true;
}

/** An allow pattern must match every simple command (a redirecting one only if the pattern redirects too); deny and ask any. */
function commandsMatch(pattern: string, commands: ReadonlyArray<{ text: string; redirects: boolean }>, allow: boolean): boolean {
  if (commands.length === 0) return false;
  if (!allow) return commands.some((part) => globMatch(pattern, part.text, 'text'));
  const redirectingPattern = /[<>]/.test(pattern);
  return commands.every((part) => (!part.redirects || redirectingPattern) && globMatch(pattern, part.text, 'text'));
}

function requestFacts(request: PermissionRequest, workspace: string): RequestFacts {
  const root = realOrResolved(workspace);
  const input = request.input && typeof request.input === 'object' ? (request.input as Record<string, unknown>) : {};
  const command = commandLineOf(input.command);
  const raw: string[] = [];
  for (const key of ['file_path', 'path', 'notebook_path', 'filePath']) if (typeof input[key] === 'string') raw.push(input[key] as string);
  for (const key of ['paths', 'files']) if (Array.isArray(input[key])) raw.push(...(input[key] as unknown[]).filter((p): p is string => typeof p === 'string'));
  if (Array.isArray(input.changes)) {
    for (const change of input.changes as unknown[]) {
      const path = (change as { path?: unknown } | null)?.path;
      if (typeof path === 'string') raw.push(path);
    }
  }
  return {
    tool: request.tool,
    commands: command === undefined ? undefined : splitCommandLine(command),
    commandLine: command,
    paths: raw.map((p) => resolvePath(p, root)),
    workspace: root,
  };
}

/** A shell command line from a tool input: a string, or an argv array (Codex) joined with its words quoted. */
function commandLineOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((w) => typeof w === 'string')) {
    // `bash -lc "<line>"`: the line is what runs.
    if (value.length === 3 && /(^|\/)(ba|z|da)?sh$/.test(value[0]!) && /^-l?c$/.test(value[1]!)) return value[2];
    return value.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
  }
  return undefined;
}

/**
 * Splits a shell command line into its simple commands at `;`, `&&`, `||`, `|`, `&` and
 * newlines outside quotes. Returns null when the line substitutes commands (`$(`, backticks,
 * `<(`, `>(`) anywhere outside single quotes: what it runs is not in the text.
 */
export function splitCommandLine(line: string): Array<{ text: string; redirects: boolean }> | null {
  const parts: Array<{ text: string; redirects: boolean }> = [];
  let current = '';
  let redirects = false;
  let quote: '' | "'" | '"' = '';
  const push = (): void => {
    const text = current.trim().replace(/\s+/g, ' ');
    if (text !== '') parts.push({ text, redirects });
    current = '';
    redirects = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    const next = line[i + 1];
    if (quote === "'") {
      current += c;
      if (c === "'") quote = '';
      continue;
    }
    if (c === '\\') {
      current += c + (next ?? '');
      i++;
      continue;
    }
    if (c === '`' || (c === '$' && next === '(')) return null;
    if (quote === '"') {
      current += c;
      if (c === '"') quote = '';
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      current += c;
      continue;
    }
    if ((c === '<' || c === '>') && next === '(') return null;
    if (c === '<' || c === '>') redirects = true;
    if (c === ';' || c === '\n' || c === '&' || c === '|') {
      push();
      if ((c === '&' || c === '|') && next === c) i++;
      continue;
    }
    current += c;
  }
  if (quote !== '') return null; // an unterminated quote: the shell would not run it as written
  push();
  return parts;
}

/**
 * Glob match: `*` any run of characters (in `path` mode: within one path segment), `**` any run
 * including `/` (path mode), `?` one character. The whole text must match.
 */
export function globMatch(pattern: string, text: string, mode: 'text' | 'path'): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (mode === 'path' && pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += mode === 'path' ? '[^/]*' : '.*';
    } else if (c === '?') re += mode === 'path' ? '[^/]' : '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(text);
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** `p` against `root`, `..` removed, the deepest existing ancestor's symlinks followed. */
function resolvePath(p: string, root: string): string {
  const absolute = resolve(root, p.startsWith('~/') ? join(process.env.HOME ?? '/', p.slice(2)) : p);
  let existing = absolute;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return absolute;
      rest.push(existing.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      existing = parent;
    }
  }
}

function realOrResolved(dir: string): string {
  return resolvePath(dir, '/');
}
