/**
 * What a new agent starts with: an agent created by `tinyagi agent add`, `POST /api/agents`,
 * `PUT /api/agents/:id` of an id that does not exist yet (the TinyOffice agent form) or the first
 * run's default agent — all through `newAgent` below, with the machine's facts.
 *
 * **Sandboxed** (docs/sandbox.md): one whose runtime runs a process and whose settings say nothing
 * of `sandbox` gets `sandbox: "on"` when the boundary's self-test passed on the machine; else no
 * key (off), and a warning that says why.
 *
 * **Warm** (docs/sessions.md, "Warm or per message"): one whose runtime stays warm
 * (`capabilities.staysWarm`: Claude Code, Codex, OpenCode, ACP agents) and whose settings say
 * nothing of `process` gets `process: "warm"`.
 *
 * **Asks** (docs/approvals.md, "New agents"): one whose runtime runs tools and can ask the way it
 * will run, and whose settings say nothing about permissions, gets `permission_mode: "ask"` with
 * the starter rules below: reads and edits inside its workspace (a task's worktree) and
 * a few read-only or test commands run without asking, and while its sandbox holds the commands
 * that only read the workspace; a few destructive commands are refused, everything else asks a person. An agent that sets `permission_mode` or `permissions` keeps what
 * it says; existing agents and a hand-written settings.json are never changed.
 *
 * "Can ask the way it will run": Claude Code always (per message through TinyAGI's MCP tool
 * `approval_prompt`, or warm); Codex, OpenCode and ACP agents only in a warm session
 * (`process: "warm"`): their per-message runs have no channel for a request, so for them the
 * default stays as it was rather than claim an `ask` nothing enforces.
 */
import type { PermissionRule } from '@tinyagi/client/contract';
import { clause } from '../errors.ts';
import { runtimeKinds } from '../kinds/runtimes/index.ts';
import { customProviderRuntime, providerRuntime, DEFAULT_AGENT_RUNTIME } from '../config/runtime-names.ts';
import { ownEntry } from '../config/object-path.ts';
import { runtimeCliPresence } from '../kinds/runtime-cli.ts';
import { runtimeRunsProcess } from '../sandbox/status.ts';

/**
 * Shell commands that only read the repository or run its tests. Their `*` stands only for
 * harmless arguments (known-commands.ts): an option that writes a file, reads outside the
 * workspace or runs another program asks, and `cd` goes only into a folder of the workspace.
 */
const SAFE_COMMANDS = [
  ...['status', 'diff', 'log', 'show', 'branch'].flatMap((sub) => [`git ${sub}`, `git ${sub} *`]),
  'ls',
  'ls *',
  'pwd',
  'cd *',
  ...['npm', 'pnpm', 'yarn'].flatMap((pm) => [`${pm} test`, `${pm} test *`, `${pm} run test`, `${pm} run test *`, `${pm} run test:*`]),
  'pytest',
  'pytest *',
  'go test',
  'go test *',
  'cargo test',
  'cargo test *',
  // Python's tests and linters; run through a virtual environment's wrappers (`.venv/bin/pytest`, `uv run`, `python -m`), judged as the tool.
  ...['python', 'python3'].flatMap((python) => [`${python} -m unittest`, `${python} -m unittest *`]),
  ...['ruff check', 'ruff format --check', 'mypy', 'flake8', 'black --check'].flatMap((tool) => [tool, `${tool} *`]),
];

/**
 * Commands that only read and print, allowed while the agent's sandbox holds (`sandboxed: true`):
 * the boundary lets nothing they run write outside the workspace or reach the network unasked,
 * so a pipe into them (`npm test 2>&1 | tail -20`) is as allowed as its first command. Their `*`
 * stands only for paths inside the workspace and options that neither write, nor run a program
 * (`find -exec`, `rg --pre`, `tree -o`), nor read a list of files (known-commands.ts): outside
 * the workspace the boundary hides only the known secret folders, so reading there still asks.
 */
const SANDBOXED_READ_COMMANDS = [
  ...['cat', 'head', 'tail', 'wc', 'grep', 'rg', 'find', 'jq', 'diff', 'tree', 'du'].flatMap((c) => [c, `${c} *`]),
  ...['rev-parse', 'ls-files', 'ls-tree', 'blame', 'describe', 'cat-file', 'rev-list', 'shortlog', 'show-ref', 'grep', 'merge-base', 'name-rev', 'remote'].flatMap((sub) => [
    `git ${sub}`,
    `git ${sub} *`,
  ]),
];

/** Commands no rule-less request should run: refused, whoever would answer. */
const DENIED_COMMANDS = ['rm -rf /*', 'rm -rf ~*', 'rm -rf $HOME*', 'sudo *', 'git push --force*', 'git push -f*'];

