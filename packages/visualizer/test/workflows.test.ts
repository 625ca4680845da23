/**
 * The dashboard's workflow runs (docs/cli.md, "The terminal dashboard"): the reducer follows
 * `workflow.changed` and `workflow.step` events, the daemon's list and one run's read into the runs
 * list (each step counted once, whatever said it), and the Workflows panel (key `w`) draws the runs
 * and the selected run's step tree, rendered by Ink into ink-testing-library's terminal.
 */
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkflowRun, WorkflowRunDetail, WorkflowStep } from '@tinyagi/client';
import { createStore, Dashboard, initialState, reduce, stepCounts, WORKFLOW_LIMITS, type Action, type DashboardState } from '../src/index.ts';
import { AGENTS, eventFactory, T0, TEAMS } from './fixtures.ts';

const ESC = '\u001b';
const open: Action = { type: 'connection', state: 'open', info: { attempt: 0 } };
const snapshot: Action = { type: 'snapshot', agents: AGENTS, teams: TEAMS, channels: [], queue: { pending: 0, processing: 0, dead: 0 } };

function run(id: string, patch: Partial<WorkflowRun> = {}): WorkflowRun {
  return {
    id,
    name: 'review',
    registered: null,
    startedBy: 'person',
    file: '/work/review.mjs',
    input: null,
    status: 'running',
    result: null,
    reason: null,
    budget: { usd: null, tokens: null },
    costUsd: 0,
    tokens: 0,
    steps: { total: 0, running: 0, completed: 0, failed: 0 },
    node: null,
    createdAt: T0,
    updatedAt: T0,
    endedAt: null,
    ...patch,
  };
}

function step(runId: string, stepId: string, patch: Partial<WorkflowStep> = {}): WorkflowStep {
  return {
    runId,
    stepId,
    kind: 'agent',
    agentId: 'coder',
    label: `do ${stepId}`,
    status: 'completed',
    conversationId: null,
    taskId: null,
    output: null,
    error: null,
    costUsd: 0,
    tokens: 0,
    startedAt: T0,
    endedAt: null,
    ...patch,
  };
}

type Ev = ReturnType<typeof eventFactory>;
const changed = (ev: Ev, runId: string, status: WorkflowRun['status'], reason?: string, name = 'review'): Action => ({
  type: 'event',
  event: ev('workflow.changed', { runId, name, status, ...(reason ? { reason } : {}) }),
});
const stepped = (ev: Ev, runId: string, stepId: string, status: WorkflowStep['status'], more: { costUsd?: number; tokens?: number; error?: string; agentId?: string } = {}): Action => ({
  type: 'event',
  event: ev(
    'workflow.step',
    { runId, stepId, kind: 'agent', status, costUsd: more.costUsd ?? 0, tokens: more.tokens ?? 0, ...(more.error ? { error: more.error } : {}) },
    { agentId: more.agentId ?? 'coder' },
  ),
});

const stateOf = (actions: Action[]): DashboardState => actions.reduce(reduce, initialState());
const row = (state: DashboardState, id: string) => state.workflows.runs.find((r) => r.id === id)!;
const counted = (state: DashboardState, id: string) => {
  const { total, running, completed, failed, costUsd } = stepCounts(row(state, id));
  return { total, running, completed, failed, costUsd: Math.round(costUsd * 10_000) / 10_000 };
};

