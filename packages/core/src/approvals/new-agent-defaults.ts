/**
 * What a new agent starts with (docs/approvals.md, "New agents"): an agent created by `tinyagi
 * agent add`, `POST /api/agents`, `PUT /api/agents/:id` of an id that does not exist yet (the
 * TinyOffice agent form) or the first run's default agent, whose runtime runs tools and can ask
 * the way it will run, and whose settings say nothing about permissions, gets
 * `permission_mode: "ask"` with the starter rules below: reads and edits inside its workspace and
 * a few read-only or test commands run without asking, a few destructive commands are refused,
 * everything else asks a person. An agent that sets `permission_mode` or `permissions` keeps what
 * it says; existing agents and a hand-written settings.json are never changed.
 *
 * "Can ask the way it will run": Claude Code always (per message through TinyAGI's MCP tool
 * `approval_prompt`, or warm); Codex, OpenCode and ACP agents only in a warm session
 * (`process: "warm"`): their per-message runs have no channel for a request, so for them the
 * default stays as it was rather than claim an `ask` nothing enforces.
 */
import type { PermissionRule } from '@tinyagi/client/contract';
import { runtimeKinds } from '../invoker/runtimes.ts';
import { harnessRuntime, providerRuntime, DEFAULT_AGENT_RUNTIME } from '../config/runtime-names.ts';
import { ownEntry } from '../config/object-path.ts';

/** Shell commands (any tool with a command line) that only read the repository or run its tests. */
const SAFE_COMMANDS = [
  'git status',
  'git status *',
  'git diff',
  'git diff *',
  'git log',
  'git log *',
  'git show *',
  'git branch',
  'ls',
  'ls *',
  'pwd',
  // Into a folder of the workspace (the ways out are asked, below): what follows it in the line is judged on its own (`cd web && npm test`).
  'cd *',
  'npm test',
  'npm test *',
  'npm run test*',
  'pnpm test',
  'pnpm test *',
  'yarn test',
  'yarn test *',
  'pytest',
  'pytest *',
  'go test *',
  'cargo test',
  'cargo test *',
];

/** `cd` out of the workspace (home, absolute, `..`, a variable, `-`, quoted or escaped so the glob cannot see it): a person decides. */
const ASKED_COMMANDS = ['cd', 'cd /*', 'cd ~*', 'cd *..*', 'cd $*', 'cd -*', 'cd "*', "cd '*", 'cd \\*'];

/** Commands no rule-less request should run: refused, whoever would answer. */
const DENIED_COMMANDS = ['rm -rf /*', 'rm -rf ~*', 'rm -rf $HOME*', 'sudo *', 'git push --force*', 'git push -f*'];

/**
 * The starter rules (docs/approvals.md). Tools by the name each runtime gives them: Claude Code's
 * `Read`/`Edit`/`Write`/`MultiEdit`/`NotebookEdit`, ACP's kinds `read`/`edit`, Codex's
 * `fileChange`; command rules name no tool, so they hold for `Bash`, `commandExecution` and
 * `execute` alike.
 */
export const STARTER_PERMISSION_RULES: readonly PermissionRule[] = [
  ...['Read', 'read'].map((tool): PermissionRule => ({ action: 'allow', tool, path: 'inside' })),
  ...['Edit', 'Write', 'MultiEdit', 'NotebookEdit', 'edit', 'fileChange'].map((tool): PermissionRule => ({ action: 'allow', tool, path: 'inside' })),
  ...SAFE_COMMANDS.map((command): PermissionRule => ({ action: 'allow', command })),
  ...ASKED_COMMANDS.map((command): PermissionRule => ({ action: 'ask', command })),
  ...DENIED_COMMANDS.map((command): PermissionRule => ({ action: 'deny', command })),
];

interface SettingsLike {
  models?: { provider?: string | undefined } | undefined;
  custom_providers?: Record<string, { harness?: string | undefined } | undefined> | undefined;
}

/** The runtime kind a new agent's provider runs on (a custom provider's harness), if known. */
function kindOf(settings: SettingsLike, provider: string) {
  const name = providerRuntime(provider);
  if (!name.startsWith('custom:')) return runtimeKinds.get(name);
  const harness = ownEntry(settings.custom_providers, name.slice('custom:'.length))?.harness;
  return harness === undefined ? undefined : runtimeKinds.get(harnessRuntime(harness));
}

/**
 * A new agent's settings with the safer default added (see above), or `body` unchanged when it
 * sets permissions itself, its runtime runs no tools, or the runtime cannot ask as it will run.
 */
export function withNewAgentDefaults<T extends Record<string, unknown>>(settings: SettingsLike, body: T): T {
  if (body['permission_mode'] !== undefined || body['permissions'] !== undefined) return body;
  const provider = typeof body['provider'] === 'string' ? body['provider'] : (settings.models?.provider ?? DEFAULT_AGENT_RUNTIME);
  const kind = kindOf(settings, provider);
  if (!kind?.capabilities.usesTools) return body;
  if (!kind.capabilities.asksApproval && body['process'] !== 'warm') return body;
  return { ...body, permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES.map((r) => ({ ...r })) } };
}
