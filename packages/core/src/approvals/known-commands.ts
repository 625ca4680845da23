/**
 * The arguments a `*` in a command rule may stand for, for the commands the starter rules allow
 * (docs/approvals.md, "What a `*` may stand for"): `git status|diff|log|show|branch`, `ls`, `pwd`,
 * `cd`, `npm|pnpm|yarn test`, `npm|pnpm|yarn run test`, `pytest`, `python -m unittest`, `go test`,
 * `cargo test`, `ruff check`, `ruff format --check`, `mypy`, `flake8`, `black --check` (also
 * through a virtual environment's wrappers: `wrappedCommand`), and the read-only commands a sandboxed agent's starter rules add (`cat`, `head`, `tail`, `wc`,
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
  /** True when the path may be a folder (it is one from a directory the command may run in, or it cannot be looked up). */
  folder(path: string): boolean;
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
  /** Any option at all, but those `program` names (options that write, run a program, read a file or follow links). */
  anyOption?: boolean;
  /** With anyOption: what the program's options do that a `*` must not stand for. */
  program?: ProgramOptions;
  /** `-<number>` (git's `-5`). */
  numeric?: boolean;
  positional: (arg: string, ctx: ArgumentContext) => boolean;
  /** What may follow `--`; by default, what `positional` accepts. */
  afterDashDash?: (args: readonly string[], ctx: ArgumentContext) => boolean;
}

/**
 * What a program's options do, for a program whose other options only choose what to show. Each
 * program's reading of its options is confirmed with the real program in
 * approval-program-options.test.ts.
 */
interface ProgramOptions {
  /**
   * The program takes a unique prefix of a long option for the option (GNU getopt_long, git's
   * parse-options: `git grep --open=sh` is `--open-files-in-pager=sh`), so a prefix of a listed
   * option is read as that option. Without it, only the whole name is.
   */
  abbreviates?: boolean;
  /** Long options (without `--`) that write, run a program, read a list of files or follow links out of the workspace: the command asks. */
  refused?: readonly string[];
  /** Short options that do, alone or among others (`-rR`). */
  refusedShort?: string;
  /** Options that are whole words after one dash (find's `-exec`): refused, given exactly so. */
  refusedWords?: readonly string[];
  /** Long options whose value names a file the program reads: the value must be a path inside the workspace. */
  files?: readonly string[];
  /** Short options that do (`-f FILE`, `-fFILE`, `-if FILE`). */
  filesShort?: string;
}

/** The value of a file option given as the next argument: a path inside that does not start with `-`. Its index, or false. */
function fileValue(args: readonly string[], at: number, ctx: ArgumentContext): number | false {
  const value = args[at];
  return value !== undefined && !value.startsWith('-') && ctx.inside(value) ? at : false;
}

/** `args[i]`, an option of a program with `anyOption`: false when it is refused or names a file outside; else the index of the last argument it takes. */
function programOption(args: readonly string[], i: number, o: ProgramOptions, ctx: ArgumentContext): number | false {
  const arg = args[i]!;
  if (o.refusedWords?.includes(arg)) return false;
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const is = (long: string): boolean => name === long || (o.abbreviates === true && name !== '' && long.startsWith(name));
    if (o.refused?.some(is)) return false;
    if (!o.files?.some(is)) return i;
    if (eq === -1) return fileValue(args, i + 1, ctx);
    return ctx.inside(arg.slice(eq + 1)) ? i : false;
  }
  if (o.refusedWords) return i;
  // Short options, several given together: a file option takes the rest of the word, or the next argument.
  for (let c = 1; c < arg.length; c++) {
    if (o.refusedShort?.includes(arg[c]!)) return false;
    if (!o.filesShort?.includes(arg[c]!)) continue;
    const rest = arg.slice(c + 1);
    if (rest === '') return fileValue(args, i + 1, ctx);
    return ctx.inside(rest) ? i : false;
  }
  return i;
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
      const last = programOption(args, i, spec.program ?? {}, ctx);
      if (last === false) return false;
      i = last;
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

