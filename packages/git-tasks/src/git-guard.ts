/**
 * What the engine's git never runs (docs/git-tasks-design.md, "The daemon's git runs nothing an
 * agent planted"). An agent writes its worktree's files (`.gitattributes` selecting a filter,
 * diff or merge driver) and, unconfined, the repository's config, its worktree config, the files
 * they include and its hooks. Contract, for every git command `git.ts` runs:
 * - always, whoever's config asks: no fsmonitor, no hooks (`core.hooksPath=/dev/null`), no
 *   signature checks (`log.showSignature`, `merge.verifySignatures`, which run `gpg.program`), no
 *   recursion into submodules (their own config is not read here), no pager or editor, and only
 *   the file, http(s) and ssh transports (`GIT_ALLOW_PROTOCOL`, unless the daemon's environment
 *   sets it: `ext::` runs a command, `git://` the first-wins `core.gitProxy`);
 * - `diff`, `log` and `show` get `--no-ext-diff --no-textconv` (`diff.external`,
 *   `diff.<driver>.command`, `diff.<driver>.textconv`);
 * - a key that names a program (a filter or merge driver, `core.sshCommand`, a credential helper,
 *   …) or routes a fetch (a proxy, `http.sslVerify`) set in the repository's scopes (`local`,
 *   `worktree`, and what they include) takes the value the person's own config (`system`,
 *   `global`, the daemon's command line) gives it, or a neutral one: filters do nothing, a merge
 *   driver is git's own text merge. So git LFS installed globally still smudges a merge into the
 *   person's checkout. A remote's upload-pack or
 *   receive-pack there (git uses the first value given) is replaced by the command's option.
 * Overrides go through `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`, appended to any the environment
 * holds: a key is passed whole, never parsed from `key=value`, and reaches the git processes git
 * starts.
 */

const ALWAYS: ReadonlyArray<readonly [string, string]> = [
  ['core.fsmonitor', 'false'],
  ['core.hooksPath', '/dev/null'],
  ['log.showSignature', 'false'],
  ['merge.verifySignatures', 'false'],
  ['submodule.recurse', 'false'],
  ['fetch.recurseSubmodules', 'false'],
];

/** Keys that name a program (or route a fetch), and the value that runs nothing of the agent's. */
const PROGRAM_KEYS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^filter\..+\.(?:clean|smudge|process)$/i, ''],
  [/^filter\..+\.required$/i, 'false'],
  [/^merge\..+\.driver$/i, 'git merge-file --quiet --marker-size=%L %A %O %B'],
  [/^core\.sshcommand$/i, 'ssh'],
  [/^core\.askpass$/i, ''],
  [/^core\.alternaterefscommand$/i, ''],
  // Multi-valued: an empty value clears the list, the person's helpers follow.
  [/^credential\.(?:.+\.)?helper$/i, ''],
  // Not programs, but a proxy the agent chose with verification off would read the person's credentials.
  [/^(?:http\.(?:.+\.)?|remote\..+\.)proxy$/i, ''],
  [/^http\.(?:.+\.)?sslverify$/i, 'true'],
];

/** First-wins keys a later value cannot replace: the command's own option does, for the subcommands that read them. */
const TRANSPORT_KEYS: ReadonlyArray<readonly [RegExp, ReadonlySet<string>, string]> = [
  [/^remote\..+\.uploadpack$/i, new Set(['fetch', 'pull', 'clone', 'ls-remote']), '--upload-pack=git-upload-pack'],
  [/^remote\..+\.receivepack$/i, new Set(['push']), '--receive-pack=git-receive-pack'],
];

const TRUSTED_SCOPES = new Set(['system', 'global', 'command']);
const NO_EXTERNAL_DIFF = new Set(['diff', 'log', 'show']);
const ALLOWED_PROTOCOLS = 'file:http:https:ssh';

export interface ConfigEntry {
  scope: string;
  key: string;
  value: string;
}

/** `git config --list --show-scope -z`'s entries (`scope\0key\nvalue\0`; a key alone is a boolean true). */
export function parseConfigListing(out: string): ConfigEntry[] {
  const fields = out.split('\0');
  const entries: ConfigEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const pair = fields[i + 1]!;
    const newline = pair.indexOf('\n');
    entries.push({ scope: fields[i]!, key: newline < 0 ? pair : pair.slice(0, newline), value: newline < 0 ? 'true' : pair.slice(newline + 1) });
  }
  return entries;
}

/** For each program key the repository's scopes set: its neutral value, then the person's values in order (the last one wins, a list is rebuilt). */
export function programOverrides(entries: readonly ConfigEntry[]): Array<[string, string]> {
  const overrides: Array<[string, string]> = [];
  const done = new Set<string>();
  for (const entry of entries) {
    const lower = entry.key.toLowerCase();
    if (TRUSTED_SCOPES.has(entry.scope) || done.has(lower)) continue;
    const neutral = PROGRAM_KEYS.find(([pattern]) => pattern.test(entry.key))?.[1];
    if (neutral === undefined) continue;
    done.add(lower);
    overrides.push([entry.key, neutral]);
    for (const trusted of entries) if (TRUSTED_SCOPES.has(trusted.scope) && trusted.key.toLowerCase() === lower) overrides.push([entry.key, trusted.value]);
  }
  return overrides;
}

/** The environment git runs with: `base` plus the overrides as `GIT_CONFIG_KEY_n`/`VALUE_n`, after any `base` holds. */
export function guardedEnv(base: Record<string, string | undefined>, overrides: ReadonlyArray<readonly [string, string]>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { GIT_PAGER: 'cat', GIT_EDITOR: ':', ...base };
  env.GIT_ALLOW_PROTOCOL ??= ALLOWED_PROTOCOLS;
  const held = Number.parseInt(base.GIT_CONFIG_COUNT ?? '0', 10);
  let n = Number.isSafeInteger(held) && held > 0 ? held : 0;
  for (const [key, value] of [...overrides, ...ALWAYS]) {
    env[`GIT_CONFIG_KEY_${n}`] = key;
    env[`GIT_CONFIG_VALUE_${n}`] = value;
    n += 1;
  }
  env.GIT_CONFIG_COUNT = String(n);
  return env;
}

/** The arguments and config overrides git runs `args` with, given the config it would read (`parseConfigListing`). */
export function guardedCommand(args: readonly string[], entries: readonly ConfigEntry[]): { args: string[]; overrides: Array<[string, string]> } {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += args[i] === '-c' || args[i] === '-C' ? 2 : 1;
  const sub = args[i] ?? '';
  const options = NO_EXTERNAL_DIFF.has(sub) ? ['--no-ext-diff', '--no-textconv'] : [];
  const planted = entries.filter((e) => !TRUSTED_SCOPES.has(e.scope));
  for (const [pattern, subs, option] of TRANSPORT_KEYS) if (subs.has(sub) && planted.some((e) => pattern.test(e.key))) options.push(option);
  return { args: [...args.slice(0, i + 1), ...options, ...args.slice(i + 1)], overrides: programOverrides(entries) };
}
