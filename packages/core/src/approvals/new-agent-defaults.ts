/**
 * What a new agent starts with: an agent created by `tinyagi agent add`, `POST /api/agents`,
 * `PUT /api/agents/:id` of an id that does not exist yet (the TinyOffice agent form) or the first
 * run's default agent.
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
import { runtimeKinds } from '../kinds/runtimes/index.ts';
import { customProviderRuntime, providerRuntime, DEFAULT_AGENT_RUNTIME } from '../config/runtime-names.ts';
import { ownEntry } from '../config/object-path.ts';

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
}

/** The runtime kind a new agent's provider runs on (a custom provider's runtime), if known. */
function kindOf(settings: SettingsLike, provider: string) {
  const name = providerRuntime(provider);
  if (!name.startsWith('custom:')) return runtimeKinds.get(name);
  const runtime = customProviderRuntime(ownEntry(settings.custom_providers, name.slice('custom:'.length)));
  return runtime === undefined ? undefined : runtimeKinds.get(runtime);
}

/**
 * A new agent's settings with the defaults added (see above): `process: "warm"` unless it says
 * how it runs or its runtime cannot stay warm; `ask` with the starter rules unless it sets
 * permissions itself, its runtime runs no tools, or the runtime cannot ask as it will run.
 */
export function withNewAgentDefaults<T extends Record<string, unknown>>(settings: SettingsLike, body: T): T {
  const provider = typeof body['provider'] === 'string' ? body['provider'] : (settings.models?.provider ?? DEFAULT_AGENT_RUNTIME);
  const kind = kindOf(settings, provider);
  const warm = body['process'] === undefined && kind?.capabilities.staysWarm === true ? { ...body, process: 'warm' } : body;
  if (body['permission_mode'] !== undefined || body['permissions'] !== undefined) return warm;
  if (!kind?.capabilities.usesTools) return warm;
  if (!kind.capabilities.asksApproval && warm['process'] !== 'warm') return warm;
  return { ...warm, permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES.map((r) => ({ ...r })) } };
}