/** `ruff check`: options that choose rules and output; `--fix`, `--config`, `--cache-dir`, `--output-file` and `--watch` ask. */
const RUFF_CHECK_OPTIONS = {
  flags: ['--no-fix', '--diff', '--statistics', '--show-fixes', '--no-show-fixes', '--no-cache', '-q', '--quiet', '-e', '--exit-zero', '--preview', '--no-preview', '--show-files'],
  values: ['--select', '--ignore', '--extend-select', '--extend-ignore', '--output-format', '--target-version', '--line-length', '--exclude', '--extend-exclude'],
  positional: testPath,
} satisfies OptionSpec;

/** `ruff format` and `black` only with `--check` or `--diff` (without them they rewrite the files). */
const checkOnly = (args: readonly string[]): boolean => args.includes('--check') || args.includes('--diff');

const RUFF_FORMAT_OPTIONS = {
  flags: ['--check', '--diff', '-q', '--quiet', '--no-cache', '--preview', '--no-preview'],
  values: ['--line-length', '--target-version', '--exclude'],
  positional: testPath,
} satisfies OptionSpec;

const BLACK_OPTIONS = {
  flags: [
    '--check',
    '--diff',
    '-q',
    '--quiet',
    '-v',
    '--verbose',
    '--color',
    '--no-color',
    '--fast',
    '--safe',
    '-S',
    '--skip-string-normalization',
    '-C',
    '--skip-magic-trailing-comma',
    '--preview',
    '--pyi',
  ],
  values: ['-l', '--line-length', '-t', '--target-version', '--include', '--exclude', '--extend-exclude', '--force-exclude'],
  positional: testPath,
} satisfies OptionSpec;

/** mypy (argparse, with `@file`s of options): `--install-types`, `--config-file`, `--cache-dir`, `--python-executable` and the reports ask. */
const MYPY_OPTIONS = {
  flags: [
    '--strict',
    '--ignore-missing-imports',
    '--no-incremental',
    '--show-error-codes',
    '--hide-error-codes',
    '--pretty',
    '--no-error-summary',
    '--show-column-numbers',
    '--check-untyped-defs',
    '--disallow-untyped-defs',
    '--warn-unused-ignores',
    '--warn-return-any',
    '--no-implicit-optional',
    '--namespace-packages',
    '--explicit-package-bases',
    '--show-traceback',
    '--no-color-output',
    '-v',
    '--verbose',
  ],
  values: ['-p', '--package', '-m', '--module', '--python-version', '--follow-imports', '--exclude'],
  positional: testPath,
} satisfies OptionSpec;

/** flake8: `--config`, `--append-config`, `--output-file` and `--tee` ask. */
const FLAKE8_OPTIONS = {
  flags: ['--count', '--statistics', '--show-source', '-q', '--quiet', '-v', '--verbose', '--exit-zero'],
  values: ['--select', '--ignore', '--extend-ignore', '--extend-select', '--max-line-length', '--max-complexity', '--exclude', '--extend-exclude', '-j', '--jobs'],
  positional: testPath,
} satisfies OptionSpec;

/** `python -m unittest [discover]`: a folder it starts or imports from (`-s`, `-t`) must be inside. */
const UNITTEST_OPTIONS = {
  flags: ['-v', '--verbose', '-q', '--quiet', '-f', '--failfast', '-c', '--catch', '-b', '--buffer', '--locals'],
  values: ['-k', '--durations', '-p', '--pattern', '-s', '--start-directory', '-t', '--top-level-directory'],
  positional: testPath,
} satisfies OptionSpec;

function unittest(args: readonly string[], ctx: ArgumentContext): boolean {
  for (let i = 0; i < args.length; i++) {
    const folder = /^(?:-[st]|--start-directory|--top-level-directory)(?:=?(.*))?$/.exec(args[i]!);
    if (folder === null) continue;
    const value = folder[1] ? folder[1] : args[++i];
    if (value === undefined || value.startsWith('-') || !ctx.inside(value)) return false;
  }
  return checkOptions(args, UNITTEST_OPTIONS, ctx);
}

