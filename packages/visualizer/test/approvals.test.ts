/**
 * The dashboard's approvals (docs/approvals.md, "From the TUI"): the reducer keeps the requests
 * that wait from a snapshot and the `approval.*` events, the header counts them, and the panel's
 * keys answer them through the actions (rendered by Ink into ink-testing-library's terminal).
 */
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { Approval, ApprovalDecisionBody } from '@tinyagi/client';
import { createStore, Dashboard, initialState, reduce, type Action, type DashboardActions, type DashboardState } from '../src/index.ts';
import { AGENTS, eventFactory, T0, TEAMS } from './fixtures.ts';

const ESC = '\u001b';
const open: Action = { type: 'connection', state: 'open', info: { attempt: 0 } };
const snapshot: Action = { type: 'snapshot', agents: AGENTS, teams: TEAMS, channels: [], queue: { pending: 0, processing: 0, dead: 0 } };

function approval(id: string, patch: Partial<Approval> = {}): Approval {
  return {
    id,
    kind: 'permission',
    status: 'pending',
    agentId: 'coder',
    runId: 'run-1',
    conversationId: 'conv-1',
    sessionKey: 'coder:cli',
    tool: 'Bash',
    input: { command: 'npm test' },
    summary: 'Bash: npm test',
    requestedAt: T0,
    expiresAt: T0 + 600_000,
    decidedAt: null,
    decidedBy: null,
    decision: null,
    reason: null,
    answer: null,
    ...patch,
  };
}

const question = approval('apr_q', { kind: 'question', tool: 'ask_human', input: { question: 'Which branch?', choices: ['main', 'release'] }, summary: 'Which branch?' });

const mounted: Array<{ unmount(): void }> = [];
afterEach(() => {
  while (mounted.length) mounted.pop()!.unmount();
});

function show(state: DashboardState, actions?: DashboardActions) {
  const store = createStore(reduce, state);
  const app = render(h(Dashboard, { store, width: 100, height: 30, now: T0 + 5000, color: false, ...(actions ? { actions } : {}) }));
  mounted.push(app);
  return { store, app, frame: () => app.lastFrame() ?? '' };
}