describe('workflow runs in the dashboard state', () => {
  it('events in: a run starts, its steps are counted once each as they start and end, and it completes with their cost', () => {
    const ev = eventFactory();
    let state = stateOf([snapshot, open, changed(ev, 'wf_1', 'running')]);
    expect(state.workflows.runs.map((r) => [r.id, r.name, r.status])).toEqual([['wf_1', 'review', 'running']]);
    expect(state.activity.at(-1)?.text).toBe('workflow review started (w: workflows)');
    state = [
      stepped(ev, 'wf_1', '1:parallel[0]/1:agent', 'running'),
      stepped(ev, 'wf_1', '1:parallel[1]/1:agent', 'running', { agentId: 'reviewer' }),
      // The same step said running twice (as its conversation is sent): still one step.
      stepped(ev, 'wf_1', '1:parallel[1]/1:agent', 'running', { agentId: 'reviewer' }),
      stepped(ev, 'wf_1', '1:parallel[0]/1:agent', 'completed', { costUsd: 0.001, tokens: 15 }),
    ].reduce(reduce, state);
    expect(counted(state, 'wf_1')).toEqual({ total: 2, running: 1, completed: 1, failed: 0, costUsd: 0.001 });
    state = [stepped(ev, 'wf_1', '1:parallel[1]/1:agent', 'completed', { costUsd: 0.002, tokens: 25, agentId: 'reviewer' }), stepped(ev, 'wf_1', '2:agent', 'running')].reduce(reduce, state);
    state = [stepped(ev, 'wf_1', '2:agent', 'completed', { costUsd: 0.001, tokens: 15 }), changed(ev, 'wf_1', 'completed')].reduce(reduce, state);
    expect(counted(state, 'wf_1')).toEqual({ total: 3, running: 0, completed: 3, failed: 0, costUsd: 0.004 });
    expect(row(state, 'wf_1').status).toBe('completed');
    expect(state.activity.at(-1)?.text).toBe('workflow review completed');
  });

  it('a failed step is an error line naming its agent; a failed run says why, and its resume is said as such, the retried step not counted again', () => {
    const ev = eventFactory();
    let state = stateOf([snapshot, open, changed(ev, 'wf_1', 'running'), stepped(ev, 'wf_1', '1:agent', 'running')]);
    state = reduce(state, stepped(ev, 'wf_1', '1:agent', 'failed', { error: 'the provider exploded' }));
    expect(state.activity.at(-1)).toMatchObject({ level: 'error', text: 'workflow review: step 1:agent (@coder) failed: the provider exploded' });
    state = reduce(state, changed(ev, 'wf_1', 'failed', 'Step 1:agent failed: the provider exploded'));
    expect(state.activity.at(-1)).toMatchObject({ level: 'error', text: 'workflow review failed: Step 1:agent failed: the provider exploded' });
    expect(row(state, 'wf_1')).toMatchObject({ status: 'failed', reason: 'Step 1:agent failed: the provider exploded' });
    state = [changed(ev, 'wf_1', 'running'), stepped(ev, 'wf_1', '1:agent', 'running')].reduce(reduce, state);
    expect(state.activity.at(-1)?.text).toBe('workflow review resumed');
    expect(row(state, 'wf_1').reason).toBeNull();
    expect(counted(state, 'wf_1')).toEqual({ total: 1, running: 1, completed: 0, failed: 0, costUsd: 0 });
  });

  it("the daemon's list: runs newest first with their counts; a step it counted but did not name ends without being counted twice", () => {
    const ev = eventFactory(100);
    const older = run('wf_old', { name: 'nightly', status: 'completed', createdAt: T0 - 60_000, costUsd: 0.01, steps: { total: 4, running: 0, completed: 4, failed: 0 } });
    const live = run('wf_live', { createdAt: T0 - 1000, costUsd: 0.002, steps: { total: 3, running: 1, completed: 2, failed: 0 } });
    let state = stateOf([snapshot, open, { type: 'workflow-runs', runs: [live, older, live] }]);
    expect(state.workflows.runs.map((r) => r.id)).toEqual(['wf_live', 'wf_old']);
    expect(counted(state, 'wf_old')).toEqual({ total: 4, running: 0, completed: 4, failed: 0, costUsd: 0.01 });
    // The running step the list counted ends; then a new one starts.
    state = [stepped(ev, 'wf_live', '3:agent', 'completed', { costUsd: 0.001 }), stepped(ev, 'wf_live', '4:agent', 'running')].reduce(reduce, state);
    expect(counted(state, 'wf_live')).toEqual({ total: 4, running: 1, completed: 3, failed: 0, costUsd: 0.003 });
    // The list again (after a reconnect) leaves what the events built.
    state = reduce(state, { type: 'workflow-runs', runs: [live] });
    expect(counted(state, 'wf_live')).toEqual({ total: 4, running: 1, completed: 3, failed: 0, costUsd: 0.003 });
  });

  it('a read is the truth about a run, except that a step the events said completed stays completed; a step only an event named is kept', () => {
    const ev = eventFactory();
    let state = stateOf([snapshot, open, changed(ev, 'wf_1', 'running'), stepped(ev, 'wf_1', '1:agent', 'running'), stepped(ev, 'wf_1', '1:agent', 'completed', { costUsd: 0.001 })]);
    state = reduce(state, stepped(ev, 'wf_1', '2:agent', 'running'));
    // Answered before the first step's completion arrived, and before the second began.
    const stale: WorkflowRunDetail = { run: run('wf_1', { createdAt: T0 - 5000 }), steps: [step('wf_1', '1:agent', { status: 'running' })] };
    state = reduce(state, { type: 'workflow-run', detail: stale });
    expect(counted(state, 'wf_1')).toEqual({ total: 2, running: 1, completed: 1, failed: 0, costUsd: 0.001 });
    expect(row(state, 'wf_1')).toMatchObject({ described: true, createdAt: T0 - 5000 });
    // A run that only a step's event named is placed and named by its read.
    state = reduce(state, stepped(ev, 'wf_x', '1:agent', 'running'));
    expect(row(state, 'wf_x')).toMatchObject({ name: '', described: false });
    state = reduce(state, { type: 'workflow-run', detail: { run: run('wf_x', { name: 'fixer', createdAt: T0 - 9000 }), steps: [step('wf_x', '1:agent', { status: 'running' })] } });
    expect(state.workflows.runs.map((r) => [r.id, r.name])).toEqual([
      ['wf_1', 'review'],
      ['wf_x', 'fixer'],
    ]);
    expect(counted(state, 'wf_x').total).toBe(1);
  });

  it('stays bounded: the newest runs, the running ones kept over ended ones, and a run knows at most so many steps by id while counting them all', () => {
    const ev = eventFactory();
    let state = stateOf([snapshot, open, changed(ev, 'wf_first', 'running')]);
    for (let i = 0; i < 200; i++) state = [changed(ev, `wf_${i}`, 'running'), changed(ev, `wf_${i}`, 'completed')].reduce(reduce, state);
    expect(state.workflows.runs.length).toBe(WORKFLOW_LIMITS.runs);
    expect(state.workflows.runs.some((r) => r.id === 'wf_first')).toBe(true);
    expect(state.workflows.runs[0]!.id).toBe('wf_199');
    const steps = WORKFLOW_LIMITS.stepsPerRun + 20;
    for (let i = 0; i < steps; i++) state = [stepped(ev, 'wf_first', `${i}:agent`, 'running'), stepped(ev, 'wf_first', `${i}:agent`, 'completed', { costUsd: 0.0001 })].reduce(reduce, state);
    expect(Object.keys(row(state, 'wf_first').steps).length).toBe(WORKFLOW_LIMITS.stepsPerRun);
    expect(counted(state, 'wf_first')).toMatchObject({ total: steps, running: 0, completed: steps });
  });

  it('the panel: opening keeps the newest run chosen, a newer run does not move it, the read steps are kept for the chosen run only and follow its step events', () => {
    const ev = eventFactory();
    let state = stateOf([snapshot, open, changed(ev, 'wf_1', 'running'), { type: 'toggle-workflows', open: true }]);
    expect(state.workflows.panel).toEqual({ open: true, runId: 'wf_1' });
    state = reduce(state, changed(ev, 'wf_2', 'running', undefined, 'other'));
    state = reduce(state, { type: 'workflow-run', detail: { run: run('wf_2', { name: 'other', createdAt: T0 + 9000 }), steps: [] } });
    expect(state.workflows.panel.runId).toBe('wf_1');
    expect(state.workflows.detail).toBeUndefined();
    state = reduce(state, { type: 'workflow-run', detail: { run: run('wf_1'), steps: [step('wf_1', '1:agent', { status: 'running' })] } });
    expect(state.workflows.detail?.run.id).toBe('wf_1');
    state = reduce(state, stepped(ev, 'wf_1', '1:agent', 'failed', { error: 'no' }));
    expect(state.workflows.detail?.steps[0]).toMatchObject({ status: 'failed', error: 'no' });
    state = reduce(state, { type: 'cycle-workflow-run', step: -1 });
    expect(state.workflows.panel.runId).toBe('wf_2');
    expect(state.workflows.detail).toBeUndefined();
    state = reduce(state, { type: 'toggle-approvals', open: true });
    expect(state.workflows.panel.open).toBe(false);
  });
});