/**
 * The starter rules (docs/approvals.md). Tools by the name each runtime gives them: Claude Code's
 * `Read`/`Edit`/`Write`/`MultiEdit`/`NotebookEdit`, ACP's kinds `read`/`edit`, Codex's
 * `fileChange` (`inside` never covers a file that controls execution, protected-paths.ts);
 * command rules name no tool, so they hold for the shell tools `Bash`, `commandExecution` and
 * `execute` alike. The read-only commands hold only while the agent's sandbox is enforced.
 */
export const STARTER_PERMISSION_RULES: readonly PermissionRule[] = [
  ...['Read', 'read'].map((tool): PermissionRule => ({ action: 'allow', tool, path: 'inside' })),
  ...['Edit', 'Write', 'MultiEdit', 'NotebookEdit', 'edit', 'fileChange'].map((tool): PermissionRule => ({ action: 'allow', tool, path: 'inside' })),
  ...SAFE_COMMANDS.map((command): PermissionRule => ({ action: 'allow', command })),
  ...SANDBOXED_READ_COMMANDS.map((command): PermissionRule => ({ action: 'allow', command, sandboxed: true })),
  ...DENIED_COMMANDS.map((command): PermissionRule => ({ action: 'deny', command })),
];

interface SettingsLike {
  models?: { provider?: string | undefined } | undefined;
  custom_providers?: Record<string, object | undefined> | undefined;
  sessions?: { idle_minutes?: number | undefined } | undefined;
}

/** The runtime kind a new agent's provider runs on (a custom provider's runtime), if known. */
function kindOf(settings: SettingsLike, provider: string) {
  const name = providerRuntime(provider);
  if (!name.startsWith('custom:')) return runtimeKinds.get(name);
  const runtime = customProviderRuntime(ownEntry(settings.custom_providers, name.slice('custom:'.length)));
  return runtime === undefined ? undefined : runtimeKinds.get(runtime);
}

/**
 * The facts of the machine that runs the agent which a new agent's defaults depend on.
 * `boundary`: the sandbox's self-test there (the daemon's start-up check, else one run by the
 * caller); undefined: not known (no self-test ran, or it has not finished). `env`: the daemon's
 * environment, whose PATH says whether the agent's CLI is installed.
 */