/** GNU getopt_long programs (coreutils, grep, diff): a unique prefix of a long option is the option. */
const GNU = { abbreviates: true } as const;

/**
 * `diff`: a file of names to leave out and the file every operand is compared with are paths.
 * Unless `--no-dereference`, it follows the links it meets in a folder it compares (out of the
 * workspace too), so `-r` and a folder operand ask.
 */
const DIFF_OPTIONS: ProgramOptions = { ...GNU, files: ['from-file', 'to-file', 'exclude-from'], filesShort: 'X' };

function diff(args: readonly string[], ctx: ArgumentContext): boolean {
  if (args.includes('--no-dereference')) return checkOptions(args, { anyOption: true, program: DIFF_OPTIONS, positional: insidePath }, ctx);
  const program = { ...DIFF_OPTIONS, refused: ['recursive'], refusedShort: 'r' };
  return checkOptions(args, { anyOption: true, program, positional: (arg) => ctx.inside(arg) && !ctx.folder(arg) }, ctx);
}

/**
 * Commands that only read and print (docs/approvals.md, "The starter rules"): any option but
 * those that write a file, run a program, take a list of files to read from another file or follow
 * links (which may lead out of the workspace); an option's value that names a file, and every
 * other argument, a path inside the workspace. A `-e PATTERN`'s pattern is read as a path too,
 * which may ask where a pattern looks like a path out of the workspace.
 */
const READ_ONLY: Readonly<Record<string, ProgramOptions>> = {
  cat: GNU,
  head: GNU,
  tail: GNU,
  wc: { ...GNU, refused: ['files0-from'] },
  grep: { ...GNU, refused: ['dereference-recursive'], refusedShort: 'R', files: ['file', 'exclude-from'], filesShort: 'f' },
  // `--pre` and `--hostname-bin` run a program, `-L` follows links. ripgrep takes whole option names only.
  rg: { refused: ['pre', 'hostname-bin', 'follow'], refusedShort: 'L', files: ['file', 'ignore-file'], filesShort: 'f' },
  // The actions that run, delete or write a file, and following links. find takes whole words only.
  find: { refusedWords: ['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls', '-L', '-follow'] },
  // A filter, a JSON file or a module folder read from elsewhere; jq takes whole option names only.
  jq: { files: ['from-file', 'slurpfile', 'rawfile', 'library-path'], filesShort: 'fL' },
  // `-o` writes its output to a file, `-R` writes a listing into every folder, `-l` follows links.
  tree: { refused: ['output'], refusedShort: 'oRl' },
  du: { ...GNU, refused: ['files0-from', 'dereference'], refusedShort: 'L', files: ['exclude-from'], filesShort: 'X' },
};

/**
 * git commands that only read, beyond status/diff/log/show/branch: options that write a file, open
 * a pager program or run a remote's are refused, and a file an option names is a path. Those
 * using git's parse-options take a unique prefix of a long option (`git grep --open=sh`); rev-list
 * and rev-parse take whole names only.
 */
const GIT_READ_REFUSED = { refused: ['output', 'open-files-in-pager', 'ext-diff', 'textconv', 'filters', 'exec', 'upload-pack'], refusedShort: 'O' } as const;
const GIT_READ_COMMANDS: Readonly<Record<string, ProgramOptions>> = {
  'rev-parse': GIT_READ_REFUSED,
  'ls-files': { ...GIT_READ_REFUSED, abbreviates: true, files: ['exclude-from'], filesShort: 'X' },
  'ls-tree': { ...GIT_READ_REFUSED, abbreviates: true },
  blame: { ...GIT_READ_REFUSED, abbreviates: true, files: ['ignore-revs-file', 'contents'], filesShort: 'S' },
  describe: { ...GIT_READ_REFUSED, abbreviates: true },
  'cat-file': { ...GIT_READ_REFUSED, abbreviates: true },
  'rev-list': GIT_READ_REFUSED,
  shortlog: { ...GIT_READ_REFUSED, abbreviates: true },
  'show-ref': { ...GIT_READ_REFUSED, abbreviates: true },
  grep: { ...GIT_READ_REFUSED, abbreviates: true, filesShort: 'f' },
  'merge-base': { ...GIT_READ_REFUSED, abbreviates: true },
  'name-rev': { ...GIT_READ_REFUSED, abbreviates: true },
};

