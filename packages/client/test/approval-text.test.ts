import { describe, expect, it } from 'vitest';
import {
  approvalAnswers,
  approvalBatchText,
  approvalEgress,
  approvalOutcome,
  approvalOutcomeText,
  approvalQuestion,
  approvalTaskRounds,
  approvalWorkflowBudget,
  budgetText,
  parseBudgetText,
  type Approval,
} from '../src/index.ts';

describe('approvalQuestion', () => {
  it('reads a question and its text choices; a blank question falls back to the summary; blank or non-text choices are left out', () => {
    expect(approvalQuestion({ summary: 'Which database?', input: { question: 'Which database, staging or production?', choices: ['staging', ' ', 7, 'production'] } })).toEqual({
      question: 'Which database, staging or production?',
      choices: ['staging', 'production'],
    });
    expect(approvalQuestion({ summary: 'Which database?', input: { question: '  ' } })).toEqual({ question: 'Which database?', choices: [] });
    expect(approvalQuestion({ summary: 'Bash: ls', input: null })).toEqual({ question: 'Bash: ls', choices: [] });
  });
});

type Fields = Pick<Approval, 'kind' | 'status' | 'decision' | 'decidedBy' | 'reason' | 'answer'>;
const permission = (fields: Partial<Fields>): Fields => ({ kind: 'permission', status: 'pending', decision: null, decidedBy: null, reason: null, answer: null, ...fields });
const question = (fields: Partial<Fields>): Fields => permission({ kind: 'question', ...fields });

describe('approvalOutcome', () => {
  it('says each answer, who gave it, and the reason or the answer', () => {
    expect(approvalOutcome(permission({}))).toEqual({ head: 'Waiting for an answer' });
    expect(approvalOutcome(permission({ status: 'allowed', decision: 'allow_once', decidedBy: 'telegram:6161' }))).toEqual({ head: 'Allowed once', by: 'telegram:6161' });
    expect(approvalOutcome(permission({ status: 'allowed', decision: 'allow_session', decidedBy: 'cli' }))).toEqual({ head: 'Allowed for the session', by: 'cli' });
    expect(approvalOutcome(permission({ status: 'allowed', decision: 'allow_always', decidedBy: 'tinyoffice' }))).toEqual({ head: 'Allowed always', by: 'tinyoffice', detail: 'a rule was added' });
    expect(approvalOutcome(permission({ status: 'denied', decision: 'deny', decidedBy: 'cli', reason: ' use staging ' }))).toEqual({ head: 'Denied', by: 'cli', detail: 'use staging' });
    expect(approvalOutcome(permission({ status: 'denied', decision: 'deny', decidedBy: 'discord:42' }))).toEqual({ head: 'Denied', by: 'discord:42' });
    expect(approvalOutcome(question({ status: 'denied', decision: 'deny', decidedBy: 'tui' }))).toEqual({ head: 'Declined', by: 'tui' });
    expect(approvalOutcome(question({ status: 'answered', decision: 'answer', decidedBy: 'whatsapp:1555@s', answer: 'us-east' }))).toEqual({
      head: 'Answered',
      by: 'whatsapp:1555@s',
      detail: 'us-east',
    });
  });

  it('an expiry says why and, for a permission, what was done instead; nobody is named as having answered', () => {
    const expired = { status: 'expired', decidedBy: 'expiry', reason: 'nobody answered within 600 s' } as const;
    expect(approvalOutcome(permission({ ...expired, decision: 'deny' }))).toEqual({ head: 'Expired', detail: 'nobody answered within 600 s; denied' });
    expect(approvalOutcome(permission({ ...expired, decision: 'allow_once' }))).toEqual({ head: 'Expired', detail: 'nobody answered within 600 s; allowed, as configured' });
    expect(approvalOutcome(question({ ...expired, decision: 'deny' }))).toEqual({ head: 'Expired', detail: 'nobody answered within 600 s' });
    expect(approvalOutcome(permission({ status: 'expired', decision: 'deny', decidedBy: 'expiry' }))).toEqual({ head: 'Expired', detail: 'nobody answered in time; denied' });
  });

  it('a cancel says why, without the "denied: " the agent reads', () => {
    expect(approvalOutcome(permission({ status: 'cancelled', decision: 'deny', decidedBy: 'restart', reason: 'denied: the session ended' }))).toEqual({
      head: 'Cancelled',
      detail: 'the session ended',
    });
    expect(approvalOutcome(question({ status: 'cancelled', decision: 'deny', decidedBy: 'cancelled', reason: 'denied: the run was cancelled' }))).toEqual({
      head: 'Cancelled',
      detail: 'the run was cancelled',
    });
    expect(approvalOutcome(permission({ status: 'cancelled', decision: 'deny', decidedBy: 'cancelled' }))).toEqual({ head: 'Cancelled' });
  });
});