export interface NewAgentMachine {
  boundary: { ok: boolean; reason?: string | undefined } | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

/**
 * What a new agent was given and what to do about it, said the same way by the CLI and the API:
 * `message` fits every surface (no command of one); `cli`, what to do in the CLI's commands (a
 * surface with its own controls, TinyOffice, says its own by `code`).
 */
export interface NewAgentNote {
  code: 'sandbox-on' | 'sandbox-failed' | 'sandbox-unchecked' | 'asks' | 'unattended' | 'warm' | 'cli-missing';
  message: string;
  cli?: string;
}

/** A note as the CLI says it: its message, then its commands. */
export function newAgentNoteText(note: NewAgentNote): string {
  return note.cli ? `${note.message} ${note.cli}` : note.message;
}

export interface NewAgent<T> {
  /** The settings to store: what the caller gave with the defaults added. */
  agent: T;
  /** What the agent starts with (said to the user). */
  notes: NewAgentNote[];
  /** What will not work as the user may expect (a missing CLI, a sandbox that could not be turned on). */
  warnings: NewAgentNote[];
}

/** `sandbox: "on"` for an agent whose runtime runs a process when the boundary holds; else its settings unchanged. */
function withSandboxDefault<T extends Record<string, unknown>>(body: T, runsProcess: boolean, machine: NewAgentMachine): T {
  if (body['sandbox'] !== undefined || !runsProcess || machine.boundary?.ok !== true) return body;
  return { ...body, sandbox: 'on' };
}

function sandboxNote(id: string, given: Record<string, unknown>, agent: Record<string, unknown>, runsProcess: boolean, machine: NewAgentMachine): NewAgentNote | undefined {
  const mode = agent['sandbox'];
  if (mode === 'on' || mode === 'required') {
    return {
      code: 'sandbox-on',
      message: `Sandboxed (${mode}): its CLI runs inside the boundary, without your credentials or other agents' workspaces (docs/sandbox.md).`,
      cli: '`tinyagi status` says whether it holds.',
    };
  }
  if (given['sandbox'] !== undefined || !runsProcess) return undefined;
  const cli = `See \`tinyagi doctor\`; once it holds, sandbox it with: tinyagi agent sandbox ${id} on`;
  if (machine.boundary === undefined) {
    return {
      code: 'sandbox-unchecked',
      message: 'Not sandboxed: the daemon has no result of its sandbox self-test (not run, or not finished), so it runs unconfined.',
      cli,
    };
  }
  return {
    code: 'sandbox-failed',
    message: `Not sandboxed: the sandbox's self-test did not pass on this machine (${clause(machine.boundary.reason ?? 'no reason given')}), so it runs unconfined (docs/sandbox.md).`,
    cli,
  };
}

type Kind = ReturnType<typeof kindOf>;

function permissionNote(given: Record<string, unknown>, agent: Record<string, unknown>, id: string, kind: Kind): NewAgentNote | undefined {
  if (given['permission_mode'] !== undefined || given['permissions'] !== undefined) return undefined;
  if (agent['permission_mode'] === 'ask') {
    return {
      code: 'asks',
      message: 'It asks before tool calls its starter rules do not allow (docs/approvals.md).',
      cli: `Answer with \`tinyagi approvals\`; see the rules with \`tinyagi agent show ${id}\`.`,
    };
  }
  if (!kind?.capabilities.usesTools) return undefined;
  return {
    code: 'unattended',
    message: 'It runs its tools without asking anyone: per message this CLI cannot ask. For approvals make its process warm and its permission mode ask (docs/approvals.md).',
  };
}

function warmNote(settings: SettingsLike, given: Record<string, unknown>, agent: Record<string, unknown>): NewAgentNote | undefined {
  if (agent['process'] !== 'warm' || given['process'] !== undefined) return undefined;
  const idle = settings.sessions?.idle_minutes ?? 15;
  return {
    code: 'warm',
    message: `Warm: its CLI stays running between messages, one process per open conversation (a few hundred MB each), closed after ${idle} min unused (docs/sessions.md#warm-or-per-message).`,
    cli: `Per message instead: --config '{"process":"per-message"}'.`,
  };
}

function cliNote(kind: Kind, machine: NewAgentMachine): NewAgentNote | undefined {
  const cli = runtimeCliPresence(kind, machine.env ?? process.env);
  if (cli === undefined || cli.installed) return undefined;
  const install = kind?.verifiedVersions?.install ?? kind?.installHint;
  return {
    code: 'cli-missing',
    message: `"${cli.command}" (${kind?.title ?? cli.command}) is not installed on this machine (not found on the daemon's PATH): its messages fail until it is.${install ? ` Install it: ${install}` : ''}`,
  };
}

/**
 * A new agent (see above): its settings with the defaults added, from what the caller gave and
 * the machine's facts, with what to tell the user. The one definition every way of making an
 * agent uses: `tinyagi agent add`, the first start's default agent, `POST /api/agents` (so
 * TinyOffice's form) and `PUT /api/agents/:id` of a new id.
 *
 * - `sandbox: "on"` for an agent whose runtime runs a process (a CLI, an ACP agent) when the
 *   boundary holds on the machine; not set (off) otherwise, with a warning that says why;
 * - `process: "warm"` unless it says how it runs or its runtime cannot stay warm;
 * - `ask` with the starter rules unless it sets permissions itself, its runtime runs no tools, or
 *   the runtime cannot ask as it will run.
 */
export function newAgent<T extends Record<string, unknown>>(settings: SettingsLike, id: string, body: T, machine: NewAgentMachine): NewAgent<T> {
  const provider = typeof body['provider'] === 'string' ? body['provider'] : (settings.models?.provider ?? DEFAULT_AGENT_RUNTIME);
  const kind = kindOf(settings, provider);
  const runsProcess = runtimeRunsProcess(kind);
  const sandboxed = withSandboxDefault(body, runsProcess, machine);
  const warm = sandboxed['process'] === undefined && kind?.capabilities.staysWarm === true ? { ...sandboxed, process: 'warm' } : sandboxed;
  const agent = asksByDefault(warm, kind) ? { ...warm, permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES.map((r) => ({ ...r })) } } : warm;
  const sandbox = sandboxNote(id, body, agent, runsProcess, machine);
  const notes = [sandbox?.code === 'sandbox-on' ? sandbox : undefined, permissionNote(body, agent, id, kind), warmNote(settings, body, agent)];
  const warnings = [cliNote(kind, machine), sandbox?.code === 'sandbox-on' ? undefined : sandbox];
  return { agent, notes: notes.filter((n) => n !== undefined), warnings: warnings.filter((n) => n !== undefined) };
}

function asksByDefault(body: Record<string, unknown>, kind: Kind): boolean {
  if (body['permission_mode'] !== undefined || body['permissions'] !== undefined) return false;
  if (!kind?.capabilities.usesTools) return false;
  return kind.capabilities.asksApproval || body['process'] === 'warm';
}

/** A machine whose facts nobody gave: the boundary unknown (no sandbox default), the CLI looked up on this process's PATH. */
export const UNKNOWN_MACHINE: NewAgentMachine = { boundary: undefined };

/** A new agent's settings with the defaults added (`newAgent` without its notes). */
export function withNewAgentDefaults<T extends Record<string, unknown>>(settings: SettingsLike, body: T, machine: NewAgentMachine = UNKNOWN_MACHINE): T {
  return newAgent(settings, '', body, machine).agent;
}
