/**
 * The starter rules read a program's options as the program reads them (docs/approvals.md, "What
 * a `*` may stand for"), each behaviour confirmed here with the real program first:
 * - a folder holding a repository's files inside the workspace (a bare repository's `HEAD` and
 *   `config`, committed and cloned, or a `.git` of its own) is a repository whose config runs
 *   code: `git status` there runs its `core.fsmonitor`, so a git command run there asks;
 * - git, grep, diff, sed, tar and coreutils take a unique prefix of a long option for the option
 *   (`git grep --open=sh` is `--open-files-in-pager`), find, jq and rg do not: a prefix of an option
 *   that writes, runs a program or reads a file is read as that option;
 * - an option's value that names a file is a path (`diff --from-file=/etc/…`), and following
 *   symbolic links out of the workspace (`grep -R`, `diff -r` or a folder to `diff`, `find -L`,
 *   `rg -L`) asks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '../src/approvals/new-agent-defaults.ts';
import { evaluatePermission } from '../src/approvals/rules.ts';

const root = mkdtempSync(join(tmpdir(), 'tinyagi-options-'));
const outside = join(root, 'outside');
mkdirSync(outside);
const secret = join(outside, 'secret.txt');
writeFileSync(secret, 'outsideword\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Runs `argv` in `cwd` with git's discovery stopped at `root`, without a global or system git
 * config or a ripgrep config, stdin /dev/null (ripgrep given no path searches a piped stdin instead of the folder).
 */
function run(argv: string[], cwd: string) {
  const env = { ...process.env, GIT_CEILING_DIRECTORIES: root, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', RIPGREP_CONFIG_PATH: '' };
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A git repository at `dir` with one committed file `a.txt` holding `foo`. */
function gitRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'a.txt'), 'foo\n');
  git('add', '.');
  git('commit', '-qm', 'first');
}

const starter = (command: unknown, workspace: string, extra: Record<string, unknown> = {}, sandboxed = true) =>
  evaluatePermission(STARTER_PERMISSION_RULES, { tool: typeof command === 'string' ? 'Bash' : 'commandExecution', input: { command, ...extra } }, workspace, 'ask', { sandboxed }).action;

describe('a folder holding a repository inside the workspace', () => {
  const upstream = join(root, 'upstream');
  const ws = join(root, 'ws-repo');
  const ran = join(root, 'fsmonitor-ran');
  // A bare repository's files, committed in an ordinary repository and arriving with its clone.
  gitRepo(upstream);
  const embedded = join(upstream, 'vendor', 'embedded');
  for (const d of ['objects', 'refs', 'sub']) mkdirSync(join(embedded, d), { recursive: true });
  for (const d of ['objects', 'refs', 'sub']) writeFileSync(join(embedded, d, '.keep'), '');
  writeFileSync(join(embedded, 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(embedded, 'config'), `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n\tfsmonitor = touch ${ran}\n`);
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '.'], { cwd: upstream });
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'vendor'], { cwd: upstream });
  execFileSync('git', ['clone', '-q', upstream, ws], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
  // A nested repository of its own (`.git` folder) with a planted fsmonitor.
  gitRepo(join(ws, 'nested'));
  execFileSync('git', ['config', 'core.fsmonitor', `touch ${ran}-nested`], { cwd: join(ws, 'nested') });

  it('the real git: `git status` and `git diff` in the cloned folder (or below it) run its planted fsmonitor; at the top they do not', () => {
    for (const [argv, cwd] of [
      [['git', 'status'], join(ws, 'vendor', 'embedded')],
      [['git', 'diff'], join(ws, 'vendor', 'embedded', 'sub')],
      [['git', '-C', 'vendor/embedded', 'status'], ws],
    ] as const) {
      rmSync(ran, { force: true });
      run([...argv], cwd);
      expect(existsSync(ran), `${argv.join(' ')} in ${cwd}`).toBe(true);
    }
    rmSync(ran, { force: true });
    run(['git', 'status'], ws);
    expect(existsSync(ran)).toBe(false);
    run(['git', 'status'], join(ws, 'nested'));
    expect(existsSync(`${ran}-nested`)).toBe(true);
  });

  it('so a git command run there asks, however it gets there; in the workspace’s own repository it is allowed', () => {
    for (const line of ['cd vendor/embedded && git status', 'cd vendor/embedded/sub && git diff', 'cd vendor && cd embedded && git log', 'cd nested && git status', 'cd vendor/embedded; git status']) {
      expect(starter(line, ws), line).toBe('ask');
    }
    expect(starter('git status', ws, { cwd: join(ws, 'vendor', 'embedded') })).toBe('ask');
    expect(starter(['git', 'status'], ws, { cwd: 'vendor/embedded/sub' })).toBe('ask');
    expect(starter('git status', ws, { workdir: 'nested' })).toBe('ask');
    // git's read commands too, and an exact rule for the line does not change that.
    expect(starter('cd vendor/embedded && git grep foo', ws)).toBe('ask');
    expect(evaluatePermission([{ action: 'allow', command: 'cd vendor/embedded && git status' }], { tool: 'Bash', input: { command: 'cd vendor/embedded && git status' } }, ws, 'ask').action).toBe(
      'ask',
    );
    // A rule for any git command does not cover -C or --git-dir into it either.
    const anyGit = [{ action: 'allow' as const, command: 'git *' }];
    for (const line of ['git -C vendor/embedded status', 'git --git-dir=vendor/embedded status', 'git --git-dir vendor/embedded log', 'git -C vendor -C embedded diff', 'git -C /etc status']) {
      expect(evaluatePermission(anyGit, { tool: 'Bash', input: { command: line } }, ws, 'ask').action, line).toBe('ask');
    }
    expect(evaluatePermission(anyGit, { tool: 'Bash', input: { command: 'git -C vendor status' } }, ws, 'ask').action).toBe('allow');
    expect(evaluatePermission(anyGit, { tool: 'Bash', input: { command: 'git --git-dir=.git log' } }, ws, 'ask').action).toBe('allow');
    for (const line of ['git status', 'git diff --stat', 'cd vendor && git status', 'git log -- vendor/embedded']) expect(starter(line, ws, {}, false), line).toBe('allow');
  });
});

