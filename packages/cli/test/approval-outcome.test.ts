/**
 * How the CLI says what became of a request (`tinyagi approve`, `deny`, `answer`, and the prompts
 * of `send --wait` and `chat`): the words every surface uses (approvalOutcome of @tinyagi/client)
 * in the CLI's frame, `Outcome: @agent request (detail).`
 */
import { describe, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { describeApproval } from '../src/commands/approval-prompt.ts';

function approval(patch: Partial<Approval>): Approval {
  return {
    id: 'apr_1',
    kind: 'permission',
    status: 'pending',
    agentId: 'careful',
    runId: 'run_1',
    conversationId: 'conv_1',
    sessionKey: 'careful:cli',
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

describe('describeApproval', () => {
  it('says the outcome, who gave it, the request and its detail', () => {
    expect(describeApproval(approval({ status: 'allowed', decision: 'allow_once', decidedBy: 'cli' }))).toBe('Allowed once by cli: @careful Bash: make deploy.');
    expect(describeApproval(approval({ status: 'allowed', decision: 'allow_session', decidedBy: 'cli' }))).toBe('Allowed for the session by cli: @careful Bash: make deploy.');
    expect(describeApproval(approval({ status: 'allowed', decision: 'allow_always', decidedBy: 'tinyoffice' }))).toBe('Allowed always by tinyoffice: @careful Bash: make deploy (a rule was added).');
    expect(describeApproval(approval({ status: 'denied', decision: 'deny', decidedBy: 'telegram:6161', reason: 'not on a Friday' }))).toBe(
      'Denied by telegram:6161: @careful Bash: make deploy (not on a Friday).',
    );
    const question = { kind: 'question', tool: 'ask_human', input: { question: 'Which branch?' }, summary: 'Which branch?' } as const;
    expect(describeApproval(approval({ ...question, status: 'answered', decision: 'answer', decidedBy: 'cli', answer: 'main' }))).toBe('Answered by cli: @careful Which branch? -> main.');
    expect(describeApproval(approval({ ...question, status: 'denied', decision: 'deny', decidedBy: 'tui' }))).toBe('Declined by tui: @careful Which branch?');
  });

  it('an expiry or a cancel says why and names nobody as having answered', () => {
    expect(describeApproval(approval({ status: 'expired', decision: 'deny', decidedBy: 'expiry', reason: 'nobody answered within 600 s' }))).toBe(
      'Expired: @careful Bash: make deploy (nobody answered within 600 s; denied).',
    );
    expect(describeApproval(approval({ status: 'cancelled', decision: 'deny', decidedBy: 'restart', reason: 'denied: the session ended' }))).toBe(
      'Cancelled: @careful Bash: make deploy (the session ended).',
    );
  });
});