const anyOptionCheck =
  (program: ProgramOptions) =>
  (args: readonly string[], ctx: ArgumentContext): boolean =>
    checkOptions(args, { anyOption: true, program, positional: insidePath }, ctx);

/** Each known command (its first words) and what its arguments may be. */
const KNOWN: ReadonlyArray<{ prefix: readonly string[]; check: (args: readonly string[], ctx: ArgumentContext) => boolean }> = [
  { prefix: ['git', 'status'], check: (a, c) => checkOptions(a, GIT_STATUS_OPTIONS, c) },
  { prefix: ['git', 'diff'], check: (a, c) => checkOptions(a, GIT_SHOW_OPTIONS, c) },
  { prefix: ['git', 'log'], check: (a, c) => checkOptions(a, GIT_SHOW_OPTIONS, c) },
  { prefix: ['git', 'show'], check: (a, c) => checkOptions(a, GIT_SHOW_OPTIONS, c) },
  { prefix: ['git', 'branch'], check: gitBranch },
  ...Object.entries(GIT_READ_COMMANDS).map(([sub, program]) => ({ prefix: ['git', sub], check: anyOptionCheck(program) })),
  // `git remote` and `git remote -v` list; a subcommand (add, set-url) changes the configuration.
  { prefix: ['git', 'remote'], check: (a) => a.every((x) => x === '-v' || x === '--verbose') },
  ...Object.entries(READ_ONLY).map(([name, program]) => ({ prefix: [name], check: anyOptionCheck(program) })),
  { prefix: ['diff'], check: diff },
  // `-L` lists what links lead to (with `-R`, folders out of the workspace).
  { prefix: ['ls'], check: anyOptionCheck({ ...GNU, refused: ['dereference'], refusedShort: 'L' }) },
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
  ...['python', 'python3'].map((python) => ({ prefix: [python, '-m', 'unittest'], check: unittest })),
  { prefix: ['ruff', 'check'], check: (a, c) => checkOptions(a, RUFF_CHECK_OPTIONS, c) },
  { prefix: ['ruff', 'format'], check: (a, c) => checkOnly(a) && checkOptions(a, RUFF_FORMAT_OPTIONS, c) },
  { prefix: ['black'], check: (a, c) => checkOnly(a) && checkOptions(a, BLACK_OPTIONS, c) },
  { prefix: ['mypy'], check: (a, c) => noOptionFiles(a) && checkOptions(a, MYPY_OPTIONS, c) },
  { prefix: ['flake8'], check: (a, c) => noOptionFiles(a) && checkOptions(a, FLAKE8_OPTIONS, c) },
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

/** git's own options before its command that take the next argument as their value. */
const GIT_VALUE_OPTIONS = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--config-env', '--list-cmds']);

/**
 * Where a git command looks for its repository: the folder its discovery starts from (relative to
 * where it runs, each `-C` taken in turn) and the repository a `--git-dir` names (relative to
 * that folder). Undefined for another program.
 */
export function gitStart(argv: readonly string[]): { dir: string; gitDir?: string } | undefined {
  if (argv[0] !== 'git') return undefined;
  let dir = '.';
  let gitDir: string | undefined;
  for (let i = 1; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--git-dir=')) gitDir = arg.slice('--git-dir='.length);
    if (!GIT_VALUE_OPTIONS.has(arg)) continue;
    const value = argv[++i] ?? '';
    if (arg === '-C') dir = value.startsWith('/') ? value : `${dir}/${value}`;
    if (arg === '--git-dir') gitDir = value;
  }
  return gitDir === undefined ? { dir } : { dir, gitDir: gitDir.startsWith('/') ? gitDir : `${dir}/${gitDir}` };
}

/** Python tools a virtual environment's wrappers may run, each judged as the tool itself. */
const PYTHON_TOOLS = ['pytest', 'ruff', 'mypy', 'flake8', 'black'];
const PYTHONS = ['python', 'python3'];
/** Interpreter flags that widen nothing a rule judges: no bytecode cache, unbuffered, quiet, no user site, no PYTHON* variables, isolated. */
const PYTHON_PLAIN_FLAGS = ['-B', '-u', '-q', '-s', '-E', '-I'];
/** A program in a virtual environment's `bin` folder (`.venv/bin/pytest`, `../venv/bin/python`). */
const VENV_PROGRAM = /^((?:.*\/)?\.?venv\/bin)\/([^/]+)$/;
/** `uv run`'s own options that neither install more, choose another interpreter nor move elsewhere. */
const UV_RUN_FLAGS = ['--frozen', '--locked', '--offline', '--no-sync', '-q', '--quiet', '--all-extras', '--all-groups', '--no-dev'];
const UV_RUN_VALUES = ['--extra', '--group', '--package'];

/** The command after `uv run`'s options; undefined when one of them is not known harmless. */
function afterUvRun(args: readonly string[]): readonly string[] | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) return args.slice(i);
    if (arg === '--') return args.slice(i + 1);
    if (UV_RUN_VALUES.includes(arg) && args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) i++;
    else if (!UV_RUN_FLAGS.includes(arg) && !UV_RUN_VALUES.some((v) => arg.startsWith(`${v}=`))) return undefined;
  }
  return undefined;
}

