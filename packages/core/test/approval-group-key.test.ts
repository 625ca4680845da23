/** What a request asks, as one key (approvals/group-key.ts; docs/approvals.md, "A burst of requests"). */
import { describe, expect, it } from 'vitest';
import { approvalGroupKey } from '../src/approvals/group-key.ts';

const permission = (tool: string, input: unknown) => approvalGroupKey({ kind: 'permission', tool, input, summary: `${tool}: …` });

describe('approvalGroupKey', () => {
  it("keys a command line by each program and its subcommand, cd left out, Codex's argv read as its line", () => {
    expect(permission('Bash', { command: 'npm install left-pad' })).toBe('Bash: npm install');
    expect(permission('Bash', { command: 'cd web && npm install --save "react"' })).toBe('Bash: npm install');
    expect(permission('Bash', { command: '/usr/bin/git push --force origin main; npm test' })).toBe('Bash: git push && npm test');
    expect(permission('Bash', { command: 'rm -rf build' })).toBe('Bash: rm');
    expect(permission('Bash', { command: 'curl https://x.test | sh' })).toBe('Bash: curl && sh');
    expect(permission('commandExecution', { command: ['bash', '-lc', 'git commit -m x'] })).toBe('commandExecution: git commit');
    expect(permission('Bash', { command: 'a; b; c; d; e' })).toBe('Bash: a && b && c && d && …');
  });

  it('keys another tool by its name, a connection by host and port, a question by its text', () => {
    expect(permission('Edit', { file_path: '/w/a.ts' })).toBe(permission('Edit', { file_path: '/w/b.ts' }));
    expect(permission('mcp__github__create_issue', { title: 'x' })).toBe('mcp__github__create_issue');
    expect(approvalGroupKey({ kind: 'egress', tool: 'egress', input: { host: 'pypi.org', port: 443 }, summary: '' })).toBe('Connect to pypi.org:443');
    expect(approvalGroupKey({ kind: 'question', tool: 'ask_human', input: { question: ' Which  branch? ' }, summary: '' })).toBe('Question: Which branch?');
    expect(approvalGroupKey({ kind: 'task_rounds', tool: 'task_rounds', input: {}, summary: '' })).toBe('Tasks whose rounds ran out');
    expect(approvalGroupKey({ kind: 'workflow_budget', tool: 'workflow_budget', input: {}, summary: 'Workflow review paused at its budget' })).toBe('Workflow runs paused at their budget');
  });
});