describe('approvalOutcomeText', () => {
  it('joins the parts in one line', () => {
    expect(approvalOutcomeText(permission({}))).toBe('Waiting for an answer');
    expect(approvalOutcomeText(permission({ status: 'allowed', decision: 'allow_once', decidedBy: 'cli' }))).toBe('Allowed once by cli');
    expect(approvalOutcomeText(permission({ status: 'allowed', decision: 'allow_always', decidedBy: 'tinyoffice' }))).toBe('Allowed always by tinyoffice: a rule was added');
    expect(approvalOutcomeText(permission({ status: 'denied', decision: 'deny', decidedBy: 'cli', reason: 'use staging' }))).toBe('Denied by cli: use staging');
    expect(approvalOutcomeText(question({ status: 'answered', decision: 'answer', decidedBy: 'cli', answer: 'staging' }))).toBe('Answered by cli: staging');
    expect(approvalOutcomeText(permission({ status: 'expired', decision: 'allow_once', decidedBy: 'expiry', reason: 'nobody answered within 8 s' }))).toBe(
      'Expired: nobody answered within 8 s; allowed, as configured',
    );
    expect(approvalOutcomeText(permission({ status: 'cancelled', decision: 'deny', decidedBy: 'restart', reason: 'denied: the session ended' }))).toBe('Cancelled: the session ended');
  });
});

describe('egress requests (a sandboxed connection, docs/sandbox.md#egress)', () => {
  it('take allow once, allow always and deny; allowed always says the host joined the list', () => {
    expect(approvalAnswers('egress')).toEqual(['allow_once', 'allow_always', 'deny']);
    expect(approvalAnswers('permission')).toEqual(['allow_once', 'allow_session', 'allow_always', 'deny']);
    expect(approvalAnswers('question')).toEqual(['answer', 'deny']);
    expect(approvalEgress({ input: { host: 'pypi.org', port: 443 } })).toEqual({ host: 'pypi.org', port: 443 });
    expect(approvalOutcomeText(permission({ kind: 'egress', status: 'allowed', decision: 'allow_always', decidedBy: 'cli' }))).toBe(
      "Allowed always by cli: the host was added to the agent's egress list",
    );
    expect(approvalOutcomeText(permission({ kind: 'egress', status: 'expired', decision: 'deny', decidedBy: 'expiry', reason: 'nobody answered within 600 s' }))).toBe(
      'Expired: nobody answered within 600 s; denied',
    );
  });
});

