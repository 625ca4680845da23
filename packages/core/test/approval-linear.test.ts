/**
 * No request can hold the event loop: the inputs that did (a word of unmatched `{`, a line of
 * `cd`s, a long text to mask) are answered, each reading its input a bounded number of times.
 * With the former quadratic or exponential readers these tests do not finish (the brace word
 * alone held the loop 64 s at half the length) or decide otherwise (the `cd` line was allowed).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PermissionRule } from '@tinyagi/client/contract';
import { afterAll, describe, expect, it } from 'vitest';
import { maskSecretsInText, maskToolInput } from '../src/approvals/mask.ts';
import { evaluatePermission, MAX_LINE_FOLDERS } from '../src/approvals/rules.ts';
import { Deadline, OUT_OF_TIME } from '../src/approvals/deadline.ts';
import { MAX_LINE_LENGTH, parseCommandLine } from '../src/approvals/shell-parse.ts';

const workspace = mkdtempSync(join(tmpdir(), 'tinyagi-linear-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));
const bash = (command: string) => ({ tool: 'Bash', input: { command } });
const rules: PermissionRule[] = [
  { action: 'allow', tool: 'Bash', command: 'cd *' },
  { action: 'allow', tool: 'Bash', command: 'ls *' },
];
const verdict = (command: string) => evaluatePermission(rules, bash(command), workspace, 'ask').action;

/** Half the length limit: a word of `{` and `}` that long fits in a line. */
const HALF = Math.floor(MAX_LINE_LENGTH / 2) - 10;

describe('brace expansion', () => {
  it('a word of unmatched `{` up to the length limit is read once and the line is decided', () => {
    const braces = '{'.repeat(MAX_LINE_LENGTH - 10);
    const long = parseCommandLine(`ls ${braces}`, {});
    expect(long.opaque).toBeUndefined();
    expect(long.commands[0]!.words[1]!.value).toBe(braces);
    expect(verdict('ls {{{')).toBe('allow');
    // A path that long is not resolved (MAX_PATH_LENGTH): a person decides.
    expect(verdict(`ls ${braces}`)).toBe('ask');
    // Nested to the limit, and closed ones after unmatched ones, decide as bash expands.
    expect(parseCommandLine(`ls ${'{'.repeat(HALF)}a${'}'.repeat(HALF)}`, {}).commands[0]!.words[1]!.value).toBeDefined();
    expect(parseCommandLine(`ls ${'{'.repeat(HALF)}a,b}`, {}).commands[0]!.words[1]!.value).toBeUndefined();
    expect(parseCommandLine(`ls ${'{'.repeat(HALF)}1..3}`, {}).commands[0]!.words[1]!.value).toBeUndefined();
    expect(parseCommandLine(`ls \${a}{b}`, {}).commands[0]!.words[1]!.value).toBeUndefined();
    expect(parseCommandLine("ls {a','b} {x}", {}).commands[0]!.words.map((w) => w.value)).toEqual(['ls', '{a,b}', '{x}']);
  });
});

describe('cd', () => {
  it(`a line whose cds may lead to more than ${MAX_LINE_FOLDERS} folders asks; a few cds are judged command by command`, () => {
    for (let i = 0; i < 24; i++) mkdirSync(join(workspace, ...Array.from({ length: i + 1 }, (_, j) => `d${j}`)), { recursive: true });
    const cds = (n: number) => `${Array.from({ length: n }, (_, i) => `cd d${i}`).join(' && ')} && ls x`;
    expect(verdict(cds(3))).toBe('allow');
    expect(verdict(cds(6))).toBe('allow');
    // 2^24 folders were judged before (hours); now the 7th doubling stops the reading and a person decides.
    expect(verdict(cds(7))).toBe('ask');
    expect(verdict(cds(24))).toBe('ask');
  });
});

