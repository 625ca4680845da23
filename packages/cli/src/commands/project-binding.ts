/**
 * A repository binding from `tinyagi project add|bind` flags (docs/git-tasks.md, "A project bound
 * to a repository"): the API's `repo` object, checked by the daemon, never here. The CLI only
 * turns words into that object: a relative `--path` or `--worktree-root` made absolute from the
 * cwd, a command given as one string split into words (the client's `splitCommand`: quotes, never
 * a shell), the forge's and auto-merge's short forms unfolded. With a base binding (`bind --merge`)
 * only the fields a flag names change, and a check or forge of another kind (a plugin's, which
 * no flag can write) is kept as it is: `--check` replaces the command checks only.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkKindOf, splitCommand } from '@tinyagi/client';
import type { ProjectRepoInput } from '@tinyagi/client/contract';
import { usageError } from '../output/cli-error.ts';

/** A check's or the setup's timeout when no flag gives one (10 minutes). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60 * 1000;

export interface BindingFlags {
  binding?: string;
  path?: string;
  url?: string;
  /** The node whose disk holds the repository (several nodes); false: none named (`--no-node`). */
  node?: string | false;
  base?: string;
  remote?: string | false;
  branchTemplate?: string;
  worktreeRoot?: string;
  copy?: string[];
  link?: string[];
  checkout?: 'auto' | 'layered' | 'full';
  setup?: string | false;
  setupTimeout?: number;
  check?: string[];
  checkTimeout?: number;
  maxRounds?: number;
  keepAbandonedDays?: number;
  /** What the retention does with abandoned worktrees (docs/git-tasks.md, "Retention"). */
  retentionAbandoned?: 'remove' | 'keep';
  /** The task worktrees' disk budget in MB; false: none (`--no-disk-budget-mb`). */
  diskBudgetMb?: number | false;
  forge?: string | false;
  forgeApiUrl?: string;
  forgeTokenEnv?: string;
  forgePollSeconds?: number;
  autoMerge?: string | false;
  autoMergeMethod?: 'ff' | 'merge';
  /** `Name <email>`: who the task's agents commit as; false: the person's git identity (`--no-git-identity`). */
  gitIdentity?: string | false;
}

/** The flags that say something about the binding (`project add` binds only when one is given). */
export const BINDING_FLAG_KEYS: readonly (keyof BindingFlags)[] = [
  'binding',
  'path',
  'url',
  'node',
  'base',
  'remote',
  'branchTemplate',
  'worktreeRoot',
  'copy',
  'link',
  'checkout',
  'setup',
  'setupTimeout',
  'check',
  'checkTimeout',
  'maxRounds',
  'keepAbandonedDays',
  'retentionAbandoned',
  'diskBudgetMb',
  'forge',
  'forgeApiUrl',
  'gitIdentity',
  'forgeTokenEnv',
  'forgePollSeconds',
  'autoMerge',
  'autoMergeMethod',
];

export function hasBindingFlags(flags: BindingFlags): boolean {
  return BINDING_FLAG_KEYS.some((key) => flags[key] !== undefined);
}

/** A command flag's words (`splitCommand`: quotes, never a shell). */
function commandArgv(text: string, flag: string): string[] {
  const { argv, error } = splitCommand(text);
  if (argv === undefined) throw usageError(`${flag} ${JSON.stringify(text)}: ${error}.`);
  if (argv.length === 0) throw usageError(`${flag} needs a command, e.g. ${flag === '--setup' ? "--setup 'pnpm install --offline'" : "--check 'test=pnpm test'"}.`);
  return argv;
}

/** `name=argv` of a `--check`. */
function parseCheck(text: string, timeoutMs: number): { name: string; argv: string[]; timeoutMs: number } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`--check ${JSON.stringify(text)}: write it as <name>=<command>, e.g. --check 'lint=pnpm lint'.`);
  return { name: text.slice(0, eq), argv: commandArgv(text.slice(eq + 1), '--check'), timeoutMs };
}