const mounted: Array<{ unmount(): void }> = [];
afterEach(() => {
  while (mounted.length) mounted.pop()!.unmount();
});

function show(state: DashboardState, props: { width?: number; height?: number; color?: boolean } = {}) {
  const store = createStore(reduce, state);
  const app = render(h(Dashboard, { store, width: 100, height: 30, now: T0 + 5000, color: false, ...props }));
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

/** Two runs: `review` running (a parallel of two agent steps, one done, one failed… then a step), `nightly` completed earlier. */
function twoRuns(): DashboardState {
  const ev = eventFactory();
  const review = run('wf_review', { createdAt: T0 + 1000 });
  const nightly = run('wf_nightly', { name: 'nightly', status: 'completed', createdAt: T0 - 3_600_000, costUsd: 0.05, tokens: 900, steps: { total: 6, running: 0, completed: 6, failed: 0 } });
  const steps = [
    step('wf_review', '1:parallel[0]/1:agent', { agentId: 'coder', output: '\nDraft: the parser reads\nthe whole file', costUsd: 0.0012, tokens: 340 }),
    step('wf_review', '1:parallel[1]/1:agent', { agentId: 'reviewer', status: 'failed', error: 'reviewer timed out\nafter 600 s' }),
    step('wf_review', '2:summary', { kind: 'step', agentId: null, status: 'running' }),
  ];
  return stateOf([
    snapshot,
    open,
    { type: 'workflow-runs', runs: [nightly] },
    changed(ev, 'wf_review', 'running'),
    { type: 'toggle-workflows', open: true },
    { type: 'workflow-run', detail: { run: review, steps } },
    { type: 'toggle-workflows', open: false },
  ]);
}

describe('the Workflows panel', () => {
  it('the header counts running runs; w lists them newest first with their state in words, steps done of all and cost; the chosen run shows its step tree', async () => {
    const { app, frame } = show(twoRuns());
    expect(frame()).toContain('◆ 1 workflow running (w)');
    app.stdin.write('w');
    const f = await frameWhere(frame, (x) => x.includes('Workflow runs (2, 1 running)'), 'the panel');
    const lines = f.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Workflow runs'));
    expect(lines[at]).toBe('Workflow runs (2, 1 running)');
    expect(lines.at(-1)).toBe('↑/↓ or k/j select a run · Esc, q or w close · a approvals · ? help');
    expect(lines[at + 1]).toMatch(/^▸ review +● running +1\/3 steps \$0\.0012 \d\d:\d\d:\d\d wf_review$/);
    expect(lines[at + 2]).toMatch(/^ {2}nightly +✓ completed +6\/6 steps \$0\.05 \d\d:\d\d:\d\d wf_nightly$/);
    expect(f).toContain('review ● running · 1/3 steps done, 1 running, 1 failed · $0.0012 · 340 tok\n');
    const tree = lines.slice(lines.findIndex((l) => l.includes('1:parallel ')));
    expect(tree.slice(0, 6)).toEqual([
      '  ✗ 1:parallel failed 1/2 steps $0.0012 340 tok',
      '  ├─ ✓ 1:parallel[0] completed 1/1 steps $0.0012 340 tok',
      '  │ └─ ✓ 1:agent @coder completed $0.0012 340 tok Draft: the parser reads',
      '  └─ ✗ 1:parallel[1] failed 0/1 steps',
      '    └─ ✗ 1:agent @reviewer failed reviewer timed out',
      '  ● 2:summary step running',
    ]);
    app.stdin.write('j');
    const next = await frameWhere(frame, (x) => x.includes('▸ nightly'), 'the next run');
    expect(next).toContain('nightly ✓ completed · 6/6 steps done · $0.05 · 900 tok');
    expect(next).toContain('Reading its steps…');
    app.stdin.write('?');
    await frameWhere(frame, (x) => x.includes('workflow runs: ↑/↓ pick a run'), 'the help');
    app.stdin.write(ESC);
    await frameWhere(frame, (x) => x.includes('▸ nightly') && !x.includes('Keys'), 'the help closed over the panel');
    app.stdin.write(ESC);
    await frameWhere(frame, (x) => !x.includes('Workflow runs (') && x.includes('Activity'), 'the panel closed');
  });

  it('a paused run says why and how it goes on; no runs says how to start one', async () => {
    const ev = eventFactory();
    const paused = stateOf([snapshot, open, changed(ev, 'wf_p', 'paused', 'Paused at its budget: spent $2.5100 of $2.5'), { type: 'toggle-workflows', open: true }]);
    const f = show(paused).frame();
    expect(f).toMatch(/▸ review +◌ paused +0\/0 steps \$0/);
    expect(f).toContain('  Paused at its budget: spent $2.5100 of $2.5');
    expect(f).toContain('  tinyagi workflow resume wf_p goes on');
    expect(f).not.toContain('workflow running (w)');
    // A long reason wraps to two lines at most, the second cut.
    const long = `Paused at its budget: spent $0.0040 of $0.003. The steps already running finish; ${'then nothing new starts '.repeat(8)}`;
    const wrapped = show(stateOf([snapshot, open, changed(ev, 'wf_p', 'paused', long), { type: 'toggle-workflows', open: true }]), { width: 80 })
      .frame()
      .split('\n');
    const first = wrapped.findIndex((l) => l.startsWith('  Paused at its budget'));
    expect(wrapped[first]).toBe('  Paused at its budget: spent $0.0040 of $0.003. The steps already running');
    expect(wrapped[first + 1]).toMatch(/^ {2}finish; then nothing new starts .*…$/);
    expect(wrapped[first + 1]!.length).toBeLessThanOrEqual(80);
    expect(wrapped[first + 2]).toBe('  tinyagi workflow resume wf_p goes on');
    const none = show(stateOf([snapshot, open, { type: 'toggle-workflows', open: true }])).frame();
    expect(none).toContain('No workflow runs yet (tinyagi workflow run FILE starts one).');
  });

  it('fits the screen: 40 columns drop the start and id, 80x24 windows a long tree around its running step, nothing wider or taller than the screen', () => {
    const narrow = show({ ...twoRuns(), workflows: { ...twoRuns().workflows, panel: { open: true, runId: 'wf_review' } } }, { width: 40, height: 24 }).frame();
    for (const line of narrow.split('\n')) expect(line.length).toBeLessThanOrEqual(40);
    expect(narrow).toMatch(/▸ review +● running +1\/3 \$0\.0012\n/);
    expect(narrow).toContain('review ● running · 1/3 done · $0.0012\n');
    expect(narrow.split('\n').slice(0, 2)).toEqual(['TinyAGI all teams  ● live', '◆ 1 running (w)']);
    expect(narrow).not.toMatch(/\d\d:\d\d:\d\d/);
    // Forty-one steps in a chain, the last running; thirty-one runs.
    const ev = eventFactory();
    let state = stateOf([snapshot, open]);
    for (let i = 0; i < 30; i++) state = reduce(state, changed(ev, `wf_${String(i).padStart(2, '0')}`, 'completed', undefined, `flow-${i}`));
    state = [changed(ev, 'wf_long', 'running', undefined, 'a-long-workflow-name-that-goes-on-and-on'), { type: 'toggle-workflows', open: true } as Action].reduce(reduce, state);
    const steps = Array.from({ length: 41 }, (_, i) => step('wf_long', `${i + 1}:agent`, { status: i < 40 ? 'completed' : 'running', output: 'x'.repeat(300) }));
    state = reduce(state, { type: 'workflow-run', detail: { run: run('wf_long', { name: 'a-long-workflow-name-that-goes-on-and-on', createdAt: T0 + 99_000 }), steps } });
    const f = show(state, { width: 80, height: 24 }).frame();
    const lines = f.split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(f).toContain('● 41:agent @coder running');
    expect(f).toMatch(/\n {2}rows \d+-\d+ of 41 · all: tinyagi workflow show wf_long\n/);
    expect(f).toContain('▸ a-long-workflow-name-tha ● running');
  });
});