describe('option abbreviations, as each program reads them', () => {
  const repo = join(root, 'abbr');
  gitRepo(repo);
  const ran = join(root, 'pager-ran');
  symlinkSync(outside, join(repo, 'out'));

  it('the real programs: git (parse-options), grep, diff, sed, tar, wc take a unique prefix; git log, git rev-list, find, jq and rg do not', () => {
    run(['git', 'grep', `--op=touch ${ran}`, 'foo'], repo);
    expect(existsSync(ran)).toBe(true);
    expect(run(['git', 'blame', `--ignore-revs-f=${secret}`, 'a.txt'], repo).out).toContain('outsideword');
    expect(run(['git', 'blame', `--cont=${secret}`, 'a.txt'], repo).out).toContain('outsideword');
    expect(run(['grep', '-h', `--exclude-f=${secret}`, '--fixed-s', 'foo', 'a.txt'], repo)).toEqual({ status: 0, out: 'foo\n' });
    expect(run(['diff', `--from=${secret}`, 'a.txt'], repo).out).toContain('outsideword');
    expect(run(['sed', '-n', '--expr=p', 'a.txt'], repo)).toEqual({ status: 0, out: 'foo\n' });
    expect(run(['tar', '--cre', '--fil=x.tar', 'a.txt'], repo).out).toContain('ambiguous');
    run(['tar', '--cre', '--file=x.tar', 'a.txt'], repo);
    expect(existsSync(join(repo, 'x.tar'))).toBe(true);
    writeFileSync(join(outside, 'list0'), `${secret}\0`);
    expect(run(['wc', '-l', `--files0=${join(outside, 'list0')}`], repo).out).toContain(secret);
    expect(run(['git', 'log', '--outp=x.txt', '-1'], repo).status).not.toBe(0);
    expect(run(['git', 'rev-list', '--max-c=1', 'HEAD'], repo).status).not.toBe(0);
    expect(run(['find', '.', '-fprin', 'x.txt'], repo).status).not.toBe(0);
    expect(run(['jq', '--from=x', '.'], repo).status).not.toBe(0);
    // ripgrep: `--follow` reads through the link out; a prefix of it (or of `--pre`, `--ignore-file`) is refused, nothing searched.
    expect(run(['rg', '--follow', 'outsideword'], repo)).toEqual({ status: 0, out: 'out/secret.txt:outsideword\n' });
    for (const arg of ['--follo', '--fol', '--pr=cat', `--ignore-f=${secret}`]) {
      const r = run(['rg', arg, 'outsideword'], repo);
      expect(r.status, arg).toBe(2);
      expect(r.out, arg).toContain(`Found argument '${arg.split('=')[0]}' which wasn't expected`);
      expect(r.out, arg).not.toContain('secret.txt:');
    }
  });

  it('the starter rules read a prefix as the option it stands for, where the program does', () => {
    for (const line of [
      'git grep --open=sh foo',
      'git grep --op=sh foo',
      'git grep --open-files-in-pager=sh foo',
      `git blame --ignore-revs-f=${secret} a.txt`,
      'git ls-files --exclude-f=/etc/hostname',
      'wc --files0=list.txt',
      'wc --f=list.txt',
      'grep --dereference-r foo .',
      'du --deref src',
    ]) {
      expect(starter(line, repo), line).toBe('ask');
    }
    // Prefixes of harmless options stay allowed; where the program takes no prefix, a prefix is no option of note.
    for (const line of [
      'git grep --line-n foo',
      'grep --fixed-s foo a.txt',
      'wc --lin a.txt',
      'git rev-list --max-c=1 HEAD',
      'find . -fprin x.txt',
      'rg --follo outsideword',
      'rg --fol x',
      'rg --pr=cat foo',
    ]) {
      expect(starter(line, repo), line).toBe('allow');
    }
  });
});

