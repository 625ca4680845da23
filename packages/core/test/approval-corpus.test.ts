/**
 * The starter rules against the corpus (approval-corpus.ts): each request of issue 48 that was
 * allowed and must not be, the ones that already asked or were denied, and the everyday ones that
 * must keep running without a prompt, each with its decision; and sandboxed, where issue 64's
 * everyday read-only lines are allowed and every other line decides the same.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '../src/approvals/new-agent-defaults.ts';
import { evaluatePermission } from '../src/approvals/rules.ts';
import { COMMAND_CORPUS, corpusWorkspace, SANDBOXED_ALLOWED, TOOL_CORPUS } from './approval-corpus.ts';

const { root, workspace } = corpusWorkspace();
afterAll(() => rmSync(root, { recursive: true, force: true }));
const decide = (tool: string, input: unknown): string => evaluatePermission(STARTER_PERMISSION_RULES, { tool, input }, workspace, 'ask').action;

describe('the starter rules decide the corpus', () => {
  it('command lines', () => {
    const wrong = COMMAND_CORPUS.filter(([line, expected]) => decide('Bash', { command: line }) !== expected).map(
      ([line, expected]) => `${JSON.stringify(line)}: ${decide('Bash', { command: line })}, expected ${expected}`,
    );
    expect(wrong).toEqual([]);
  });

  it('the same lines through Codex and ACP decide the same', () => {
    for (const [line, expected] of COMMAND_CORPUS) {
      expect(decide('commandExecution', { command: ['bash', '-lc', line] }), line).toBe(expected);
      expect(decide('execute', { command: line }), line).toBe(expected);
    }
  });

  it('sandboxed (the boundary holds): the everyday read-only lines are allowed, every other line decides as unsandboxed', () => {
    const sandboxed = (tool: string, input: unknown): string => evaluatePermission(STARTER_PERMISSION_RULES, { tool, input }, workspace, 'ask', { sandboxed: true }).action;
    const wrong: string[] = [];
    for (const [line, unsandboxed] of COMMAND_CORPUS) {
      const expected = SANDBOXED_ALLOWED.has(line) ? 'allow' : unsandboxed;
      for (const [tool, command] of [
        ['Bash', line],
        ['commandExecution', ['bash', '-lc', line]],
      ] as const) {
        const got = sandboxed(tool, { command });
        if (got !== expected) wrong.push(`${tool} ${JSON.stringify(line)}: ${got}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
    // Other tools decide as unsandboxed.
    for (const [tool, input, expected] of TOOL_CORPUS) expect(sandboxed(tool, input), `${tool} ${JSON.stringify(input)}`).toBe(expected);
  });

  it('other tools: paths inside, outside, through links, and files that control execution', () => {
    const wrong = TOOL_CORPUS.filter(([tool, input, expected]) => decide(tool, input) !== expected).map(
      ([tool, input, expected]) => `${tool} ${JSON.stringify(input)}: ${decide(tool, input)}, expected ${expected}`,
    );
    expect(wrong).toEqual([]);
  });
});
