/**
 * The arguments a `*` in a command rule may stand for, for the commands the starter rules allow
 * (docs/approvals.md, "What a `*` may stand for"): `git status|diff|log|show|branch`, `ls`, `pwd`,
 * `cd`, `npm|pnpm|yarn test`, `npm|pnpm|yarn run test`, `pytest`, `go test` and `cargo test`,
 * and the read-only commands a sandboxed agent's starter rules add (`cat`, `head`, `tail`, `wc`,
 * `grep`, `rg`, `find`, `jq`, `diff`, `tree`, `du`, git's read commands).
 * For these, every argument must be one listed here as harmless: options that only choose what
 * to show or which tests to run, and paths inside the workspace; a test runner's `@file` (options
 * read from a file) is not. An option that writes a file
 * (`git log --output`, `go test -coverprofile`), reads outside the workspace (`git diff
 * --no-index ~/.ssh/id_rsa`, `npm test --prefix ../other`), changes directory or configuration
 * (`yarn test --cwd`, `cargo test --config`, `--manifest-path`) or runs another program
 * (`go test -exec`, `pytest -p`, `npm test --script-shell`) is not listed, and neither is an
 * option not known here: the command is then asked. Other commands are not checked (their rules
 * mean what they say).
 */

export interface ArgumentContext {
  /** True when the path, from the directory the command runs in, resolves inside the workspace. */
  inside(path: string): boolean;
}

interface OptionSpec {
  /** Options without a value (`--stat`, `-v`). */
  flags?: readonly string[];
  /**
   * Options whose value the program also takes from the next argument (`--author X`): given as
   * `--name=value`, `--name value`, or for a short option `-nVALUE` / `-n VALUE`. A separate value
   * must not start with `-`.
   */
  values?: readonly string[];
  /** The program is not known (a test script's runner): a separate value must also pass `positional`, in case the program does not take it. */
  unsureValues?: boolean;
  /** Options are whole words after one dash (Go's `-run`): no value attached to a short option, no short options given together. */
  wordOptions?: boolean;
  /** Options with a value only as `--name=value` or `-nVALUE` (an optional value: `--stat=80`, `-U3`). */
  attached?: readonly string[];
  /** Short options without a value that may be given together (`-xvs`). */
  cluster?: string;
  /** Any option at all (for `ls`, which has none that writes or runs anything), but those `refused` names. */
  anyOption?: boolean;
  /** With anyOption: options that write, run a program or read a list of files from elsewhere; the command is then asked. */
  refused?: (arg: string) => boolean;
  /** `-<number>` (git's `-5`). */
  numeric?: boolean;
  positional: (arg: string, ctx: ArgumentContext) => boolean;
  /** What may follow `--`; by default, what `positional` accepts. */
  afterDashDash?: (args: readonly string[], ctx: ArgumentContext) => boolean;
}

function checkOptions(args: readonly string[], spec: OptionSpec, ctx: ArgumentContext): boolean {
  const flags = new Set(spec.flags ?? []);
  const values = new Set(spec.values ?? []);
  const withValue = new Set([...values, ...(spec.attached ?? [])]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      const rest = args.slice(i + 1);
      return spec.afterDashDash ? spec.afterDashDash(rest, ctx) : rest.every((a) => spec.positional(a, ctx));
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (!spec.positional(arg, ctx)) return false;
      continue;
    }
    if (spec.anyOption) {
      if (spec.refused?.(arg)) return false;
      continue;
    }
    if (flags.has(arg)) continue;
    if (values.has(arg)) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('-') || (spec.unsureValues && !spec.positional(value, ctx))) return false;
      i++;
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq !== -1 && withValue.has(arg.slice(0, eq))) continue;
    if (arg.startsWith('--')) return false;
    // A short option: `-5`, `-n5` / `-kexpr` (a value attached), `-xvs` (several flags).
    if (spec.wordOptions) return false;
    if (spec.numeric && /^-\d+$/.test(arg)) continue;
    if (arg.length > 2 && /^-[A-Za-z]$/.test(arg.slice(0, 2)) && withValue.has(arg.slice(0, 2))) continue;
    if (spec.cluster && [...arg.slice(1)].every((c) => spec.cluster!.includes(c))) continue;
    return false;
  }
  return true;
}

const insidePath = (arg: string, ctx: ArgumentContext): boolean => ctx.inside(arg);
/** A test runner's path: inside, and not an `@file` of options (pytest and argparse-style runners read their options from it). */
const testPath = (arg: string, ctx: ArgumentContext): boolean => !arg.startsWith('@') && ctx.inside(arg);
/** argparse reads any argument starting with `@` as a file of arguments, an option's value too (`pytest -k @args.txt`). */
const noOptionFiles = (args: readonly string[]): boolean => !args.some((a) => a.startsWith('@'));

