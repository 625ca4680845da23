/**
 * What a settled prompt says in a chat: an emoji, the outcome in the words of every surface
 * (approvalOutcome of @tinyagi/client), and what was asked.
 */
import { describe, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { outcomeFor, promptFor } from '../src/approvals.ts';

function approval(patch: Partial<Approval>): Approval {
  return {
    id: 'apr_1',
    kind: 'permission',
    status: 'pending',
    agentId: 'careful',
    runId: 'run_1',
    conversationId: 'conv_1',
    sessionKey: 'careful:telegram',
    tool: 'Bash',
    input: { command: 'make deploy' },
    summary: 'Bash: make deploy',
    requestedAt: 0,
    expiresAt: 600_000,
    decidedAt: null,
    decidedBy: null,
    decision: null,
    reason: null,
    answer: null,
    ...patch,
  };
}

describe('outcomeFor', () => {
  it('says each outcome with its emoji, then what was asked', () => {
    const asked = '\n@careful asked: `Bash: make deploy`';
    expect(outcomeFor(approval({}))).toBe(`⏳ Waiting for an answer${asked}`);
    expect(outcomeFor(approval({ status: 'allowed', decision: 'allow_session', decidedBy: 'telegram:6161' }))).toBe(`✅ Allowed for the session by telegram:6161${asked}`);
    expect(outcomeFor(approval({ status: 'allowed', decision: 'allow_always', decidedBy: 'cli' }))).toBe(`✅ Allowed always by cli: a rule was added${asked}`);
    expect(outcomeFor(approval({ status: 'denied', decision: 'deny', decidedBy: 'cli', reason: 'use staging' }))).toBe(`⛔ Denied by cli: use staging${asked}`);
    expect(outcomeFor(approval({ status: 'expired', decision: 'allow_once', decidedBy: 'expiry', reason: 'nobody answered within 20 s' }))).toBe(
      `⌛ Expired: nobody answered within 20 s; allowed, as configured${asked}`,
    );
    expect(outcomeFor(approval({ status: 'cancelled', decision: 'deny', decidedBy: 'cancelled', reason: 'denied: the run was cancelled' }))).toBe(`✖ Cancelled: the run was cancelled${asked}`);
  });

  it('a question shows its text, and its answer or why it was declined', () => {
    const question = { kind: 'question', tool: 'ask_human', input: { question: 'Which database?', choices: ['staging'] }, summary: 'Which database?' } as const;
    expect(outcomeFor(approval({ ...question, status: 'answered', decision: 'answer', decidedBy: 'whatsapp:1555@s', answer: 'production' }))).toBe(
      '💬 Answered by whatsapp:1555@s: production\n@careful asked: Which database?',
    );
    expect(outcomeFor(approval({ ...question, status: 'denied', decision: 'deny', decidedBy: 'slack:U1', reason: 'ask Bob' }))).toBe(
      '⛔ Declined by slack:U1: ask Bob\n@careful asked: Which database?',
    );
  });
});

describe('promptFor an egress request (a sandboxed connection, docs/sandbox.md#egress)', () => {
  const egress = approval({ kind: 'egress', tool: 'egress', input: { host: 'pypi.org', port: 443 }, summary: 'Connect to pypi.org:443' });

  it('offers allow once, allow always and deny, never a session', () => {
    const prompt = promptFor(egress, true, 0);
    expect(prompt.actions.map((a) => [a.label, a.token])).toEqual([
      ['Allow once', 'o'],
      ['Allow always', 'a'],
      ['Deny', 'd'],
    ]);
    expect(prompt.text.split('\n').slice(0, 2)).toEqual(['🌐 **@careful asks to connect to a host off its list:**', '`Connect to pypi.org:443`']);
    expect(prompt.text).toContain("Allow always adds the host to the agent's egress list.");
  });

  it('numbers its answers as a permission does, without 2', () => {
    expect(promptFor(egress, false, 0).text).toContain('Reply `1` to allow once, `3` to allow always, `4 <reason>` to deny.');
    expect(promptFor(approval({}), false, 0).text).toContain('Reply `1` to allow once, `2` to allow for this session, `3` to allow always, `4 <reason>` to deny.');
    expect(outcomeFor({ ...egress, status: 'allowed', decision: 'allow_always', decidedBy: 'telegram:6161' })).toBe(
      "✅ Allowed always by telegram:6161: the host was added to the agent's egress list\n@careful asked: `Connect to pypi.org:443`",
    );
  });
});

describe("promptFor a task's rounds (task_rounds, docs/git-tasks.md)", () => {
  const rounds = approval({
    kind: 'task_rounds',
    agentId: 'coder',
    runId: null,
    sessionKey: null,
    taskId: 'task_1',
    tool: 'task_rounds',
    input: { taskId: 'task_1', identifier: 'WEB-3', title: 'Fix login', rounds: 5, moreRounds: 5, missing: ['The check "test" (pnpm test) exited with code 1.'] },
    summary: 'WEB-3 Fix login: still not done after 5 rounds.',
    expiresAt: null,
  });

  it('says what still fails and offers another N rounds, take over and stop; it waits, no expiry', () => {
    const prompt = promptFor(rounds, true, 0);
    expect(prompt.actions.map((a) => [a.label, a.token])).toEqual([
      ['Another 5 rounds', 'm'],
      ['Take over', 't'],
      ['Stop', 'x'],
    ]);
    expect(prompt.text).toBe(
      [
        '🔁 **Task WEB-3 of @coder is still not done after 5 rounds:** Fix login',
        '• The check "test" (pnpm test) exited with code 1.',
        '',
        'Another 5 rounds: the task goes back to @coder with what failed. Take over: you take the task (In progress, assigned to nobody). Stop: back to Todo. The worktree is kept.',
        'It waits until someone answers.',
      ].join('\n'),
    );
    expect(promptFor(rounds, false, 0).text).toContain('Reply `1` for another 5 rounds (`1 <n>` for n), `2` to take over, `3` to stop.');
  });

  it('settles with the answer in the words of every surface', () => {
    expect(outcomeFor({ ...rounds, status: 'answered', decision: 'more_rounds', answer: '3', decidedBy: 'telegram:6161' })).toBe(
      '💬 More rounds by telegram:6161: another 3\nTask WEB-3 of @coder: Fix login',
    );
    expect(outcomeFor({ ...rounds, status: 'answered', decision: 'take_over', decidedBy: 'cli' })).toBe('💬 Taken over by cli\nTask WEB-3 of @coder: Fix login');
    expect(outcomeFor({ ...rounds, status: 'answered', decision: 'stop', decidedBy: 'slack:U1', reason: 'not now' })).toBe('💬 Stopped by slack:U1: not now\nTask WEB-3 of @coder: Fix login');
  });
});

describe("promptFor a workflow run's budget (workflow_budget, docs/workflows.md#budgets)", () => {
  const budget = approval({
    kind: 'workflow_budget',
    agentId: 'lead',
    runId: null,
    conversationId: null,
    sessionKey: null,
    tool: 'workflow_budget',
    input: { workflowRunId: 'wf_1', name: 'review', spent: { usd: 2.51, tokens: 9000 }, budget: { usd: 2.5, tokens: null } },
    summary: 'Workflow review paused at its budget: spent $2.5100 of $2.50',
    expiresAt: null,
  });

  it('says what the run spent and who started it, and offers raise the budget and stop; it waits, no expiry', () => {
    const prompt = promptFor(budget, true, 0);
    expect(prompt.actions.map((a) => [a.label, a.token])).toEqual([
      ['Raise the budget', 'r'],
      ['Stop the run', 'x'],
    ]);
    expect(prompt.text).toBe(
      [
        '⏸ **Workflow review paused at its budget: spent $2.5100 of $2.50** (started by @lead)',
        '',
        'Raise the budget: the run goes on with the same again (each cap doubled). Stop the run: it is cancelled.',
        'It waits until someone answers.',
      ].join('\n'),
    );
    expect(promptFor({ ...budget, agentId: 'person' }, false, 0).text).toBe(
      [
        '⏸ **Workflow review paused at its budget: spent $2.5100 of $2.50**',
        '',
        'Reply `1` to raise the budget by the same again (each cap doubled), `1 <usd>` or `1 <n> tokens` to raise it to that, `2` to stop the run (it is cancelled).',
        'It waits until someone answers.',
      ].join('\n'),
    );
  });

  it('settles with the answer in the words of every surface', () => {
    expect(outcomeFor({ ...budget, status: 'answered', decision: 'raise_budget', answer: '$5', decidedBy: 'telegram:6161' })).toBe(
      '💬 Budget raised by telegram:6161: to $5\nWorkflow review paused at its budget: spent $2.5100 of $2.50',
    );
    expect(outcomeFor({ ...budget, status: 'cancelled', decidedBy: 'resume', reason: 'the run was resumed by hand' })).toBe(
      '✖ Cancelled: the run was resumed by hand\nWorkflow review paused at its budget: spent $2.5100 of $2.50',
    );
  });
});