/** A Python tool or interpreter and its arguments, or undefined for anything else. */
const pythonCommand = (argv: readonly string[] | undefined): readonly string[] | undefined =>
  argv !== undefined && argv.length > 0 && [...PYTHON_TOOLS, ...PYTHONS].includes(argv[0]!) ? argv : undefined;

function unwrapOnce(argv: readonly string[], ctx: ArgumentContext): readonly string[] | undefined {
  const [program = '', first, second, ...rest] = argv;
  const venv = VENV_PROGRAM.exec(program);
  if (venv) {
    // A venv's interpreter is a link to the system's: its folder must be the workspace's; a tool, a script of the workspace.
    const name = venv[2]!;
    const ours = PYTHONS.includes(name) ? ctx.inside(venv[1]!) : PYTHON_TOOLS.includes(name) && ctx.inside(program);
    return ours ? [name, ...argv.slice(1)] : undefined;
  }
  if (PYTHONS.includes(program) && first !== undefined && PYTHON_PLAIN_FLAGS.includes(first)) return [program, ...argv.slice(2)];
  if (PYTHONS.includes(program) && first === '-m' && second !== undefined && PYTHON_TOOLS.includes(second)) return [second, ...rest];
  if (first !== 'run') return undefined;
  if (program === 'uv') return pythonCommand(afterUvRun(argv.slice(2)));
  if (program === 'poetry' || program === 'hatch') return pythonCommand(argv.slice(2));
  return undefined;
}

/**
 * The command a virtual environment's wrapper runs (docs/approvals.md, "The starter rules"), for
 * the rules to judge as that command: `.venv/bin/<tool>` or `venv/bin/<tool>` inside the
 * workspace, `python -m <tool>` or `python3 -m <tool>`, `uv run <tool>` (with `uv run`'s harmless
 * options), `poetry run <tool>` and `hatch run <tool>`, for the tools pytest, ruff, mypy, flake8
 * and black, or the interpreter itself (`uv run python -m pytest`, `.venv/bin/python -m
 * unittest`). Undefined when `argv` is no such wrapper: another module, script or program, or a
 * wrapper's option not known harmless, is judged as written (and asks).
 */
export function wrappedCommand(argv: readonly string[], ctx: ArgumentContext): readonly string[] | undefined {
  const inner = unwrapOnce(argv, ctx);
  return inner === undefined ? undefined : (wrappedCommand(inner, ctx) ?? inner);
}
