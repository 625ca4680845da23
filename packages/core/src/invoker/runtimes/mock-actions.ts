/**
 * The mock runtime's scripted actions (a scripted reply's `actions`, docs/kinds.md "The mock's
 * actions"): what a coding agent does in its working directory, without a model, so a person can
 * try tasks and approvals. In the order written:
 * - `{ write: { path, content } }`: writes a file relative to the run's working directory (a
 *   task's worktree); a path that leads outside it (`..`, absolute, through a symbolic link) is
 *   refused;
 * - `{ run: [command, ...args] }`: runs a command there (argv, no shell);
 * - `{ commit: message }`: `git add -A` and `git commit -m message` there;
 * - `{ update_task: { status?, comment? } }`: what a real agent's `update_task` tool does, by the
 *   same route (`PATCH /api/runs/<run>/task` with the run's own token): `status: "review"` says
 *   the task is done, and the daemon's Checking runs;
 * - `{ ask_approval: { tool, input?, summary? } }`: the approval a real agent's tool call raises
 *   (the run's approval step: the rules answer, else a person does from any surface);
 * - `{ remember: { text, kind, reason, scope?, scope_id?, replaces? } }`: what a real agent's
 *   `remember` tool does, by the same route (`POST /api/runs/<run>/memory` with the run's own
 *   token): a memory proposal that waits for a person unless the scope's `auto_accept` takes it.
 * A failing action (a command's non-zero exit, a refused path, a denied approval, the API's
 * error) fails the run with its reason; the actions after it do not run. `run` and `commit` start
 * their process inside the agent's boundary when its sandbox is on (as a CLI agent's tools are);
 * `write` is done by the daemon itself, confined to the working directory by path.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { clause } from '../../errors.ts';
import { fromSandboxRefusal, InvokeError } from '../invoke-error.ts';
import { McpRememberInput, type McpRememberArgs, rememberBodyOf } from '@tinyagi/client/contract';
import type { InvokeRequest } from '../types.ts';
import { agentBoundary } from '../agent-boundary.ts';
import { identityEnvOf } from '../../task-worktree/identity-env.ts';

export type MockActionSpec =
  | { write: { path: string; content: string } }
  | { run: string[] }
  | { commit: string }
  | { update_task: { status?: string; comment?: string } }
  | { ask_approval: { tool: string; input?: Record<string, unknown>; summary?: string } }
  | { remember: McpRememberArgs };

const ACTION_NAMES = ['write', 'run', 'commit', 'update_task', 'ask_approval', 'remember'] as const;
type ActionName = (typeof ACTION_NAMES)[number];
const TASK_STATUSES = ['backlog', 'todo', 'in_progress', 'checking', 'review', 'done'];

/** How much of a command's output a failure quotes (its end). */
const OUTPUT_TAIL_CHARS = 2000;