async function frameWhere(frame: () => string, check: (f: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (!check(frame())) {
    if (Date.now() > deadline) throw new Error(`no frame with ${what}; last frame:\n${frame()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return frame();
}

describe('approvals in the dashboard', () => {
  it('the reducer: events add and settle requests; a snapshot replaces the list but keeps what the events brought after it was asked for', () => {
    const ev = eventFactory();
    let state = [snapshot, open].reduce(reduce, initialState());
    state = reduce(state, { type: 'event', event: ev('approval.requested', { approval: approval('apr_1') }) });
    state = reduce(state, { type: 'event', event: ev('approval.requested', { approval: approval('apr_1') }) });
    expect(state.approvals.map((a) => a.id)).toEqual(['apr_1']);
    // Typing a reason for it when it is answered elsewhere: the reason is dropped, saying by whom.
    state = reduce(state, { type: 'toggle-approvals', open: true });
    state = reduce(state, { type: 'approval-input', input: { id: 'apr_1', mode: 'reason', text: 'no' } });
    state = reduce(state, { type: 'event', event: ev('approval.decided', { approval: approval('apr_1', { status: 'allowed', decision: 'allow_once', decidedBy: 'tinyoffice' }) }) });
    expect(state.approvals).toEqual([]);
    expect(state.approvalsPanel.input).toBeUndefined();
    expect(state.notice?.text).toBe('Your reason was not sent: apr_1 no longer waits (allowed once by tinyoffice).');
    expect(state.activity.at(-1)?.text).toBe('@coder Bash: npm test: allowed once by tinyoffice');
    // The activity line says each outcome in the words of every surface (approvalOutcome of @tinyagi/client).
    const settled = (id: string, patch: Partial<Approval>) => {
      state = reduce(state, { type: 'event', event: ev(patch.status === 'expired' ? 'approval.expired' : 'approval.decided', { approval: approval(id, patch) }) });
      return state.activity.at(-1)?.text;
    };
    expect(settled('apr_a', { status: 'allowed', decision: 'allow_always', decidedBy: 'cli' })).toBe('@coder Bash: npm test: allowed always by cli: a rule was added');
    expect(settled('apr_d', { status: 'denied', decision: 'deny', decidedBy: 'telegram:6161', reason: 'use staging' })).toBe('@coder Bash: npm test: denied by telegram:6161: use staging');
    expect(settled('apr_e', { status: 'expired', decision: 'allow_once', decidedBy: 'expiry', reason: 'nobody answered within 600 s' })).toBe(
      '@coder Bash: npm test: expired: nobody answered within 600 s; allowed, as configured',
    );
    expect(settled('apr_c', { status: 'cancelled', decision: 'deny', decidedBy: 'restart', reason: 'denied: the session ended' })).toBe('@coder Bash: npm test: cancelled: the session ended');

    const late = approval('apr_3', { requestedAt: T0 + 10_000 });
    state = reduce(state, { type: 'event', event: ev('approval.requested', { approval: late }) });
    state = reduce(state, { type: 'approvals', approvals: [approval('apr_2')], since: T0 + 9_000 });
    expect(state.approvals.map((a) => a.id)).toEqual(['apr_2', 'apr_3']);
    state = reduce(state, { type: 'approvals', approvals: [], since: T0 + 20_000 });
    expect(state.approvals).toEqual([]);
  });

  it('the header counts what waits; a opens the panel; o, s, A and d with a typed reason answer a permission; digits or a typed answer a question', async () => {
    const ev = eventFactory();
    const calls: Array<[string, Omit<ApprovalDecisionBody, 'by'>]> = [];
    const actions: DashboardActions = {
      cancelRun: async () => 'no',
      steerRun: async () => 'no',
      decideApproval: async (id, body) => {
        calls.push([id, body]);
        return `${id}: ${body.decision}`;
      },
    };
    const requests = [approval('apr_1'), approval('apr_2', { summary: 'Bash: git push', input: { command: 'git push' } }), question].map(
      (a): Action => ({ type: 'event', event: ev('approval.requested', { approval: a }) }),
    );
    const { app, frame, store } = show([snapshot, open, ...requests].reduce(reduce, initialState()), actions);
    expect(frame()).toContain('⚑ 3 approvals (a)');
    app.stdin.write('a');
    const panel = await frameWhere(frame, (f) => f.includes('Approvals waiting (3)'), 'the panel');
    expect(panel).toContain('▸ @coder Bash: npm test · 9m55s left · apr_1');
    expect(panel).toContain('o allow once · s allow for the session · A allow always (adds a rule) · d deny (reason) · Esc close');
    app.stdin.write('o');
    await frameWhere(frame, (f) => f.includes('apr_1: allow_once'), 'the answer');
    // (The fake actions leave the request listed; the daemon's answer would settle it.)
    app.stdin.write('s');
    await frameWhere(frame, (f) => f.includes('apr_1: allow_session'), 'for the session');
    app.stdin.write('a'); // a lower-case a does not allow always: that takes A
    app.stdin.write('A');
    await frameWhere(frame, (f) => f.includes('apr_1: allow_always'), 'always');
    app.stdin.write('j');
    await frameWhere(frame, (f) => f.includes('▸ @coder Bash: git push'), 'the next request selected');
    app.stdin.write('d');
    await frameWhere(frame, (f) => f.includes('Reason (the agent reads it): ▌'), 'the reason line');
    app.stdin.write('not today');
    await frameWhere(frame, (f) => f.includes('not today▌'), 'the typed reason');
    app.stdin.write('\r');
    await frameWhere(frame, (f) => f.includes('apr_2: deny'), 'the denial');
    app.stdin.write('j');
    const asked = await frameWhere(frame, (f) => f.includes('▸ @coder ? Which branch?'), 'the question selected');
    expect(asked).toContain('1) main');
    expect(asked).toContain('1-2 choose · i / Enter type an answer · d decline · Esc close');
    app.stdin.write('2');
    await frameWhere(frame, (f) => f.includes('apr_q: answer'), 'the chosen answer');
    app.stdin.write('i');
    await frameWhere(frame, (f) => f.includes('Answer: ▌'), 'the answer line');
    app.stdin.write('hotfix');
    app.stdin.write('\r');
    await frameWhere(
      () => String(calls.length),
      (n) => n === '6',
      'the typed answer',
    );
    expect(calls).toEqual([
      ['apr_1', { decision: 'allow_once' }],
      ['apr_1', { decision: 'allow_session' }],
      ['apr_1', { decision: 'allow_always' }],
      ['apr_2', { decision: 'deny', reason: 'not today' }],
      ['apr_q', { decision: 'answer', answer: 'release' }],
      ['apr_q', { decision: 'answer', answer: 'hotfix' }],
    ]);
    // The daemon's events settle them: the count goes, and Esc closes the panel.
    for (const id of ['apr_1', 'apr_2', 'apr_q']) store.dispatch({ type: 'event', event: ev('approval.decided', { approval: approval(id, { status: 'allowed', decidedBy: 'tui' }) }) });
    await frameWhere(frame, (f) => f.includes('Nothing waits for your answer.') && !f.includes('⚑'), 'the empty panel');
    app.stdin.write(ESC);
    await frameWhere(frame, (f) => !f.includes('Approvals waiting'), 'the panel closed');
  });

  it('an egress request (a sandboxed connection) says what it connects to and takes o, A and d, not s', async () => {
    const ev = eventFactory();
    const calls: Array<[string, Omit<ApprovalDecisionBody, 'by'>]> = [];
    const actions: DashboardActions = {
      cancelRun: async () => 'no',
      steerRun: async () => 'no',
      decideApproval: async (id, body) => {
        calls.push([id, body]);
        return `${id}: ${body.decision}`;
      },
    };
    const egress = approval('apr_e', { kind: 'egress', tool: 'egress', input: { host: 'pypi.org', port: 443 }, summary: 'Connect to pypi.org:443' });
    const state = [snapshot, open, { type: 'event', event: ev('approval.requested', { approval: egress }) } as Action].reduce(reduce, initialState());
    expect(state.activity.at(-1)?.text).toBe('@coder asks: Connect to pypi.org:443 (a: approvals)');
    const { app, frame } = show(state, actions);
    app.stdin.write('a');
    const panel = await frameWhere(frame, (f) => f.includes('Approvals waiting (1)'), 'the panel');
    expect(panel).toContain('@coder asks: Connect to pypi.org:443');
    expect(panel).toContain('o allow once · A allow always (adds the host to its list) · d deny (reason) · Esc close');
    app.stdin.write('s');
    app.stdin.write('A');
    await frameWhere(frame, (f) => f.includes('apr_e: allow_always'), 'always');
    expect(calls).toEqual([['apr_e', { decision: 'allow_always' }]]);
  });

  it("a task's rounds (task_rounds) say which task waits and what fails, never expire, and take m, t and x, not o or d", async () => {
    const ev = eventFactory();
    const calls: Array<[string, Omit<ApprovalDecisionBody, 'by'>]> = [];
    const actions: DashboardActions = {
      cancelRun: async () => 'no',
      steerRun: async () => 'no',
      decideApproval: async (id, body) => {
        calls.push([id, body]);
        return `${id}: ${body.decision}`;
      },
    };
    const rounds = approval('apr_t', {
      kind: 'task_rounds',
      runId: null,
      sessionKey: null,
      taskId: 'task_1',
      tool: 'task_rounds',
      input: { taskId: 'task_1', identifier: 'WEB-3', title: 'Fix login', rounds: 5, moreRounds: 5, missing: ['The check "test" (pnpm test) exited with code 1.'] },
      summary: 'WEB-3 Fix login: still not done after 5 rounds.',
      expiresAt: null,
    });
    const state = [snapshot, open, { type: 'event', event: ev('approval.requested', { approval: rounds }) } as Action].reduce(reduce, initialState());
    expect(state.activity.at(-1)?.text).toBe('@coder has a task waiting for a person: WEB-3 Fix login: still not done after 5 rounds. (a: approvals)');
    const { app, frame } = show(state, actions);
    app.stdin.write('a');
    const panel = await frameWhere(frame, (f) => f.includes('Approvals waiting (1)'), 'the panel');
    expect(panel).toContain('waits until answered');
    expect(panel).toContain('Task WEB-3 of @coder waits for a person: Fix login');
    expect(panel).toContain('The check "test" (pnpm test) exited with code 1.');
    expect(panel).toContain('m another 5 rounds · t take over · x stop · Esc close');
    app.stdin.write('o');
    app.stdin.write('d');
    app.stdin.write('t');
    await frameWhere(frame, (f) => f.includes('apr_t: take_over'), 'taken over');
    expect(calls).toEqual([['apr_t', { decision: 'take_over' }]]);
  });

  it("a workflow run's budget (workflow_budget) says what the run spent, never expires, and takes r and x, not o or d", async () => {
    const ev = eventFactory();
    const calls: Array<[string, Omit<ApprovalDecisionBody, 'by'>]> = [];
    const actions: DashboardActions = {
      cancelRun: async () => 'no',
      steerRun: async () => 'no',
      decideApproval: async (id, body) => {
        calls.push([id, body]);
        return `${id}: ${body.decision}`;
      },
    };
    const budget = approval('apr_b', {
      kind: 'workflow_budget',
      agentId: 'person',
      runId: null,
      conversationId: null,
      sessionKey: null,
      tool: 'workflow_budget',
      input: { workflowRunId: 'wf_1', name: 'review', spent: { usd: 2.51, tokens: 0 }, budget: { usd: 2.5, tokens: null } },
      summary: 'Workflow review paused at its budget: spent $2.5100 of $2.50',
      expiresAt: null,
    });
    const state = [snapshot, open, { type: 'event', event: ev('approval.requested', { approval: budget }) } as Action].reduce(reduce, initialState());
    expect(state.activity.at(-1)?.text).toBe('Workflow review paused at its budget: spent $2.5100 of $2.50 (a: approvals)');
    const { app, frame } = show(state, actions);
    app.stdin.write('a');
    const panel = await frameWhere(frame, (f) => f.includes('Approvals waiting (1)'), 'the panel');
    expect(panel).toContain('waits until answered');
    expect(panel).toContain('run wf_1');
    expect(panel).toContain('r raise the budget (the same again) · x stop the run · Esc close');
    app.stdin.write('o');
    app.stdin.write('d');
    app.stdin.write('r');
    await frameWhere(frame, (f) => f.includes('apr_b: raise_budget'), 'raised');
    expect(calls).toEqual([['apr_b', { decision: 'raise_budget' }]]);
  });
});
