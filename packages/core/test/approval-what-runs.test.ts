/**
 * The permission rules judge what will really run, where it runs (docs/approvals.md): a shell
 * other than bash is read with its own grammar or asks (replayed in dash: the line it would have
 * been allowed runs a second command there); a test runner's `@file` of options is no path of
 * the workspace; a folder git would discover as a bare repository is protected like `.git`
 * (replayed with git: `git status` in such a folder runs its `core.fsmonitor`); a request is
 * judged from the folder the run works in (a task's worktree); a `…` the agent typed stays
 * literal in the rule an answer adds; pnpm's files are protected like `.npmrc`; protected names
 * match whatever the case of their letters; every path a tool input names is read (Codex's
 * `move_path`). Each input is one of issue 64's, which the starter rules allowed before.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rulesForAnswer } from '../src/approvals/answer-rules.ts';
import { maskToolInput } from '../src/approvals/mask.ts';
import { STARTER_PERMISSION_RULES } from '../src/approvals/new-agent-defaults.ts';
import { evaluatePermission, isOwnRequest } from '../src/approvals/rules.ts';

const root = mkdtempSync(join(tmpdir(), 'tinyagi-what-runs-'));
const workspace = join(root, 'ws');
mkdirSync(join(workspace, 'src'), { recursive: true });
const outside = join(root, 'outside');
mkdirSync(outside);
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Request = { tool: string; input: unknown };
const starter = (request: Request, where = workspace) => evaluatePermission(STARTER_PERMISSION_RULES, request, where, 'ask').action;
const codex = (argv: string[]): Request => ({ tool: 'commandExecution', input: { command: argv } });
const bash = (command: string): Request => ({ tool: 'Bash', input: { command } });

describe('a shell other than bash', () => {
  it("`sh -c` / `dash -c` of a line dash reads otherwise asks: `ls &>/dev/null sh -c 'rm -rf ~'` runs a second command in dash", () => {
    const attack = "ls &>/dev/null sh -c 'rm -rf ~'";
    for (const shell of ['sh', 'dash', '/bin/sh', '/usr/bin/dash', 'zsh', 'ksh']) expect(starter(codex([shell, '-c', attack])), shell).toBe('ask');
    // bash reads it as one `ls` with its output sent away, which the starter rules allow: the same line is read as bash reads it only for bash.
    expect(starter(codex(['bash', '-c', "ls &>/dev/null 'x'"]))).toBe('allow');
    // The replay: in dash the `&` ends `ls`, and the rest runs as a command of its own (a harmless stand-in for `rm`).
    const marker = join(root, 'dash-ran');
    const line = `ls &>/dev/null touch ${marker}`;
    expect(starter(codex(['dash', '-c', line]))).toBe('ask');
    spawnSync('dash', ['-c', `${line}; wait`], { cwd: workspace });
    expect(existsSync(marker)).toBe(true);
  });

  it('fish, csh and any shell given more than a line always ask; a plain line every POSIX shell reads alike is read', () => {
    expect(starter(codex(['fish', '-c', 'ls']))).toBe('ask');
    expect(starter(codex(['tcsh', '-c', 'ls']))).toBe('ask');
    expect(starter(codex(['sh', '-c', 'ls', 'arg0']))).toBe('ask');
    expect(starter(codex(['sh', '-c', 'git status && ls src']))).toBe('allow');
    expect(starter(codex(['zsh', '-lc', 'npm test 2>&1']))).toBe('allow');
    // zsh expands `=ls` to a path, dash runs `a & b` as two commands, `|&` and `$(…)` differ: asked.
    for (const line of ['ls =ls', 'ls & git status', 'git status |& ls', 'ls $(pwd)', 'ls {a,b}', 'ls # x', 'ls "$HOME:h"', 'ls $HOME']) expect(starter(codex(['zsh', '-c', line])), line).toBe('ask');
    // TinyAGI's own call through zsh (Codex's shell on macOS), by the variable the protocol gives, is still its own.
    expect(isOwnRequest(codex(['/bin/zsh', '-lc', '"$TINYAGI_CLI" call reviewer "check the diff"']))).toBe(true);
    expect(isOwnRequest(codex(['/bin/zsh', '-lc', '"$TINYAGI_CLI:h" call reviewer hi']))).toBe(false);
  });
});

describe('options read from a file', () => {
  it('`pytest @args.txt` and `pytest @/etc/hostname` ask: pytest reads its options from the file', () => {
    writeFileSync(join(workspace, 'args.txt'), `--basetemp=${outside}\n`);
    expect(starter(bash('pytest @/etc/hostname'))).toBe('ask');
    expect(starter(bash('pytest @args.txt'))).toBe('ask');
    expect(starter(bash('npm test -- @args.txt'))).toBe('ask');
    // argparse expands an option's value too.
    expect(starter(bash('pytest -k @args.txt'))).toBe('ask');
    expect(starter(bash('npm test -- -t @args.txt'))).toBe('ask');
    expect(starter(bash('pytest tests/test_app.py -k login'))).toBe('allow');
  });
});

describe('a repository git would discover', () => {
  const write = (file_path: string): Request => ({ tool: 'Write', input: { file_path, content: '' } });

  it('writing HEAD, config, objects/ or refs/ of a folder that is (or becomes) a bare repository asks', () => {
    for (const name of ['HEAD', 'sub/HEAD']) expect(starter(write(name)), name).toBe('ask');
    const bare = join(workspace, 'embedded');
    mkdirSync(bare);
    writeFileSync(join(bare, 'HEAD'), 'ref: refs/heads/main\n');
    for (const name of ['embedded/config', 'embedded/objects/.keep', 'embedded/refs/.keep', 'embedded/hooks/pre-commit']) expect(starter(write(name)), name).toBe('ask');
    // A file named config elsewhere is a file like any other.
    expect(starter(write('src/config'))).toBe('allow');
  });

  it('the replay: a folder holding HEAD, objects and refs is a repository to git, whose fsmonitor `git status` runs', () => {
    const repo = join(root, 'replay');
    mkdirSync(join(repo, 'objects'), { recursive: true });
    mkdirSync(join(repo, 'refs'));
    const ran = join(root, 'fsmonitor-ran');
    writeFileSync(join(repo, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(repo, 'config'), `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n\tfsmonitor = touch ${ran}\n`);
    spawnSync('git', ['status'], { cwd: repo, env: { ...process.env, GIT_CEILING_DIRECTORIES: root } });
    expect(existsSync(ran)).toBe(true);
    // Each write that made it asks, whichever came first.
    for (const name of ['HEAD', 'config', 'objects/.keep', 'refs/.keep']) expect(evaluatePermission(STARTER_PERMISSION_RULES, write(join(repo, name)), repo, 'ask').action, name).toBe('ask');
  });
});

describe('judged where the run works', () => {
  it("a task's worktree: its edits are inside; a link committed in it leads out, so `cd outlink && npm test` asks", () => {
    const worktree = join(root, 'worktrees', 't1');
    mkdirSync(join(worktree, 'src'), { recursive: true });
    symlinkSync(outside, join(worktree, 'outlink'));
    for (const tool of ['Write', 'Edit', 'Read']) expect(starter({ tool, input: { file_path: join(worktree, 'src', 'app.ts') } }, worktree), tool).toBe('allow');
    expect(starter({ tool: 'Write', input: { file_path: 'src/app.ts' } }, worktree)).toBe('allow');
    expect(starter(bash('cd outlink && npm test'), worktree)).toBe('ask');
    expect(starter(bash('cd src && npm test'), worktree)).toBe('allow');
    // The agent's workspace is not where this run works.
    expect(starter({ tool: 'Write', input: { file_path: join(workspace, 'src', 'x.ts') } }, worktree)).toBe('ask');
  });
});

describe('the rule an answer adds', () => {
  it('a `…` the agent typed is literal: `rm -rf build/…` allowed always does not allow `rm -rf build/../../<outside>`', () => {
    for (const command of ['rm -rf build/\u2026', 'cat build/\u2026']) {
      const rules = rulesForAnswer({ tool: 'Bash', input: maskToolInput({ command }) }, workspace);
      const traversal = `${command.split(' ').slice(0, -1).join(' ')} build/../../../../${outside.slice(1)}`;
      expect(evaluatePermission(rules, bash(command), workspace, 'ask').action, command).toBe('allow');
      expect(evaluatePermission(rules, bash(traversal), workspace, 'ask').action, traversal).toBe('ask');
    }
    // A mask the masking made still stands for one secret.
    const rules = rulesForAnswer({ tool: 'Bash', input: maskToolInput({ command: 'curl -H "Authorization: Bearer sk-live-abcdefghijklmnopwxyz" https://api.example' }) }, workspace);
    expect(evaluatePermission(rules, bash('curl -H "Authorization: Bearer sk-live-zyxwvutsrqponmlkwxyz" https://api.example'), workspace, 'ask').action).toBe('allow');
    const short = rulesForAnswer({ tool: 'Bash', input: maskToolInput({ command: 'API_TOKEN=hunter22 ./deploy.sh' }) }, workspace);
    expect(short[0]!.command).toBe('API_TOKEN=\u2026 ./deploy.sh');
    expect(evaluatePermission(short, bash('API_TOKEN=other99 ./deploy.sh'), workspace, 'ask').action).toBe('allow');
  });
});

describe('files that control execution', () => {
  const write = (file_path: string): Request => ({ tool: 'Write', input: { file_path, content: '' } });

  it("pnpm's `.pnpmfile.cjs` and `pnpm-workspace.yaml` are protected like `.npmrc`", () => {
    for (const name of ['.pnpmfile.cjs', 'pnpm-workspace.yaml', 'web/pnpm-workspace.yaml', '.npmrc']) expect(starter(write(name)), name).toBe('ask');
  });

  it('whatever the case of their letters (the same file on macOS and Windows)', () => {
    for (const name of ['.GIT/config', '.Git/hooks/pre-commit', '.Claude/settings.local.json', '.NPMRC', '.MCP.json', 'Head']) expect(starter(write(name)), name).toBe('ask');
  });
});

describe('every path a tool input names', () => {
  it("Codex's move_path: a move out of the workspace, or onto a protected file, asks", () => {
    const change = (move_path: string): Request => ({ tool: 'fileChange', input: { changes: [{ path: join(workspace, 'src', 'a.ts'), kind: { type: 'update', move_path } }] } });
    expect(starter(change(join(outside, 'a.ts')))).toBe('ask');
    expect(starter(change(join(workspace, '.git', 'hooks', 'pre-commit')))).toBe('ask');
    expect(starter(change(join(workspace, 'src', 'b.ts')))).toBe('allow');
    // Changes keyed by path, as Codex's events give them.
    expect(starter({ tool: 'fileChange', input: { changes: { [join(workspace, 'src', 'a.ts')]: { type: 'update', move_path: join(outside, 'a.ts') } } } })).toBe('ask');
    expect(starter({ tool: 'fileChange', input: { changes: { [join(outside, 'a.ts')]: { type: 'add' } } } })).toBe('ask');
  });
});