function invalid(where: string, message: string): InvokeError {
  return new InvokeError('permanent', `The mock script's ${where}: ${message}`, {
    code: 'CONFIG_INVALID',
    hint: 'Each action is one of { write: { path, content } }, { run: [command, ...args] }, { commit: message }, { update_task: { status, comment } }, { ask_approval: { tool, input, summary } }, { remember: { text, kind, reason } } (docs/kinds.md).',
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** A scripted reply's `actions` as written in the settings, checked: the parsed list, or a permanent CONFIG_INVALID error naming the action. */
export function parseMockActions(raw: unknown, owner = 'reply'): MockActionSpec[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalid(`${owner}'s actions`, 'must be a list of actions.');
  return raw.map((action, i) => parseAction(action, `${owner}'s action ${i + 1}`));
}

function parseAction(action: unknown, where: string): MockActionSpec {
  if (!isRecord(action)) throw invalid(where, `must be an object with one of the keys ${ACTION_NAMES.join(', ')}.`);
  const keys = Object.keys(action);
  if (keys.length !== 1 || !(ACTION_NAMES as readonly string[]).includes(keys[0]!))
    throw invalid(where, `must have exactly one of the keys ${ACTION_NAMES.join(', ')} (it has ${keys.length === 0 ? 'none' : keys.join(', ')}).`);
  const name = keys[0] as ActionName;
  const value = action[name];
  switch (name) {
    case 'write': {
      if (!isRecord(value) || !nonEmptyString(value.path) || typeof value.content !== 'string') throw invalid(where, 'write needs { path, content }: a file path and its text.');
      if (isAbsolute(value.path)) throw invalid(where, `write's path "${value.path}" is absolute: give a path relative to the run's working directory.`);
      return { write: { path: value.path, content: value.content } };
    }
    case 'run': {
      if (!Array.isArray(value) || value.length === 0 || !value.every((a) => typeof a === 'string') || !nonEmptyString(value[0]))
        throw invalid(where, 'run needs a command and its arguments as a list of strings (["npm", "test"]); a shell line is not taken.');
      return { run: value as string[] };
    }
    case 'commit': {
      if (!nonEmptyString(value)) throw invalid(where, 'commit needs its message (a non-empty string).');
      return { commit: value };
    }
    case 'update_task': {
      if (!isRecord(value)) throw invalid(where, 'update_task needs { status, comment } (one or both).');
      const { status, comment } = value;
      if (status !== undefined && (typeof status !== 'string' || !TASK_STATUSES.includes(status))) throw invalid(where, `update_task's status must be one of ${TASK_STATUSES.join(', ')}.`);
      if (comment !== undefined && !nonEmptyString(comment)) throw invalid(where, "update_task's comment must be a non-empty string.");
      if (status === undefined && comment === undefined) throw invalid(where, 'update_task needs a status, a comment, or both.');
      return { update_task: { ...(status !== undefined ? { status } : {}), ...(comment !== undefined ? { comment } : {}) } };
    }
    case 'ask_approval': {
      if (!isRecord(value) || !nonEmptyString(value.tool)) throw invalid(where, 'ask_approval needs { tool, input?, summary? }: the tool as an agent names it (Bash, Write, …).');
      if (value.input !== undefined && !isRecord(value.input)) throw invalid(where, "ask_approval's input must be an object (the tool's input).");
      if (value.summary !== undefined && !nonEmptyString(value.summary)) throw invalid(where, "ask_approval's summary must be a non-empty string.");
      return {
        ask_approval: { tool: value.tool, ...(value.input !== undefined ? { input: value.input as Record<string, unknown> } : {}), ...(value.summary !== undefined ? { summary: value.summary } : {}) },
      };
    }
    case 'remember': {
      const parsed = McpRememberInput.safeParse(value);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw invalid(where, `remember needs { text, kind, reason, scope?, scope_id?, replaces? } as the remember tool takes them: ${first?.path.join('.') || 'it'}: ${first?.message ?? 'invalid'}.`);
      }
      return { remember: parsed.data };
    }
  }
}

/** The name of an action (for progress and errors). */
export function mockActionName(action: MockActionSpec): ActionName {
  return Object.keys(action)[0] as ActionName;
}

/**
 * `path` inside `cwd`, or an INVALID_PATH error: neither `..` nor a symbolic link (of the file or
 * of a folder on the way) may lead out of the working directory.
 */
export function confinedPath(cwd: string, path: string): string {
  const root = realpathSync(cwd);
  const target = resolve(root, path);
  const outside = (p: string): boolean => {
    const rel = relative(root, p);
    return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  const refuse = (): InvokeError =>
    new InvokeError('permanent', `The mock's write to "${path}" is refused: it leads outside the run's working directory (${root}).`, {
      code: 'INVALID_PATH',
      hint: "Give a path inside the working directory (for a task, its worktree); '..' and symbolic links out of it are refused.",
    });
  if (outside(target) || target === root) throw refuse();
  // The deepest part that exists, with its links followed, must be inside too.
  let existing = target;
  while (!existsSync(existing) && !isSymlink(existing)) existing = dirname(existing);
  const real = isSymlink(existing) ? realTarget(existing) : realpathSync(existing);
  if (real === undefined || (outside(real) && real !== root)) throw refuse();
  return target;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function realTarget(link: string): string | undefined {
  try {
    return realpathSync(link);
  } catch {
    // A dangling link: where it points cannot be checked, so it is refused.
    return undefined;
  }
}

export interface MockActionContext {
  req: InvokeRequest;
  /** Aborts when the run ends (cancel, timeout): a running command is killed. */
  signal: AbortSignal;
  /** Renders the script's `{{…}}` variables in a file's content and a commit message. */
  render: (template: string) => string;
  /** The run waits on something other than itself (a person's answer): not silence. */
  holding: (on: boolean) => void;
}

/** Does one action; throws an InvokeError (permanent) with the reason it failed. */
export async function runMockAction(action: MockActionSpec, ctx: MockActionContext): Promise<void> {
  const { req } = ctx;
  if ('write' in action) {
    const file = confinedPath(req.cwd, action.write.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, ctx.render(action.write.content));
    return;
  }
  if ('run' in action) {
    await runConfined(action.run, ctx);
    return;
  }
  if ('commit' in action) {
    await runConfined(['git', 'add', '-A'], ctx);
    const named = await commandSucceeds(['git', 'config', 'user.email'], ctx);
    const identity = named ? [] : ['-c', `user.name=${req.agentId}`, '-c', `user.email=${req.agentId}@tinyagi.invalid`];
    await runConfined(['git', ...identity, 'commit', '-q', '-m', ctx.render(action.commit)], ctx);
    return;
  }
  if ('update_task' in action) {
    await callRunApi('update_task', 'PATCH', 'task', action.update_task, ctx);
    return;
  }
  if ('remember' in action) {
    await callRunApi('remember', 'POST', 'memory', rememberBodyOf({ ...action.remember, text: ctx.render(action.remember.text) }), ctx);
    return;
  }
  const ask = action.ask_approval;
  if (!req.askApproval) throw new InvokeError('permanent', `The mock's ask_approval (${ask.tool}): this run has no approval step.`);
  ctx.holding(true);
  let answer: Awaited<ReturnType<NonNullable<InvokeRequest['askApproval']>>>;
  try {
    answer = await req.askApproval({ tool: ask.tool, input: ask.input ?? {}, ...(ask.summary ? { summary: ask.summary } : {}) });
  } finally {
    ctx.holding(false);
  }
  if (!answer.allow) throw new InvokeError('permanent', `The mock's ${ask.tool} was denied (${answer.decidedBy})${answer.reason ? `: ${answer.reason}` : ''}.`);
}

/** The run's environment for a command: the daemon's PATH and HOME, a task worktree's git identity (as a CLI's run gets it), and the run's own variables. */
function commandEnv(req: InvokeRequest): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return { ...base, ...identityEnvOf(req.cwd), ...req.env };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  spawnError?: Error;
}

/** Runs argv in the working directory, inside the agent's boundary when its sandbox is on. */
async function execute(argv: string[], ctx: MockActionContext): Promise<Exit> {
  const { req } = ctx;
  const env = commandEnv(req);
  const [command, ...args] = argv as [string, ...string[]];
  const boundary = agentBoundary(req)?.boundary;
  const wrapped = boundary ? await boundary.wrap({ command, args, env: boundary.env(env) }).catch((err: unknown) => Promise.reject(fromSandboxRefusal(err))) : undefined;
  return await new Promise<Exit>((resolvePromise) => {
    let output = '';
    let child: ChildProcess;
    try {
      child = spawn(wrapped?.command ?? command, wrapped?.args ?? args, {
        cwd: req.cwd,
        env: wrapped?.env ?? env,
        detached: true,
        stdio: wrapped ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      wrapped?.release();
      resolvePromise({ code: null, signal: null, output: '', spawnError: err as Error });
      return;
    }
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    if (wrapped) (child.stdio[wrapped.controlFd] as NodeJS.WritableStream | null)?.on('error', () => {});
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    ctx.signal.addEventListener('abort', kill, { once: true });
    child.on('error', (err) => {
      ctx.signal.removeEventListener('abort', kill);
      wrapped?.release();
      resolvePromise({ code: null, signal: null, output, spawnError: err });
    });
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', kill);
      wrapped?.release();
      resolvePromise({ code, signal, output });
    });
  });
}

async function commandSucceeds(argv: string[], ctx: MockActionContext): Promise<boolean> {
  const exit = await execute(argv, ctx);
  return exit.code === 0 && exit.output.trim() !== '';
}

async function runConfined(argv: string[], ctx: MockActionContext): Promise<void> {
  const exit = await execute(argv, ctx);
  if (ctx.signal.aborted) throw ctx.signal.reason as Error;
  if (exit.spawnError) {
    const code = (exit.spawnError as NodeJS.ErrnoException).code;
    throw new InvokeError('permanent', `The mock could not start ${argv[0]}: ${code === 'ENOENT' ? 'not found on PATH' : clause(exit.spawnError.message)}.`);
  }
  if (exit.code === 0) return;
  const how = exit.code !== null ? `exit ${exit.code}` : `killed by ${exit.signal ?? 'a signal'}`;
  const tail = exit.output.trim();
  throw new InvokeError('permanent', `The mock's command \`${argv.join(' ')}\` failed (${how})${tail ? `: ${tail}` : '.'}`);
}

/** Calls the run's own route (`/api/runs/<run>/<route>`) with its run token, as the agent's MCP tool of the same name does. */
async function callRunApi(tool: string, method: 'PATCH' | 'POST', route: string, body: object, ctx: MockActionContext): Promise<void> {
  const env = ctx.req.env ?? {};
  const api = env.TINYAGI_API_URL;
  const run = env.TINYAGI_RUN_ID;
  const token = env.TINYAGI_RUN_TOKEN;
  if (!api || !run || !token) throw new InvokeError('permanent', `The mock's ${tool}: this run has no API to tell (TINYAGI_API_URL, TINYAGI_RUN_ID and TINYAGI_RUN_TOKEN are not set).`);
  let response: Response;
  try {
    response = await fetch(`${api.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(run)}/${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason as Error;
    throw new InvokeError('permanent', `The mock's ${tool} could not reach the API: ${clause(err instanceof Error ? err.message : String(err))}.`);
  }
  if (response.ok) return;
  const text = await response.text();
  let said = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string }; code?: string; message?: string };
    const error = parsed.error ?? parsed;
    if (error.message) said = `${error.code ? `${error.code}: ` : ''}${error.message}`;
  } catch {
    // not JSON: its text as it is
  }
  throw new InvokeError('permanent', `The mock's ${tool} was refused (${response.status}): ${said}`);
}
