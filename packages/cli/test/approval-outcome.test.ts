/**
 * How the CLI says what became of a request (`tinyagi approve`, `deny`, `answer`, and the prompts
 * of `send --wait` and `chat`): the words every surface uses (approvalOutcome of @tinyagi/client)
 * in the CLI's frame, `Outcome: @agent request (detail).`; and a prompt answered here is said once,
 * as this terminal's answer, even when its `approval.decided` event comes before the daemon's reply.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApiClient, type Approval, type EventView } from '@tinyagi/client';
import { waitFor } from '@tinyagi/test-kit';
import { createApprovalPrompter, describeApproval } from '../src/commands/approval-prompt.ts';

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

describe("describeApproval of a workflow run's budget (workflow_budget)", () => {
  it('says the run by its summary (its starter may be a person), and the budget given in brackets', () => {
    const budget = {
      kind: 'workflow_budget',
      agentId: 'person',
      runId: null,
      conversationId: null,
      sessionKey: null,
      tool: 'workflow_budget',
      input: { workflowRunId: 'wf_1', name: 'review', spent: { usd: 2.51, tokens: 0 }, budget: { usd: 2.5, tokens: null } },
      summary: 'Workflow review paused at its budget: spent $2.5100 of $2.50',
      expiresAt: null,
    } as const;
    expect(describeApproval(approval({ ...budget, status: 'answered', decision: 'raise_budget', decidedBy: 'cli', answer: '$5' }))).toBe(
      'Budget raised by cli: Workflow review paused at its budget: spent $2.5100 of $2.50 (to $5).',
    );
    expect(describeApproval(approval({ ...budget, status: 'answered', decision: 'stop', decidedBy: 'cli' }))).toBe('Stopped by cli: Workflow review paused at its budget: spent $2.5100 of $2.50.');
  });
});

describe('a prompt answered here', () => {
  it('is said once as its own answer when the decided event arrives before the reply to the answer', async () => {
    const asked = approval({ requestedAt: Date.now(), expiresAt: Date.now() + 600_000 });
    const decided = approval({ ...asked, status: 'allowed', decision: 'allow_once', decidedBy: 'cli', decidedAt: Date.now() });
    // A daemon stand-in that holds its reply to the answer until the test lets it go.
    let held: ServerResponse | undefined;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        held = res;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' });
    const input = new PassThrough() as PassThrough & NodeJS.ReadStream;
    const out = new PassThrough() as PassThrough & NodeJS.WriteStream;
    let written = '';
    out.on('data', (chunk: Buffer) => {
      written += chunk.toString('utf8');
    });
    const prompter = createApprovalPrompter({ client, interactive: true, hints: true, input, out });
    const event = (type: 'approval.requested' | 'approval.decided', a: Approval) => ({ id: 1, type, ts: Date.now(), data: { approval: a } }) as unknown as EventView;
    try {
      prompter.onEvent(event('approval.requested', asked));
      await waitFor(() => written.includes('[o]nce'), 10_000, 'the prompt');
      input.write('o\n');
      await waitFor(() => held, 10_000, 'the answer to reach the daemon');
      prompter.onEvent(event('approval.decided', decided));
      held!.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(decided));
      await waitFor(() => written.includes('Allowed once by cli'), 10_000, 'the answer said');
      expect(written).not.toContain('Answered elsewhere');
      expect(written.split('Allowed once by cli').length - 1).toBe(1);
    } finally {
      prompter.close();
      server.close();
    }
  });
});

describe('an egress request at the prompt (a sandboxed connection, docs/sandbox.md#egress)', () => {
  it('says what it connects to and takes once, always or deny: a session answer is not sent', async () => {
    const asked = approval({ kind: 'egress', tool: 'egress', input: { host: 'pypi.org', port: 443 }, summary: 'Connect to pypi.org:443', requestedAt: Date.now(), expiresAt: Date.now() + 600_000 });
    const bodies: unknown[] = [];
    // A daemon stand-in that records each answer and replies with the request allowed always.
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...asked, status: 'allowed', decision: 'allow_always', decidedBy: 'cli', decidedAt: Date.now() }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' });
    const input = new PassThrough() as PassThrough & NodeJS.ReadStream;
    const out = new PassThrough() as PassThrough & NodeJS.WriteStream;
    let written = '';
    out.on('data', (chunk: Buffer) => {
      written += chunk.toString('utf8');
    });
    const prompter = createApprovalPrompter({ client, interactive: true, hints: true, input, out });
    try {
      prompter.onEvent({ id: 1, type: 'approval.requested', ts: Date.now(), data: { approval: asked } } as unknown as EventView);
      await waitFor(() => written.includes('[o]nce / [a]lways / [d]eny (reason) ? '), 10_000, 'the prompt');
      expect(written).toContain('@careful asks to connect to pypi.org:443');
      expect(written).not.toContain('[s]ession');
      input.write('s\n');
      await waitFor(() => written.includes('Type o, a or d (d can be followed by the reason); a connection has no session.'), 10_000, 'the hint');
      input.write('a\n');
      await waitFor(() => written.includes("Allowed always by cli: @careful Connect to pypi.org:443 (the host was added to the agent's egress list)."), 10_000, 'the answer said');
      expect(bodies).toEqual([{ decision: 'allow_always', by: 'cli' }]);
    } finally {
      prompter.close();
      server.close();
    }
  });
});
