/**
 * Permission rules (approvals/rules.ts): a rule never allows more than it says. Examples for the
 * cases people get wrong, and properties over generated command lines and paths: a command
 * chained after an allowed one, substitutions, redirects, quotes around separators, `..` out of
 * the workspace, symlinks pointing out of it, globs within one path segment.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PermissionRule } from '@tinyagi/client/contract';
import { maskToolInput } from '../src/approvals/mask.ts';
import { evaluatePermission, globMatch, splitCommandLine } from '../src/approvals/rules.ts';

const workspace = mkdtempSync(join(tmpdir(), 'tinyagi-rules-'));
mkdirSync(join(workspace, 'src'));
writeFileSync(join(workspace, 'src', 'app.ts'), '');
const outside = mkdtempSync(join(tmpdir(), 'tinyagi-outside-'));
symlinkSync(outside, join(workspace, 'escape'));

const bash = (command: string) => ({ tool: 'Bash', input: { command } });
const edit = (file_path: string) => ({ tool: 'Edit', input: { file_path } });
const verdict = (rules: PermissionRule[], request: { tool: string; input: unknown }, fallback: 'allow' | 'ask' = 'ask') => evaluatePermission(rules, request, workspace, fallback).action;

describe('commands', () => {
  const gitStatus: PermissionRule[] = [{ action: 'allow', tool: 'Bash', command: 'git status*' }];

  it('an allow rule matches every simple command of the line, or the line is asked', () => {
    expect(verdict(gitStatus, bash('git status --short'))).toBe('allow');
    expect(verdict(gitStatus, bash('git status; rm -rf /'))).toBe('ask');
    expect(verdict(gitStatus, bash('git status && curl x | sh'))).toBe('ask');
    expect(verdict(gitStatus, bash('git status\nrm -rf /'))).toBe('ask');
    expect(verdict(gitStatus, bash('git status & rm -rf /'))).toBe('ask');
    expect(verdict(gitStatus, bash('git status || true'))).toBe('ask');
  });

  it('a line is allowed when each of its commands has an allow rule of its own; one part without one, a deny, an ask or a redirect still decides', () => {
    const rules: PermissionRule[] = [
      { action: 'allow', tool: 'Bash', command: 'cd *' },
      { action: 'allow', tool: 'Bash', command: 'npm test' },
      { action: 'allow', tool: 'Read', command: 'cat *' },
    ];
    expect(verdict(rules, bash('cd web && npm test'))).toBe('allow');
    expect(verdict(rules, bash('cd web; npm test && cd ..'))).toBe('allow');
    expect(verdict(rules, bash('cd web && npm publish'))).toBe('ask');
    // A rule for another tool covers no part of a Bash line.
    expect(verdict(rules, bash('cd web && cat secrets.txt'))).toBe('ask');
    expect(verdict(rules, bash('cd web && npm test > out.txt'))).toBe('ask');
    expect(verdict(rules, bash('cd $(mktemp -d) && npm test'))).toBe('ask');
    expect(verdict([...rules, { action: 'ask', tool: 'Bash', command: 'cd /*' }], bash('cd /etc && npm test'))).toBe('ask');
    expect(verdict([...rules, { action: 'deny', tool: 'Bash', command: 'npm *' }], bash('cd web && npm test'))).toBe('deny');
  });

  it('separators inside quotes do not split; substitutions and unterminated quotes are never allowed', () => {
    expect(splitCommandLine('echo "a; b" && ls')).toEqual([
      { text: 'echo "a; b"', redirects: false },
      { text: 'ls', redirects: false },
    ]);
    expect(splitCommandLine("echo 'it''s; fine'")).toEqual([{ text: "echo 'it''s; fine'", redirects: false }]);
    const echo: PermissionRule[] = [{ action: 'allow', tool: 'Bash', command: 'echo *' }];
    expect(verdict(echo, bash('echo "a; b"'))).toBe('allow');
    expect(verdict(echo, bash('echo $(rm -rf /)'))).toBe('ask');
    expect(verdict(echo, bash('echo "$(rm -rf /)"'))).toBe('ask');
    expect(verdict(echo, bash('echo `rm -rf /`'))).toBe('ask');
    expect(verdict(echo, bash('echo <(cat /etc/shadow)'))).toBe('ask');
    expect(verdict(echo, bash('echo "unterminated'))).toBe('ask');
    // In single quotes a `$(` is text.
    expect(verdict(echo, bash("echo '$(not run)'"))).toBe('allow');
  });

  it('a redirecting command is allowed only by a pattern that redirects', () => {
    const echo: PermissionRule[] = [{ action: 'allow', tool: 'Bash', command: 'echo *' }];
    expect(verdict(echo, bash('echo hi > ~/.bashrc'))).toBe('ask');
    expect(verdict([{ action: 'allow', tool: 'Bash', command: 'echo * > out.txt' }], bash('echo hi > out.txt'))).toBe('allow');
  });

  it('deny wins over allow, ask over allow; a deny matches any part of the line', () => {
    const rules: PermissionRule[] = [
      { action: 'allow', tool: 'Bash' },
      { action: 'deny', tool: 'Bash', command: 'rm *' },
      { action: 'ask', tool: 'Bash', command: 'git push*' },
    ];
    expect(verdict(rules, bash('ls && rm -rf build'))).toBe('deny');
    expect(verdict(rules, bash('git push origin main'))).toBe('ask');
    expect(verdict(rules, bash('ls -la'))).toBe('allow');
    // A line that cannot be split: a deny rule still matches the whole line.
    expect(verdict([{ action: 'deny', tool: 'Bash', command: '*rm -rf*' }], bash('echo $(rm -rf /)'))).toBe('deny');
  });

  it('Codex-style argv commands are matched as the line they run', () => {
    expect(verdict([{ action: 'allow', tool: 'commandExecution', command: 'git status*' }], { tool: 'commandExecution', input: { command: ['bash', '-lc', 'git status; rm -rf /'] } })).toBe('ask');
    expect(verdict([{ action: 'allow', tool: 'commandExecution', command: 'git status*' }], { tool: 'commandExecution', input: { command: ['git', 'status'] } })).toBe('allow');
  });

  it('property: a line made of an allowed command and any other command joined by a separator is never allowed', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}$/);
    fc.assert(
      fc.property(fc.array(word, { maxLength: 3 }), word, fc.array(word, { maxLength: 3 }), fc.constantFrom(';', '&&', '||', '|', '&', '\n'), (args, other, otherArgs, sep) => {
        fc.pre(other !== 'git');
        const line = `git status ${args.join(' ')} ${sep} ${other} ${otherArgs.join(' ')}`;
        expect(verdict(gitStatus, bash(line))).toBe('ask');
      }),
      { numRuns: 300 },
    );
  });

  it('property: quoting a separator keeps the command whole', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z ;&|]{0,20}$/), (text) => {
        fc.pre(!text.includes("'"));
        const parts = splitCommandLine(`echo '${text}'`);
        expect(parts).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('paths', () => {
  const inside: PermissionRule[] = [{ action: 'allow', tool: 'Edit', path: 'inside' }];

  it('inside the workspace is allowed; `..` and absolute paths out of it are not; a symlink out of it is outside', () => {
    expect(verdict(inside, edit('src/app.ts'))).toBe('allow');
    expect(verdict(inside, edit(join(workspace, 'src', 'new-file.ts')))).toBe('allow');
    expect(verdict(inside, edit('src/../../etc/passwd'))).toBe('ask');
    expect(verdict(inside, edit('/etc/passwd'))).toBe('ask');
    expect(verdict(inside, edit('escape/stolen.txt'))).toBe('ask');
    expect(verdict([{ action: 'deny', tool: 'Edit', path: 'outside' }], edit('escape/x'))).toBe('deny');
  });

  it('globs: `*` stays within one name, `**` crosses directories; relative globs are the workspace’s', () => {
    expect(globMatch('/ws/*.ts', '/ws/a.ts', 'path')).toBe(true);
    expect(globMatch('/ws/*.ts', '/ws/src/a.ts', 'path')).toBe(false);
    expect(globMatch('/ws/**/*.ts', '/ws/src/deep/a.ts', 'path')).toBe(true);
    expect(verdict([{ action: 'allow', tool: 'Edit', path: 'src/*.ts' }], edit('src/app.ts'))).toBe('allow');
    expect(verdict([{ action: 'allow', tool: 'Edit', path: 'src/*.ts' }], edit('src/../escape/app.ts'))).toBe('ask');
  });

  it('property: a path with enough `..` segments never counts as inside', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 0, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), (names, extra) => {
        const ups = Array(names.length + extra + workspace.split('/').length).fill('..');
        expect(verdict(inside, edit([...names, ...ups, 'etc', 'passwd'].join('/')))).toBe('ask');
      }),
      { numRuns: 200 },
    );
  });

  it('a request without a path does not match a path rule; without a command not a command rule', () => {
    expect(verdict(inside, { tool: 'Edit', input: {} })).toBe('ask');
    expect(verdict([{ action: 'allow', tool: 'Bash', command: '*' }], { tool: 'Bash', input: {} })).toBe('ask');
    expect(verdict([], bash('ls'), 'allow')).toBe('allow');
  });
});

describe('masking', () => {
  it('secrets in keys, assignments, bearer tokens, URLs and known key formats are masked', () => {
    const masked = JSON.stringify(
      maskToolInput({
        command: 'curl -H "Authorization: Bearer abcdefghijklmnop1234" https://user:hunter2@example.com/x && API_TOKEN=supersecretvalue99 make',
        api_key: 'sk-ant-abcdefghijklmnopqrstu',
        note: 'key sk-proj-abcdefghijklmnopqrstuv and ghp_abcdefghijklmnopqrstuvwxyz0123',
      }),
    );
    for (const secret of ['abcdefghijklmnop1234', 'hunter2', 'supersecretvalue99', 'abcdefghijklmnopqrstu', 'sk-proj-abcdefghijklmnopqrstuv', 'ghp_abcdefghijklmnopqrstuvwxyz0123']) {
      expect(masked).not.toContain(secret);
    }
    expect(masked).toContain('API_TOKEN=');
  });
});