/** `Ann Example <ann@example.com>` -> its name and email. */
function parseIdentity(text: string): { name: string; email: string } {
  const match = /^\s*([^<>]+?)\s*<([^<>\s]+)>\s*$/.exec(text);
  if (match === null) throw usageError(`--git-identity ${JSON.stringify(text)}: expected 'Name <email>', e.g. 'Web Bot <bot@example.com>'.`);
  return { name: match[1]!, email: match[2]! };
}

/** `<kind>:<owner>/<repo>` (`github:octo-org/web`); the kind is the daemon's to know. */
function parseForge(text: string): { kind: string; owner: string; repo: string } {
  const m = /^([a-z][a-z0-9-]*):([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m) throw usageError(`--forge ${JSON.stringify(text)}: write it as <kind>:<owner>/<repo>, e.g. --forge github:octo-org/web.`);
  return { kind: m[1]!, owner: m[2]!, repo: m[3]! };
}

/** `checked`, `approved` or `approved:N` (`none` is `--no-auto-merge`, taken before). */
function parseAutoMerge(text: string): { when: 'checked' | 'approved'; approvals?: number } {
  const m = /^(checked|approved)(?::(\d+))?$/.exec(text);
  if (!m || (m[1] === 'checked' && m[2] !== undefined))
    throw usageError(`--auto-merge ${JSON.stringify(text)}: use checked, approved, approved:<people> (e.g. approved:2) or none (as --no-auto-merge).`);
  return m[2] === undefined ? { when: m[1] as 'checked' } : { when: 'approved', approvals: Number(m[2]) };
}

function readBindingFile(file: string, cwd: string): ProjectRepoInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(cwd, file), 'utf8'));
  } catch (err) {
    throw usageError(`--binding ${file}: ${err instanceof SyntaxError ? `not JSON (${err.message})` : (err as Error).message}.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw usageError(`--binding ${file}: expected a JSON object (the API's repo binding).`);
  return parsed as ProjectRepoInput;
}

/**
 * The binding the flags describe: `--binding`'s file, else `base` (the current binding, for
 * `bind --merge`), else nothing; then each given flag replaces its field (`--copy`/`--link`
 * together replace `files`, `--check` replaces `checks`). `--check-timeout` and `--setup-timeout`
 * apply to the resulting checks and setup.
 */
export function bindingFromFlags(flags: BindingFlags, cwd: string, base?: ProjectRepoInput): ProjectRepoInput {
  const repo: ProjectRepoInput = structuredClone(flags.binding !== undefined ? readBindingFile(flags.binding, cwd) : (base ?? {}));
  const out = repo as Record<string, unknown>;
  if (flags.path !== undefined) {
    out['path'] = resolve(cwd, flags.path);
    if (flags.url === undefined) delete out['url'];
  }
  if (flags.url !== undefined) {
    out['url'] = flags.url;
    if (flags.path === undefined) delete out['path'];
  }
  if (flags.node === false) delete out['node'];
  else if (flags.node !== undefined) repo.node = flags.node;
  if (flags.base !== undefined) repo.baseRef = flags.base;
  if (flags.remote === false) delete out['remote'];
  else if (flags.remote !== undefined) repo.remote = flags.remote;
  if (flags.branchTemplate !== undefined) repo.branchTemplate = flags.branchTemplate;
  if (flags.worktreeRoot !== undefined) repo.worktreeRoot = resolve(cwd, flags.worktreeRoot);
  if (flags.copy !== undefined || flags.link !== undefined)
    repo.files = [...(flags.copy ?? []).map((path) => ({ path, mode: 'copy' as const })), ...(flags.link ?? []).map((path) => ({ path, mode: 'link' as const }))];
  if (flags.setup === false) delete out['setup'];
  else if (flags.setup !== undefined) repo.setup = { argv: commandArgv(flags.setup, '--setup'), timeoutMs: flags.setupTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS };
  else if (flags.setupTimeout !== undefined) {
    if (repo.setup === undefined) throw usageError('--setup-timeout is for a setup command: give --setup with it.');
    repo.setup = { ...repo.setup, timeoutMs: flags.setupTimeout };
  }
  if (flags.check !== undefined) {
    // No flag writes a check of another kind: it stays, before the command checks given.
    const kept = (repo.checks ?? []).filter((c) => checkKindOf(c) !== 'command');
    repo.checks = [...kept, ...flags.check.map((c) => parseCheck(c, flags.checkTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS))];
  } else if (flags.checkTimeout !== undefined) {
    if (!repo.checks || repo.checks.length === 0) throw usageError('--check-timeout is for checks: give --check with it.');
    repo.checks = repo.checks.map((c) => ({ ...c, timeoutMs: flags.checkTimeout! }));
  }
  if (flags.maxRounds !== undefined) repo.maxRounds = flags.maxRounds;
  if (flags.checkout !== undefined) repo.checkout = flags.checkout;
  if (flags.keepAbandonedDays !== undefined) repo.keepAbandonedDays = flags.keepAbandonedDays;
  if (flags.retentionAbandoned !== undefined || flags.diskBudgetMb !== undefined) {
    const { diskBudgetMb, ...retention } = { ...repo.retention };
    const budget = flags.diskBudgetMb === undefined ? diskBudgetMb : flags.diskBudgetMb === false ? undefined : flags.diskBudgetMb;
    repo.retention = { ...retention, ...(flags.retentionAbandoned === undefined ? {} : { abandoned: flags.retentionAbandoned }), ...(budget === undefined ? {} : { diskBudgetMb: budget }) };
  }
  if (flags.forge === false) delete out['forge'];
  else if (flags.forge !== undefined) {
    const forge = parseForge(flags.forge);
    // The same kind keeps the rest of its block (its own keys, the token's variable); another kind starts afresh.
    repo.forge = { ...(repo.forge?.kind === forge.kind ? repo.forge : {}), ...forge };
  }
  const forgeDetail = flags.forgeApiUrl ?? flags.forgeTokenEnv ?? flags.forgePollSeconds;
  if (forgeDetail !== undefined) {
    if (repo.forge === undefined) throw usageError('--forge-api-url, --forge-token-env and --forge-poll-seconds are for a forge: give --forge <kind>:<owner>/<repo> with them.');
    repo.forge = {
      ...repo.forge,
      ...(flags.forgeApiUrl !== undefined ? { apiUrl: flags.forgeApiUrl } : {}),
      ...(flags.forgeTokenEnv !== undefined ? { tokenEnv: flags.forgeTokenEnv } : {}),
      ...(flags.forgePollSeconds !== undefined ? { pollSeconds: flags.forgePollSeconds } : {}),
    };
  }
  if (flags.gitIdentity === false) delete out['identity'];
  else if (flags.gitIdentity !== undefined) repo.identity = parseIdentity(flags.gitIdentity);
  // `none` is what project show prints for no auto-merge.
  if (flags.autoMerge === false || flags.autoMerge === 'none') delete out['autoMerge'];
  else if (flags.autoMerge !== undefined) {
    const autoMerge = parseAutoMerge(flags.autoMerge);
    // A new auto-merge keeps the current method unless --auto-merge-method names one; its approvals are its own.
    repo.autoMerge = { ...(repo.autoMerge?.method ? { method: repo.autoMerge.method } : {}), ...autoMerge };
  }
  if (flags.autoMergeMethod !== undefined) {
    if (repo.autoMerge === undefined) throw usageError('--auto-merge-method is for auto-merge: give --auto-merge checked|approved[:N] with it.');
    repo.autoMerge = { ...repo.autoMerge, method: flags.autoMergeMethod };
  }
  return repo;
}