const GIT_SHOW_OPTIONS = {
  flags: [
    '--stat',
    '--numstat',
    '--shortstat',
    '--summary',
    '--compact-summary',
    '--name-only',
    '--name-status',
    '--raw',
    '--check',
    '--patch',
    '-p',
    '-u',
    '--no-patch',
    '-s',
    '--oneline',
    '--graph',
    '--decorate',
    '--no-decorate',
    '--abbrev-commit',
    '--no-abbrev-commit',
    '--color',
    '--no-color',
    '--word-diff',
    '--color-words',
    '-w',
    '--ignore-all-space',
    '-b',
    '--ignore-space-change',
    '--ignore-blank-lines',
    '--ignore-cr-at-eol',
    '--minimal',
    '--patience',
    '--histogram',
    '--full-index',
    '--binary',
    '--no-renames',
    '-M',
    '-C',
    '--find-renames',
    '--find-copies',
    '-z',
    '--no-ext-diff',
    '--no-textconv',
    '--all',
    '--branches',
    '--tags',
    '--remotes',
    '--first-parent',
    '--no-merges',
    '--merges',
    '--reverse',
    '--follow',
    '--left-right',
    '--cherry-pick',
    '--boundary',
    '--date-order',
    '--topo-order',
    '--author-date-order',
    '--full-history',
    '--simplify-by-decoration',
    '--source',
    '--exit-code',
    '--quiet',
    '-q',
    '--relative',
    '-i',
    '--regexp-ignore-case',
    '--all-match',
    '--invert-grep',
    '--cached',
    '--staged',
    '-R',
    '--no-prefix',
    '--no-index',
  ],
  values: ['-n', '--max-count', '--skip', '--since', '--after', '--until', '--before', '--author', '--committer', '--grep', '-S', '-G'],
  attached: [
    '--format',
    '--pretty',
    '--date',
    '--diff-filter',
    '--unified',
    '-U',
    '--stat',
    '--stat-width',
    '--abbrev',
    '--decorate',
    '--color',
    '--word-diff',
    '--relative',
    '--find-renames',
    '--dirstat',
    '-M',
    '-C',
    '--submodule',
    '--inter-hunk-context',
    '--word-diff-regex',
    '--max-parents',
    '--min-parents',
  ],
  numeric: true,
  positional: insidePath,
} satisfies OptionSpec;

const GIT_STATUS_OPTIONS = {
  flags: [
    '-s',
    '--short',
    '-b',
    '--branch',
    '--porcelain',
    '--long',
    '-v',
    '--verbose',
    '-u',
    '--ignored',
    '-z',
    '--column',
    '--no-column',
    '--ahead-behind',
    '--no-ahead-behind',
    '--renames',
    '--no-renames',
    '--show-stash',
    '--ignore-submodules',
  ],
  attached: ['--porcelain', '--untracked-files', '-u', '--ignored', '--find-renames', '--ignore-submodules', '--column'],
  cluster: 'sbvz',
  positional: insidePath,
} satisfies OptionSpec;

const GIT_BRANCH_OPTIONS = {
  flags: [
    '-a',
    '--all',
    '-r',
    '--remotes',
    '-v',
    '-vv',
    '--verbose',
    '--list',
    '-l',
    '--show-current',
    '--color',
    '--no-color',
    '--column',
    '--no-column',
    '--merged',
    '--no-merged',
    '--contains',
    '--no-contains',
  ],
  attached: ['--sort', '--format', '--color', '--column', '--points-at'],
  // A name creates a branch, unless the options ask for a listing (`--list <pattern>`, `--merged <commit>`).
  positional: () => false,
} satisfies OptionSpec;

function gitBranch(args: readonly string[], ctx: ArgumentContext): boolean {
  const listing = args.some((a) => ['--list', '-l', '--merged', '--no-merged', '--contains', '--no-contains'].includes(a));
  return checkOptions(args, { ...GIT_BRANCH_OPTIONS, positional: (arg) => listing && !arg.startsWith('-') }, ctx);
}

/** What a test script may be given after `--` (the test runner's own options are not known here: only filters and paths). */
const TEST_SCRIPT_ARGS = {
  flags: ['--run', '--bail', '--verbose', '--silent', '--no-coverage', '--passWithNoTests', '--watch=false', '--no-watch', '--ci'],
  values: ['-t', '--testNamePattern', '--grep', '-g'],
  unsureValues: true,
  positional: testPath,
} satisfies OptionSpec;

/** `npm test`, `pnpm test`, `yarn test` (and `run test`): no option of the package manager's own; words for the script, `--` and the script's filters and paths. */
const PACKAGE_TEST_OPTIONS = {
  flags: ['--silent', '-s', '--if-present'],
  positional: testPath,
  afterDashDash: (rest, ctx) => checkOptions(rest, TEST_SCRIPT_ARGS, ctx),
} satisfies OptionSpec;