describe('the longest lines of commands and of words', () => {
  const withDeny: PermissionRule[] = [{ action: 'deny', tool: 'Bash', command: 'rm *' }, ...rules];
  // Given the time (a budget no machine reaches), every command is judged: the reading itself stays linear.
  const judge = (command: string, cwd?: string) =>
    evaluatePermission(withDeny, { tool: 'Bash', input: cwd === undefined ? { command } : { command, cwd } }, workspace, 'ask', { deadline: new Deadline(60_000) }).action;
  it('a line past the length limit is not read: a person decides, whatever rule would allow its commands', () => {
    const over = `ls ${'a '.repeat(Math.ceil(MAX_LINE_LENGTH / 2))}`;
    expect(parseCommandLine(over, {}).opaque).toBe(`a command line longer than ${MAX_LINE_LENGTH} characters`);
    expect(judge(over)).toBe('ask');
  });

  it('a request not judged within its time budget asks a person (where nobody is asked, no): the rest of the line is not read', () => {
    const line = 'ls a;'.repeat(500);
    const judgeIn = (budgetMs: number, fallback: 'ask' | 'deny' = 'ask') => evaluatePermission(rules, bash(line), workspace, fallback, { deadline: new Deadline(budgetMs) }).action;
    expect(judgeIn(60_000)).toBe('allow');
    expect(judgeIn(0)).toBe('ask');
    expect(judgeIn(0, 'deny')).toBe('deny');
    const parsed = parseCommandLine(line, {}, new Deadline(0));
    expect(parsed.opaque).toBe(OUT_OF_TIME);
    expect(parsed.commands.length).toBeLessThan(500);
  });

  it('at the length limit every command and every word is still judged: one bad one at the end decides', () => {
    const commands = Math.floor(MAX_LINE_LENGTH / 3) - 10;
    expect(judge('ls;'.repeat(commands))).toBe('ask');
    expect(judge(`${'ls;'.repeat(commands)}rm -rf x`)).toBe('deny');
    const words = ' a'.repeat(Math.floor(MAX_LINE_LENGTH / 2) - 10);
    expect(judge(`ls${words}`)).toBe('allow');
    expect(judge(`ls${words} ../x`)).toBe('ask');
    expect(judge(`ls${words} /etc`)).toBe('ask');
  });

  it('words relative to a folder a cd leads to are judged from it, through its links', () => {
    mkdirSync(join(workspace, 'real', 'sub'), { recursive: true });
    symlinkSync('real', join(workspace, 'via'));
    symlinkSync('..', join(workspace, 'real', 'up'));
    symlinkSync('loop', join(workspace, 'loop'));
    expect(judge('cd via && ls sub sub/../sub')).toBe('allow');
    expect(judge('cd via && ls up/real ../x')).toBe('ask');
    expect(judge('cd via/up/.. && ls ../../x')).toBe('ask');
    expect(judge('ls a', join(workspace, 'via'))).toBe('allow');
    expect(judge('ls ../../x', join(workspace, 'via'))).toBe('ask');
    expect(judge('ls a', join(workspace, 'loop'))).toBe('ask');
    expect(judge('cd loop && ls a')).toBe('ask');
  });
});

describe('masking', () => {
  const million = 1_000_000;
  it('texts that were read from each of their characters (a run of word characters, of `a.`, of KEY) are masked in one pass', () => {
    for (const text of ['a'.repeat(million), 'a.'.repeat(million / 2), 'KEY'.repeat(million / 3), 'sk-'.repeat(million / 3), 'a://b:'.repeat(million / 6), 'API_KEY="a '.repeat(million / 11)]) {
      expect(maskSecretsInText(text).length).toBeGreaterThan(0);
    }
  });

  it('secrets in a long text are still masked, wherever they are', () => {
    const blob = 'QUJD'.repeat(250_000);
    const text = `${blob} API_TOKEN=sk-live-0123456789abcdef https://u:hunter2pass@example.com/x ${blob} Bearer abcdefgh12345678 ${blob}`;
    const masked = maskSecretsInText(text);
    expect(masked).not.toContain('0123456789abcdef');
    expect(masked).not.toContain('hunter2pass');
    expect(masked).not.toContain('abcdefgh12345678');
    expect(maskToolInput({ command: text })).toEqual({ command: masked });
    // A name not secret keeps its value; a secret one after it is still found.
    expect(maskSecretsInText('X=1 PATH=/usr/bin DB_PASSWORD=correcthorse')).not.toContain('correcthorse');
    expect(maskSecretsInText('X=1 PATH=/usr/bin')).toBe('X=1 PATH=/usr/bin');
  });
});