describe('option values that name a file, and links followed out of the workspace', () => {
  const ws = join(root, 'ws-links');
  gitRepo(ws);
  mkdirSync(join(ws, 'a'));
  mkdirSync(join(ws, 'b', 'link'), { recursive: true });
  symlinkSync(outside, join(ws, 'a', 'link'));
  // Folders holding a file of the same name, one a link out.
  mkdirSync(join(ws, 'd1'));
  mkdirSync(join(ws, 'd2'));
  symlinkSync(secret, join(ws, 'd1', 'x'));
  writeFileSync(join(ws, 'd2', 'x'), 'other\n');
  writeFileSync(join(ws, 'patterns.txt'), 'foo\n');

  it('the real programs: grep -R, diff -r, find -L and rg -L read through a link out; grep -r, diff --no-dereference, find and rg do not', () => {
    expect(run(['grep', '-R', 'outsideword', 'a'], ws).out).toContain('outsideword');
    expect(run(['grep', '-r', 'outsideword', 'a'], ws).status).toBe(1);
    expect(run(['diff', '-r', 'a', 'b'], ws).out).toContain('secret.txt');
    expect(run(['diff', '-r', '--no-dereference', 'a', 'b'], ws).out).not.toContain('secret.txt');
    expect(run(['diff', 'd1', 'd2'], ws).out).toContain('outsideword');
    expect(run(['diff', '--no-dereference', 'd1', 'd2'], ws).out).not.toContain('outsideword');
    expect(run(['find', '-L', 'a', '-name', 'secret.txt'], ws).out).toContain('secret.txt');
    expect(run(['find', 'a', '-name', 'secret.txt'], ws).out).toBe('');
    // ripgrep follows links with -L/--follow only, but always follows a link named on its command line.
    for (const args of [['-L'], ['--follow'], ['-nL'], ['--follow=yes']]) expect(run(['rg', ...args, 'outsideword'], ws).out, args[0]).toContain('outsideword');
    expect(run(['rg', '-L', 'outsideword', 'd1'], ws).out).toBe('d1/x:outsideword\n');
    expect(run(['rg', 'outsideword'], ws)).toEqual({ status: 1, out: '' });
    expect(run(['rg', 'outsideword', 'd1'], ws)).toEqual({ status: 1, out: '' });
    expect(run(['rg', 'outsideword', 'a/link'], ws).out).toContain('outsideword');
  });

  it('an option value naming a file outside asks, inside is allowed; following links asks', () => {
    for (const line of [
      `diff --from-file=${secret} a.txt`,
      `diff --from=${secret} a.txt`,
      `diff --to-file ${secret} a.txt`,
      `diff -X ${secret} a b`,
      `git blame --ignore-revs-file=${secret} a.txt`,
      `git blame --contents ${secret} a.txt`,
      `git blame -S ${secret} a.txt`,
      `git grep -f ${secret}`,
      `git grep -f${secret}`,
      `grep -f${secret} -r .`,
      `grep -if${secret} a.txt`,
      `grep --file=${secret} a.txt`,
      `grep --exclude-from=${secret} -r foo .`,
      'grep -f -/../../outside/secret.txt a.txt',
      `rg -f ${secret} .`,
      `rg --ignore-file=${secret} foo`,
      `du -X${secret} .`,
      `jq --rawfile s ${secret} -n '$s'`,
      `jq -L${outside} -n 1`,
      'grep -R outsideword a',
      'grep -rR outsideword .',
      'grep --dereference-recursive x .',
      'diff -r a b',
      'diff -ru a b',
      'diff --recursive a b',
      'diff d1 d2',
      'diff -u d1/ d2',
      'rg -L outsideword',
      'rg --follow outsideword',
      'rg -nL outsideword',
      'rg --follow=yes outsideword',
      'rg -L outsideword d1',
      'rg outsideword a/link',
      'find -L . -name x',
      'find . -follow -name x',
      'du -L .',
      'ls -RL a',
      'tree -l',
    ]) {
      expect(starter(line, ws), line).toBe('ask');
    }
    for (const line of [
      'diff --from-file=patterns.txt a.txt',
      'grep -f patterns.txt a.txt',
      'grep -rn foo .',
      'diff -r --no-dereference a b',
      'diff --no-dereference d1 d2',
      'diff a.txt patterns.txt',
      'git grep -f patterns.txt',
      'rg -n foo',
      'rg outsideword',
      'rg outsideword d1',
      'find . -name x',
      'tree -L 2',
    ]) {
      expect(starter(line, ws), line).toBe('allow');
    }
    expect(readFileSync(join(ws, 'patterns.txt'), 'utf8')).toBe('foo\n');
  });
});