/** `npm run <script>`: the script must be `test` or `test:<name>`. */
function runTest(args: readonly string[], ctx: ArgumentContext): boolean {
  const [script, ...rest] = args;
  return script !== undefined && /^test(?::[A-Za-z0-9_.-]+)*$/.test(script) && noOptionFiles(rest) && checkOptions(rest, PACKAGE_TEST_OPTIONS, ctx);
}

const PYTEST_OPTIONS = {
  flags: [
    '-v',
    '-vv',
    '-vvv',
    '-q',
    '-qq',
    '-x',
    '-s',
    '-l',
    '--verbose',
    '--quiet',
    '--exitfirst',
    '--lf',
    '--last-failed',
    '--ff',
    '--failed-first',
    '--nf',
    '--new-first',
    '--sw',
    '--stepwise',
    '--co',
    '--collect-only',
    '--no-header',
    '--no-summary',
    '--showlocals',
    '--strict-markers',
    '--disable-warnings',
    '--runxfail',
    '--full-trace',
    '--setup-show',
    '--setup-plan',
    '--fixtures',
    '--markers',
  ],
  values: ['-k', '-m', '-r', '-n', '--numprocesses', '--tb', '--capture', '--durations', '--durations-min', '--maxfail', '--color', '--dist', '--code-highlight'],
  cluster: 'vqxsl',
  positional: testPath,
} satisfies OptionSpec;

const GO_TEST_OPTIONS = {
  flags: ['-v', '-short', '-race', '-cover', '-failfast', '-json', '-benchmem', '-v=true', '-v=false', '-short=true', '-race=true', '-cover=true', '-failfast=true', '-json=true'],
  wordOptions: true,
  values: ['-run', '-skip', '-bench', '-count', '-timeout', '-p', '-parallel', '-cpu', '-tags', '-shuffle', '-list', '-vet', '-mod', '-covermode', '-coverpkg', '-benchtime'],
  // Packages of the workspace: `.`, `./…` (an import path could be fetched and built).
  positional: (arg, ctx) => /^\.\.?(?:\/|$)/.test(arg) && ctx.inside(arg.replace(/(?:^|\/)\.\.\.$/, '') || '.'),
  afterDashDash: () => false,
} satisfies OptionSpec;

function goTest(args: readonly string[], ctx: ArgumentContext): boolean {
  // Go's flags take one dash or two.
  return checkOptions(
    args.map((a) => (a.startsWith('--') && a !== '--' ? a.slice(1) : a)),
    GO_TEST_OPTIONS,
    ctx,
  );
}

const LIBTEST_OPTIONS = {
  flags: ['--nocapture', '--no-capture', '--exact', '--ignored', '--include-ignored', '--list', '--quiet', '-q', '--show-output'],
  values: ['--test-threads', '--skip', '--color', '--format'],
  positional: (arg) => !arg.startsWith('-'),
} satisfies OptionSpec;

const CARGO_TEST_OPTIONS = {
  flags: [
    '-q',
    '--quiet',
    '-v',
    '-vv',
    '--verbose',
    '--release',
    '-r',
    '--lib',
    '--bins',
    '--tests',
    '--all-targets',
    '--doc',
    '--workspace',
    '--all',
    '--no-fail-fast',
    '--no-run',
    '--locked',
    '--offline',
    '--frozen',
    '--all-features',
    '--no-default-features',
    '--ignore-rust-version',
  ],
  values: ['-p', '--package', '--exclude', '--test', '--bin', '--example', '--bench', '-F', '--features', '-j', '--jobs', '--target', '--profile', '--color'],
  // A test name filter, not a path.
  positional: (arg) => !arg.startsWith('-'),
  afterDashDash: (rest, ctx) => checkOptions(rest, LIBTEST_OPTIONS, ctx),
} satisfies OptionSpec;

/** `-x` clustered short options (`-ao`) or a long one: true when it is, or holds, one of `short` or starts with one of `long`. */
function optionIn(arg: string, short: string, long: readonly string[]): boolean {
  if (arg.startsWith('--')) return long.some((l) => arg === l || arg.startsWith(`${l}=`));
  return [...arg.slice(1)].some((c) => short.includes(c));
}

/**
 * Commands that only read and print (docs/approvals.md, "Read-only commands"): any option but
 * those that write a file, run a program, or take a list of files to read from another file;
 * every other argument a path inside the workspace. A `-e PATTERN`'s pattern is read as a path
 * too, which may ask where a pattern looks like a path out of the workspace.
 */