describe("a task's rounds (task_rounds, docs/git-tasks.md)", () => {
  it('take more rounds, take over and stop; each outcome says which, by whom; the input reads with defaults', () => {
    expect(approvalAnswers('task_rounds')).toEqual(['more_rounds', 'take_over', 'stop']);
    const rounds = (patch: Partial<Approval>) => permission({ kind: 'task_rounds', status: 'answered', decidedBy: 'cli', ...patch });
    expect(approvalOutcomeText(rounds({ decision: 'more_rounds', answer: '5' }))).toBe('More rounds by cli: another 5');
    expect(approvalOutcomeText(rounds({ decision: 'take_over' }))).toBe('Taken over by cli');
    expect(approvalOutcomeText(rounds({ decision: 'stop', reason: 'not now' }))).toBe('Stopped by cli: not now');
    expect(approvalTaskRounds({ input: { taskId: 't1', identifier: 'WEB-3', title: 'Fix', projectId: 'p1', rounds: 5, moreRounds: 3, missing: ['x', 1] }, summary: 's' })).toEqual({
      taskId: 't1',
      projectId: 'p1',
      identifier: 'WEB-3',
      title: 'Fix',
      rounds: 5,
      moreRounds: 3,
      missing: ['x'],
    });
    expect(approvalTaskRounds({ input: null, summary: 'WEB-3 Fix: …', taskId: 't2' })).toMatchObject({ taskId: 't2', identifier: 't2', title: 'WEB-3 Fix: …', projectId: null, moreRounds: 5 });
  });
});

describe("a workflow run's budget (workflow_budget, docs/workflows.md#budgets)", () => {
  it('takes raise_budget and stop; a raise says the budget given, else the same again; the input and a budget read back', () => {
    expect(approvalAnswers('workflow_budget')).toEqual(['raise_budget', 'stop']);
    const budget = (patch: Partial<Approval>) => permission({ kind: 'workflow_budget', status: 'answered', decidedBy: 'cli', ...patch });
    expect(approvalOutcomeText(budget({ decision: 'raise_budget', answer: '$5 and 200000 tokens' }))).toBe('Budget raised by cli: to $5 and 200000 tokens');
    expect(approvalOutcomeText(budget({ decision: 'raise_budget' }))).toBe('Budget raised by cli: the same again');
    expect(approvalOutcomeText(budget({ decision: 'stop' }))).toBe('Stopped by cli');
    expect(approvalOutcomeText(budget({ status: 'cancelled', decidedBy: 'resume', reason: 'the run was resumed by hand' }))).toBe('Cancelled: the run was resumed by hand');
    const input = { workflowRunId: 'wf_1', name: 'review', spent: { usd: 2.51, tokens: 900 }, budget: { usd: 2.5, tokens: null } };
    expect(approvalWorkflowBudget({ input, summary: 's' })).toEqual(input);
    expect(approvalWorkflowBudget({ input: null, summary: 'Workflow x paused' })).toEqual({
      workflowRunId: '?',
      name: 'Workflow x paused',
      spent: { usd: 0, tokens: 0 },
      budget: { usd: null, tokens: null },
    });
    expect(budgetText({ usd: 5, tokens: 200000 })).toBe('$5 and 200000 tokens');
    expect(budgetText({ usd: null, tokens: 7 })).toBe('7 tokens');
    expect(parseBudgetText('$5 and 200000 tokens')).toEqual({ usd: 5, tokens: 200000 });
    expect(parseBudgetText('$0.75')).toEqual({ usd: 0.75 });
    for (const bad of ['5', '$0', '$5 and $6', 'lots', '']) expect(parseBudgetText(bad)).toBeUndefined();
  });
});

describe('approvalBatchText', () => {
  it('says one answer for many: how many, who, and why any were left as they were', () => {
    const allowed = permission({ status: 'allowed', decision: 'allow_once', decidedBy: 'cli' });
    expect(approvalBatchText({ decided: [allowed, allowed], skipped: [] })).toBe('Allowed once by cli: 2 requests.');
    expect(approvalBatchText({ decided: [permission({ status: 'denied', decision: 'deny', decidedBy: 'telegram:1', reason: 'no' })], skipped: [{ why: 'decided' }] })).toBe(
      'Denied by telegram:1: 1 request; 1 left as it was (answered or expired meanwhile).',
    );
    expect(approvalBatchText({ decided: [], skipped: [{ why: 'decided' }, { why: 'forbidden' }, { why: 'decided' }] })).toBe(
      'Nothing was answered; 3 left as they were (2 answered or expired meanwhile, 1 not yours to answer).',
    );
  });
});
