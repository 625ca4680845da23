/**
 * Permission rules (docs/approvals.md), evaluated in the daemon for every permission request a
 * runtime reports: any matching `deny` rule denies, else any matching `ask` rule asks a person,
 * else the request is allowed when allow rules cover all of it, else the agent's fallback
 * applies (`ask` for permission_mode "ask"). Pure apart from looking paths up on disk (symbolic
 * links), within a bound per request (paths.ts).
 *
 * What a rule can name, and how it is matched so that a rule never allows more than it says:
 * - `tool`: a glob on the tool's name (`Bash`, `mcp__github__*`).
 * - `command`: for the shell tools only (SHELL_TOOLS), a glob on each simple command of the
 *   command line as bash reads it (shell-parse.ts), written back with its words quoted where
 *   needed (`echo 'a b'`). An allow needs every simple command covered, by one rule or a rule
 *   for each, and a line read for certain: a line with a keyword, `eval`, a shell given code, a
 *   syntax error, a word bash computes (a variable, a substitution, a glob, braces, a tilde) or
 *   an assignment before the command, run from a folder outside the workspace, asks. A rule
 *   without `*` or `?` also matches the whole line as written (what `allow_always` adds). A
 *   command that redirects to or from a file is covered only by a pattern that redirects. Where a
 *   pattern has `*` or `?`, it covers a known command only with harmless arguments
 *   (known-commands.ts). A deny or ask rule matches if any simple command, or the whole line,
 *   matches.
 * - `path`: `inside` / `outside` the agent's workspace, or a glob on the absolute path (`**` any
 *   depth, `*` within one name; relative globs are the workspace's). Paths are resolved as the
 *   system opens them (paths.ts), so a link out of the workspace, dangling or not, is outside.
 *   An allow needs every path covered, by one rule or a rule for each; `inside` and a pattern
 *   with `*` or `?` never cover, for a tool that may write, a file that controls execution
 *   (protected-paths.ts). A deny or ask rule matches if any path does.
 * - `input`: the tool's whole input, exactly (key order aside), compared as masked for people
 *   (mask.ts): what a person's answer adds for a tool with no command or path (answer-rules.ts),
 *   so a masked secret in it matches only an input that masks the same.
 */
import { posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { PermissionRule } from '@tinyagi/client/contract';
import { MCP_AGENT_TOOLS, MCP_SERVER_NAME } from '@tinyagi/client/contract';
import { Deadline, OUT_OF_TIME, OutOfTime } from './deadline.ts';
import { globMatch, hasStar } from './glob.ts';
import { type ArgumentContext, gitStart, knownArgumentsHarmless, wrappedCommand } from './known-commands.ts';
import { isInside, PathResolver, type ResolvedPath } from './paths.ts';
import { maskToolInput } from './mask.ts';
import { findsOtherRepository, isProtectedPath } from './protected-paths.ts';
import { isHarmlessRedirect, parseCommandLine, shellQuote, type ShellWord, type SimpleCommand } from './shell-parse.ts';

export interface PermissionRequest {
  tool: string;
  input: unknown;
}

export interface PermissionVerdict {
  action: 'allow' | 'deny' | 'ask';
  /** The rule that decided; none when the fallback did. */
  rule?: PermissionRule;
}

/** The tools that run a shell command line: Claude Code's, Codex's and ACP's. Command rules hold for these only. */
export const SHELL_TOOLS: readonly string[] = ['Bash', 'commandExecution', 'execute'];
/** Tools that only read: a protected file (protected-paths.ts) is for them a path like any other. */
const READ_ONLY_TOOLS = new Set(['Read', 'read', 'Grep', 'Glob', 'LS', 'NotebookRead', 'search']);
/** A request naming more paths than this is not looked up: no rule allows its paths. */
export const MAX_REQUEST_PATHS = 100;
/**
 * Variables whose value every agent's shell has for certain: the daemon sets TINYAGI_CLI to its
 * `tinyagi` shim (the protocol's fallback when a login shell loses PATH), so `"$TINYAGI_CLI"` is
 * read as `tinyagi` by every rule.
 */
const KNOWN_VARIABLES: Readonly<Record<string, string>> = { TINYAGI_CLI: 'tinyagi' };
/** A line of more simple commands than this is allowed only by a rule for the whole line. */
const MAX_LINE_COMMANDS = 1_000;
/** A line whose `cd`s may leave it in more folders than this is not judged command by command (a person decides). */
export const MAX_LINE_FOLDERS = 64;

/** True for TinyAGI's own MCP tools as Claude Code names them (`mcp__tinyagi__call_agent`), by exact name. */
export function isOwnTool(tool: string): boolean {
  return Object.keys(MCP_AGENT_TOOLS).some((name) => tool === `mcp__${MCP_SERVER_NAME}__${name}`);
}

/**
 * True for a request of TinyAGI's own protocol (docs/approvals.md), which the run's token and the
 * team's guards govern: one of its MCP tools (isOwnTool), or a shell tool's line read for certain
 * whose every simple command is a sub-agent call, `tinyagi call …` or `"$TINYAGI_CLI" call …`
 * (the daemon's shim, by the name or the variable the protocol gives), every word known, no
 * assignment before it and no file redirected. A `tinyagi` by another path, an unquoted
 * `$TINYAGI_CLI`, another subcommand, or anything else on the line is not.
 */
export function isOwnRequest(request: PermissionRequest, deadline: Deadline = new Deadline()): boolean {
  if (isOwnTool(request.tool)) return true;
  if (!SHELL_TOOLS.includes(request.tool)) return false;
  const input = request.input && typeof request.input === 'object' ? (request.input as Record<string, unknown>) : {};
  const line = commandLineOf(input.command);
  if (line === undefined) return false;
  const parsed = parseCommandLine(line, KNOWN_VARIABLES, deadline);
  return parsed.opaque === undefined && parsed.commands.length > 0 && parsed.commands.every(isOwnCall);
}

function isOwnCall(command: SimpleCommand): boolean {
  const [program, sub, ...rest] = command.words;
  return program?.value === 'tinyagi' && sub?.value === 'call' && rest.every((w) => w.value !== undefined) && command.assignments.length === 0 && command.redirects.every(isHarmlessRedirect);
}

/** Where a request is judged, besides the rules. */
export interface PermissionContext {
  /**
   * The agent's sandbox boundary holds (its status is `enforced`, sandbox/status.ts): rules with
   * `sandboxed: true` hold. Otherwise those rules are left out.
   */
  sandboxed?: boolean | undefined;
  /**
   * When the judging must end; past it, a person decides. One request judged by several rule sets
   * (its agent's, its confiners', a session's) shares one. Default: JUDGING_BUDGET_MS from now.
   */
  deadline?: Deadline | undefined;
}

/**
 * Evaluates `rules` for `request`; `fallback` when none decides. `workspace` is the folder the run
 * works in (a task's worktree, else the agent's workspace): `inside` means inside it, relative
 * paths and a command without a folder of its own start there.
 */
export function evaluatePermission(
  rules: readonly PermissionRule[],
  request: PermissionRequest,
  workspace: string,
  fallback: 'allow' | 'ask' | 'deny',
  context: PermissionContext = {},
): PermissionVerdict {
  const sandboxed = context.sandboxed === true;
  const holding = sandboxed ? rules : rules.filter((r) => r.sandboxed !== true);
  const deadline = context.deadline ?? new Deadline();
  // Not judged in time: no rule's answer is certain, a person decides (where nobody is asked, no).
  const late: PermissionVerdict = { action: fallback === 'deny' ? 'deny' : 'ask' };
  try {
    const facts = requestFacts(request, workspace, deadline);
    for (const action of ['deny', 'ask'] as const) {
      const rule = holding.find((r) => r.action === action && deadline.check() && matchesAny(r, facts));
      if (rule) return { action, rule };
    }
    const rule = coveringRule(
      holding.filter((r) => r.action === 'allow'),
      facts,
    );
    return rule ? { action: 'allow', rule } : { action: fallback };
  } catch (err) {
    if (err instanceof OutOfTime) return late;
    throw err;
  }
}

interface CommandFacts {
  command: SimpleCommand;
  /** As rules read it: assignments, words (quoted where needed), and redirections other than harmless ones. */
  text: string;
  /** Every word known, no assignment before it, no redirection of a file: a rule may allow it. */
  plain: boolean;
  /** It redirects to or from a file. */
  redirects: boolean;
  /** For a known command (known-commands.ts): whether its arguments are harmless; undefined for others. */
  harmless: boolean | undefined;
  /** A git command that may find a repository other than the workspace's own (protected-paths.ts): no command rule allows the line. */
  otherRepository?: boolean;
  /** The command a virtual environment's wrapper runs (`uv run pytest` runs `pytest`, known-commands.ts): a rule for it decides too. */
  inner?: CommandFacts;
}

interface RequestFacts {
  tool: string;
  /** The command line (shell tools only). */
  line: string | undefined;
  /** Its simple commands. */
  commands: CommandFacts[];
  /** Why the line is not read for certain (shell-parse.ts): only a rule for the whole line may allow it. */
  unclear: string | undefined;
  /** It runs in a folder outside the workspace: no command rule allows it. */
  outside: boolean;
  paths: ResolvedPath[];
  workspace: string;
  /** Folders looked up for a `HEAD` (protected-paths.ts), for this request. */
  heads: Map<string, boolean>;
  /** The tool's input as masked for people (rules with `input` compare against it). */
  maskedInput: () => unknown;
  /** When the judging must end (deadline.ts). */
  deadline: Deadline;
}

/** A deny or ask rule: every condition it gives matches some part of the request. */
function matchesAny(rule: PermissionRule, facts: RequestFacts): boolean {
  if (rule.tool !== undefined && !globMatch(rule.tool, facts.tool, 'text')) return false;
  if (!inputMatches(rule, facts)) return false;
  if (rule.command !== undefined) {
    if (facts.line === undefined) return false;
    const pattern = rule.command;
    const matches = (c: CommandFacts | undefined): boolean => c !== undefined && (globMatch(pattern, c.text, 'text', facts.deadline) || matches(c.inner));
    if (!globMatch(pattern, facts.line.trim(), 'text', facts.deadline) && !facts.commands.some(matches)) return false;
  }
  if (rule.path !== undefined) {
    if (!facts.paths.some((p) => pathMatches(rule.path!, p, facts))) return false;
  }
  return true;
}

/** A rule without `input` holds for any input; one with it for exactly that input. */
function inputMatches(rule: PermissionRule, facts: RequestFacts): boolean {
  return rule.input === undefined || isDeepStrictEqual(facts.maskedInput(), rule.input);
}

function pathMatches(pattern: string, p: ResolvedPath, facts: RequestFacts): boolean {
  if (pattern === 'inside') return isInside(p.path, facts.workspace);
  // A path not looked up may lead anywhere.
  if (pattern === 'outside') return !p.resolved || !isInside(p.path, facts.workspace);
  return globMatch(pattern.startsWith('/') ? pattern : `${facts.workspace}/${pattern}`, p.path, 'path', facts.deadline);
}

/**
 * The allow rule that covers the request: one without command and path for its tool, or rules
 * that between them cover every simple command of its line and every path (the first of them
 * is returned). Undefined when the request is not covered whole.
 */
function coveringRule(allows: readonly PermissionRule[], facts: RequestFacts): PermissionRule | undefined {
  const forTool = allows.filter((r) => (r.tool === undefined || globMatch(r.tool, facts.tool, 'text')) && inputMatches(r, facts));
  const whole = forTool.find((r) => r.command === undefined && r.path === undefined);
  if (whole) return whole;
  const hasLine = facts.line !== undefined && facts.line.trim() !== '';
  if (!hasLine && facts.paths.length === 0) return undefined;
  const used: PermissionRule[] = [];
  const pick = (test: (r: PermissionRule) => boolean): boolean => {
    const rule = forTool.find((r) => facts.deadline.check() && test(r));
    if (rule) used.push(rule);
    return rule !== undefined;
  };
  if (hasLine) {
    // Run outside the workspace, or by git in another repository (whose config may run code): no command rule allows it.
    if (facts.outside || facts.commands.some((c) => c.otherRepository === true)) return undefined;
    const line = facts.line!.trim();
    // A rule with no `*` or `?` matches the whole line as written; else each simple command must be covered.
    const exact = pick((r) => r.command !== undefined && !hasStar(r.command) && globMatch(r.command, line, 'text', facts.deadline) && pathsOk(r, facts));
    if (!exact) {
      if (facts.unclear !== undefined || facts.commands.length === 0) return undefined;
      for (const c of facts.commands) {
        if (!pick((r) => r.command !== undefined && coversCommand(r.command, c, facts.deadline) && pathsOk(r, facts))) return undefined;
      }
    }
  }
  for (const p of facts.paths) {
    if (!pick((r) => r.path !== undefined && r.command === undefined && coversPath(r.path, p, facts))) return undefined;
  }
  return used[0];
}

/** A rule that also names a path covers a command only when every path of the request is covered by it. */
function pathsOk(rule: PermissionRule, facts: RequestFacts): boolean {
  return rule.path === undefined || (facts.paths.length > 0 && facts.paths.every((p) => coversPath(rule.path!, p, facts)));
}

function coversCommand(pattern: string, c: CommandFacts, deadline: Deadline): boolean {
  if (c.inner !== undefined && coversCommand(pattern, c.inner, deadline)) return true;
  if (!c.plain || !globMatch(pattern, c.text, 'text', deadline)) return false;
  if (c.redirects && !/[<>]/.test(pattern)) return false;
  // A `*` or `?` never stands for an argument of a known command that writes, reads outside, or runs a program.
  return !hasStar(pattern) || c.harmless !== false;
}

function coversPath(pattern: string, p: ResolvedPath, facts: RequestFacts): boolean {
  if (!p.resolved) return false;
  const guarded = !READ_ONLY_TOOLS.has(facts.tool) && isProtectedPath(p.path, facts.workspace, facts.heads);
  if (pattern === 'inside') return !guarded && isInside(p.path, facts.workspace);
  if (pattern === 'outside') return !isInside(p.path, facts.workspace);
  const absolute = pattern.startsWith('/') ? pattern : `${facts.workspace}/${pattern}`;
  return globMatch(absolute, p.path, 'path', facts.deadline) && !(guarded && hasStar(pattern));
}

function requestFacts(request: PermissionRequest, workspace: string, deadline: Deadline): RequestFacts {
  const resolver = new PathResolver();
  const root = new PathResolver().resolve(workspace, '/').path;
  const input = request.input && typeof request.input === 'object' ? (request.input as Record<string, unknown>) : {};
  const raw = requestPaths(input);
  const paths = raw.length > MAX_REQUEST_PATHS ? raw.map((p) => ({ path: lexical(p, root), resolved: false })) : raw.map((p) => resolver.resolve(p, root));
  let masked: { value: unknown } | undefined;
  // As it is stored and shown: JSON (an input left out is null).
  const maskedInput = (): unknown => {
    masked ??= { value: JSON.parse(JSON.stringify(maskToolInput(request.input ?? null))) as unknown };
    return masked.value;
  };
  const facts: RequestFacts = { tool: request.tool, line: undefined, commands: [], unclear: undefined, outside: false, paths, workspace: root, heads: new Map(), maskedInput, deadline };
  if (!SHELL_TOOLS.includes(request.tool)) return facts;
  const line = commandLineOf(input.command);
  if (line === undefined) return facts;
  facts.line = line;
  const parsed = parseCommandLine(line, KNOWN_VARIABLES, deadline);
  if (parsed.opaque === OUT_OF_TIME) throw new OutOfTime();
  facts.unclear = parsed.opaque;
  // Where the command runs (Codex reports its folder as `cwd`, OpenCode as `workdir`); every folder a `cd` of the line may lead to.
  const folder = typeof input.cwd === 'string' ? input.cwd : typeof input.workdir === 'string' ? input.workdir : undefined;
  const cwd = folder === undefined ? { path: root, resolved: true } : resolver.resolve(folder, root);
  facts.outside = !cwd.resolved || !isInside(cwd.path, root);
  if (parsed.commands.length > MAX_LINE_COMMANDS) facts.unclear ??= `more than ${MAX_LINE_COMMANDS} commands`;
  const folders = new Set([cwd.path]);
  const ctx: ArgumentContext = {
    inside: (p: string): boolean => {
      deadline.check();
      for (const from of folders) {
        const r = resolver.resolve(p, from);
        if (!r.resolved || !isInside(r.path, root)) return false;
      }
      return true;
    },
    folder: (p: string): boolean => [...folders].some((from) => resolver.isFolder(p, from)),
  };
  for (const command of parsed.commands) {
    if (deadline.step()) throw new OutOfTime();
    facts.commands.push(commandFacts(command, facts, ctx, folders, resolver));
  }
  return facts;
}

const NO_REDIRECTS: SimpleCommand['redirects'] = [];

/**
 * One simple command of the line as the rules read it. `folders`: where the line may be when it
 * runs (`ctx` judges paths from each); a harmless `cd` adds where it leads.
 */
function commandFacts(command: SimpleCommand, facts: RequestFacts, ctx: ArgumentContext, folders: Set<string>, resolver: PathResolver): CommandFacts {
  const fileRedirects = command.redirects.length === 0 ? NO_REDIRECTS : command.redirects.filter((r) => !isHarmlessRedirect(r));
  const text = commandText(command, fileRedirects);
  const redirects = fileRedirects.length > 0;
  // A line not read for certain is allowed by a rule for the whole line only: deny and ask rules read each command's text, nothing more.
  if (facts.unclear !== undefined) return { command, text, plain: false, redirects, harmless: undefined };
  const values = command.words.map((w) => w.value);
  const known = values.every((v) => v !== undefined) && command.assignments.length === 0;
  const argv = values as string[];
  const harmless = known ? knownArgumentsHarmless(argv, ctx) : undefined;
  if (known && harmless && argv[0] === 'cd') {
    // Each `cd` may double the folders (it may fail and leave the line where it was): past the cap the line is unclear.
    for (const from of [...folders]) if (folders.size <= MAX_LINE_FOLDERS) folders.add(resolver.resolve(argv[1]!, from).path);
    if (folders.size > MAX_LINE_FOLDERS) facts.unclear ??= `a line whose cd commands may lead to more than ${MAX_LINE_FOLDERS} folders`;
  }
  const otherRepository = known && gitFindsOtherRepository(argv, facts, folders, resolver);
  const plain = known && command.redirects.every((r) => r.target.value !== undefined);
  const wrapped = known ? wrappedCommand(argv, ctx) : undefined;
  const inner = wrapped && innerFacts({ ...command, words: wrapped.map((value) => ({ value, text: value })) }, fileRedirects, plain, ctx);
  return { command, text, plain, redirects, harmless, otherRepository, ...(inner && { inner }) };
}

/** The command a wrapper runs, as the rules read it: the wrapper's redirections, its own words. */
function innerFacts(command: SimpleCommand, fileRedirects: SimpleCommand['redirects'], plain: boolean, ctx: ArgumentContext): CommandFacts {
  const argv = command.words.map((w) => w.value!);
  return { command, text: commandText(command, fileRedirects), plain, redirects: fileRedirects.length > 0, harmless: knownArgumentsHarmless(argv, ctx) };
}

/**
 * For a git command: true when, from any folder the line may be in, the repository it finds (from
 * where `-C` leads, or the one `--git-dir` names) may be one other than the workspace's own, or
 * lies outside the workspace: its config may run code (protected-paths.ts).
 */
function gitFindsOtherRepository(argv: readonly string[], facts: RequestFacts, folders: ReadonlySet<string>, resolver: PathResolver): boolean {
  const start = gitStart(argv);
  if (start === undefined) return false;
  const root = facts.workspace;
  for (const from of folders) {
    const dir = resolver.resolve(start.dir, from);
    if (!dir.resolved || !isInside(dir.path, root)) return true;
    if (start.gitDir !== undefined) {
      if (resolver.resolve(start.gitDir, from).path !== `${root}/.git`) return true;
    } else if (findsOtherRepository(dir.path, root, facts.heads)) return true;
  }
  return false;
}

/** The command as rules read it: its assignments, its words (quoted where needed) and `redirects`, joined by spaces. */
function commandText(command: SimpleCommand, redirects: SimpleCommand['redirects']): string {
  const word = (w: ShellWord): string => (w.value === undefined ? w.text : shellQuote(w.value));
  let text = '';
  let first = true;
  const add = (part: string): void => {
    text = first ? part : `${text} ${part}`;
    first = false;
  };
  for (const a of command.assignments) add(a.text);
  for (const w of command.words) add(word(w));
  for (const r of redirects) add(`${r.fd ?? ''}${r.op}${r.op.startsWith('<<') ? '' : ` ${word(r.target)}`}`);
  return text;
}

/** `p` against `root` by its text only (`..` removed, no link followed). */
function lexical(p: string, root: string): string {
  const home = process.env.HOME ?? '/';
  return posix.resolve(root, p === '~' ? home : p.startsWith('~/') ? posix.join(home, p.slice(2)) : p);
}

/** Keys whose string is a path a tool reads or writes (a move's source and destination both). */
const PATH_KEYS = ['file_path', 'path', 'notebook_path', 'filePath', 'move_path', 'movePath', 'new_path', 'newPath', 'old_path', 'oldPath'];

/**
 * The paths a tool's input names: Claude Code's `file_path`, ACP's `path`, lists of them, and
 * Codex's changes, a list of `{ path, kind: { move_path } }` or an object keyed by path, a move
 * naming its destination (`move_path`) too.
 */
export function requestPaths(input: Record<string, unknown>): string[] {
  const raw: string[] = [];
  const named = (record: unknown): void => {
    if (!record || typeof record !== 'object' || Array.isArray(record)) return;
    for (const key of PATH_KEYS) {
      const value = (record as Record<string, unknown>)[key];
      if (typeof value === 'string') raw.push(value);
    }
  };
  named(input);
  for (const key of ['paths', 'files']) if (Array.isArray(input[key])) raw.push(...(input[key] as unknown[]).filter((p): p is string => typeof p === 'string'));
  const changes = input.changes;
  const change = (value: unknown): void => {
    named(value);
    named((value as { kind?: unknown } | null)?.kind);
  };
  if (Array.isArray(changes)) for (const c of changes as unknown[]) change(c);
  else if (changes && typeof changes === 'object') {
    for (const [path, c] of Object.entries(changes)) {
      raw.push(path);
      change(c);
    }
  }
  return raw;
}

/**
 * A shell command line from a tool input: a string, or an argv array (Codex) with its words
 * quoted. `bash -lc "<line>"` is its line. Another shell given a line (`sh`, `dash`, `zsh`,
 * `ksh`) reads it with its own grammar, so its line is taken only when every POSIX shell reads it
 * as bash does (portableLine); else, and for any other shell (`fish`), the argv stays a shell
 * given code, which the reader does not look into: a person decides.
 */
export function commandLineOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((w) => typeof w === 'string')) {
    if (value.length === 3 && /^-l?c$/.test(value[1]!)) {
      if (/(^|\/)bash$/.test(value[0]!)) return value[2];
      if (/(^|\/)(sh|dash|zsh|ksh|mksh|ash)$/.test(value[0]!) && portableLine(value[2]!)) return value[2];
    }
    return value.map((w: string) => shellQuote(w)).join(' ');
  }
  return undefined;
}

/**
 * True for a line that sh, dash, zsh and ksh read as bash does: words of plain characters, in
 * quotes holding no `$`, `` ` `` or `\` (but a double-quoted variable alone, `"$TINYAGI_CLI"`:
 * the protocol's fallback), joined by `|`, `&&`, `||`, `;`, newlines and the redirections `>`,
 * `>>`, `<`, `N>&M`. Anything else (`&>`, which dash reads as `&` then a redirection; `|&`;
 * expansions; braces; globs; zsh's `=cmd` and `$x:h`; comments) is not.
 */
export function portableLine(text: string): boolean {
  const line = text.replace(/"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})"/g, '""');
  if (/[$`\\!{}()[\]~^#*?%\t\r]/.test(line)) return false;
  // `&` only in `&&` and in a descriptor copy `N>&M`.
  if (/&>|\|&|<&/.test(line) || /(^|[^&>])&(?!&)/.test(line.replace(/\d>&\d/g, ''))) return false;
  if (/<</.test(line)) return false;
  // zsh: a word starting with `=` is a path lookup (`=ls`).
  if (/(^|[\s;|&<>])=/.test(line)) return false;
  return true;
}