const READ_ONLY: Readonly<Record<string, OptionSpec>> = {
  cat: { anyOption: true, positional: insidePath },
  head: { anyOption: true, positional: insidePath },
  tail: { anyOption: true, positional: insidePath },
  wc: { anyOption: true, refused: (a) => optionIn(a, '', ['--files0-from']), positional: insidePath },
  grep: { anyOption: true, positional: insidePath },
  // `--pre` and `--hostname-bin` run a program.
  rg: { anyOption: true, refused: (a) => optionIn(a, '', ['--pre', '--hostname-bin']), positional: insidePath },
  // The actions that run, delete or write a file.
  find: { anyOption: true, refused: (a) => ['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls'].includes(a), positional: insidePath },
  jq: { anyOption: true, positional: insidePath },
  diff: { anyOption: true, positional: insidePath },
  // `-o` writes its output to a file, `-R` writes a listing into every folder.
  tree: { anyOption: true, refused: (a) => optionIn(a, 'oR', ['--output']), positional: insidePath },
  du: { anyOption: true, refused: (a) => optionIn(a, '', ['--files0-from']), positional: insidePath },
};

/** git commands that only read, beyond status/diff/log/show/branch: options that write a file, open a pager program or run a remote's are refused. */
const GIT_READ_COMMANDS = ['rev-parse', 'ls-files', 'ls-tree', 'blame', 'describe', 'cat-file', 'rev-list', 'shortlog', 'show-ref', 'grep', 'merge-base', 'name-rev'];
const GIT_READ_OPTIONS = {
  anyOption: true,
  refused: (a) => optionIn(a, 'O', ['--output', '--open-files-in-pager', '--ext-diff', '--textconv', '--filters', '--exec', '--upload-pack']),
  positional: insidePath,
} satisfies OptionSpec;

/** Each known command (its first words) and what its arguments may be. */
const KNOWN: ReadonlyArray<{ prefix: readonly string[]; check: (args: readonly string[], ctx: ArgumentContext) => boolean }> = [
  { prefix: ['git', 'status'], check: (a, c) => checkOptions(a, GIT_STATUS_OPTIONS, c) },
  { prefix: ['git', 'diff'], check: (a, c) => checkOptions(a, GIT_SHOW_OPTIONS, c) },
  { prefix: ['git', 'log'], check: (a, c) => checkOptions(a, GIT_SHOW_OPTIONS, c) },
  { prefix: ['git', 'show'], check: (a, c) => checkOptions(a, GIT_SHOW_OPTIONS, c) },
  { prefix: ['git', 'branch'], check: gitBranch },
  ...GIT_READ_COMMANDS.map((sub) => ({ prefix: ['git', sub], check: (a: readonly string[], c: ArgumentContext) => checkOptions(a, GIT_READ_OPTIONS, c) })),
  // `git remote` and `git remote -v` list; a subcommand (add, set-url) changes the configuration.
  { prefix: ['git', 'remote'], check: (a) => a.every((x) => x === '-v' || x === '--verbose') },
  ...Object.entries(READ_ONLY).map(([name, spec]) => ({ prefix: [name], check: (a: readonly string[], c: ArgumentContext) => checkOptions(a, spec, c) })),
  { prefix: ['ls'], check: (a, c) => checkOptions(a, { anyOption: true, positional: insidePath }, c) },
  { prefix: ['pwd'], check: (a, c) => checkOptions(a, { flags: ['-L', '-P'], positional: () => false }, c) },
  // Into one folder that resolves inside the workspace.
  { prefix: ['cd'], check: (a, c) => a.length === 1 && !a[0]!.startsWith('-') && c.inside(a[0]!) },
  ...['npm', 'pnpm', 'yarn'].flatMap((pm) => [
    { prefix: [pm, 'test'], check: (a: readonly string[], c: ArgumentContext) => noOptionFiles(a) && checkOptions(a, PACKAGE_TEST_OPTIONS, c) },
    { prefix: [pm, 'run'], check: runTest },
  ]),
  { prefix: ['npm', 't'], check: (a, c) => noOptionFiles(a) && checkOptions(a, PACKAGE_TEST_OPTIONS, c) },
  { prefix: ['npm', 'run-script'], check: runTest },
  { prefix: ['pytest'], check: (a, c) => noOptionFiles(a) && checkOptions(a, PYTEST_OPTIONS, c) },
  { prefix: ['go', 'test'], check: goTest },
  { prefix: ['cargo', 'test'], check: (a, c) => checkOptions(a, CARGO_TEST_OPTIONS, c) },
];

/**
 * For a known command: true when every argument is harmless (see above). Undefined for a
 * command not known here.
 */
export function knownArgumentsHarmless(argv: readonly string[], ctx: ArgumentContext): boolean | undefined {
  const known = KNOWN.find((k) => k.prefix.every((word, i) => argv[i] === word));
  if (!known) return undefined;
  return known.check(argv.slice(known.prefix.length), ctx);
}
