import { stripVTControlCharacters } from 'node:util';
/**
 * The dashboard's frames, rendered by Ink into ink-testing-library's fake terminal from states
 * built by the real reducer out of daemon-shaped events.
 */
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '@tinyagi/client';
import { createStore, Dashboard, initialState, RECONNECT, reduce, type Action, type DashboardActions, type DashboardState } from '../src/index.ts';
import { AGENTS, eventFactory, handoffEvents, subagentEvents, T0, TEAMS } from './fixtures.ts';

const ESC = '\u001b';
const open: Action = { type: 'connection', state: 'open', info: { attempt: 0 } };

function stateOf(actions: Action[], team: string | null = null): DashboardState {
  return actions.reduce(reduce, initialState(team));
}

const mounted: Array<{ unmount(): void }> = [];
afterEach(() => {
  while (mounted.length) mounted.pop()!.unmount();
});

function show(state: DashboardState, props: { width?: number; height?: number; color?: boolean; now?: number; actions?: DashboardActions } = {}) {
  const store = createStore(reduce, state);
  const app = render(h(Dashboard, { store, width: 80, height: 24, now: T0 + 5000, color: false, ...props }));
  mounted.push(app);
  return { store, app, frame: () => app.lastFrame() ?? '' };
}

/** Waits for a frame that satisfies `check` (the store draws on its next frame tick). */
async function frameWhere(frame: () => string, check: (f: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (!check(frame())) {
    if (Date.now() > deadline) throw new Error(`no frame with ${what}; last frame:\n${frame()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return frame();
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

const snapshot: Action = {
  type: 'snapshot',
  agents: AGENTS,
  teams: TEAMS,
  channels: [{ name: 'telegram', running: true, state: 'connected', restarts: 0 }],
  queue: { pending: 0, processing: 0, dead: 0 },
};

describe('dashboard frames', () => {
  it('idle: every agent idle with provider/model, the leader starred, the connection live', () => {
    const { frame } = show(stateOf([snapshot, open]));
    const f = frame();
    expect(f).toContain('● live');
    expect(f).toContain('all teams');
    expect(f).toMatch(/★ @coder\s+○ idle\s+mock\/scripted/);
    expect(f).toMatch(/ {2}@reviewer\s+○ idle\s+anthropic\/sonnet/);
    expect(f).toContain('queue 0 · processing 0 · dead 0 · pickup –');
    expect(f).toContain('No conversations yet.');
    expect(f).toContain('telegram ✓ connected');
    expect(f).toContain('q quit');
  });

  it('channels in the status words of every surface: connected, reconnecting with the attempt and error, disabled drawn as such', () => {
    const channels = [
      { name: 'discord', running: true, state: 'connected' as const, restarts: 0 },
      { name: 'slack', running: false, state: 'disabled' as const, restarts: 0 },
      { name: 'telegram', running: true, state: 'reconnecting' as const, attempt: 3, restarts: 2, lastError: 'ECONNREFUSED' },
    ];
    const { frame } = show(stateOf([{ ...snapshot, channels } as Action, open]), { width: 140 });
    const f = frame();
    expect(f).toContain('telegram ⟳ reconnecting (attempt 3: ECONNREFUSED)');
    expect(f).toContain('discord ✓ connected');
    expect(f).toContain('slack · disabled');
    expect(f).not.toMatch(/slack ✗/);
  });

  it('a live handoff: the arrow, the working agent with its progress line and elapsed time, the tree, pickup latency', async () => {
    const ev = eventFactory();
    const { store, frame } = show(stateOf([snapshot, open], 'dev'));
    await frameWhere(frame, (f) => f.includes('No conversations yet.'), 'the empty team');
    for (const event of handoffEvents(ev)) store.dispatch({ type: 'event', event });
    const f = await frameWhere(frame, (f) => f.includes('─▶'), 'the handoff arrow');
    expect(f).toContain('#dev');
    expect(f).toMatch(/Handoffs @coder ─▶ @reviewer hop 1/);
    // @reviewer started 8 events * 100 ms after T0; the clock is at T0 + 5 s.
    expect(f).toMatch(/@reviewer\s+● working 4s\s+anthropic\/sonnet\s+↳ Reading the diff…/);
    expect(f).toMatch(/★ @coder\s+○ idle \d+s\s+mock\/scripted\s+↳ done \(20 tok\)/);
    expect(f).toMatch(/Conversation 1\/1 "please build the login page" active/);
    expect(f).toMatch(/\n {2}@coder d0 completed 120 tok \$0\.0012/);
    expect(f).toMatch(/▸ └─ @reviewer d0 running/);
    expect(f).toContain('pickup 100ms');
    expect(f).toContain('@coder → @reviewer (hop 1)');
  });

  it('a sub-agent tree: depth, nesting, names, tokens and cost of each run', () => {
    const ev = eventFactory();
    const { frame } = show(stateOf([snapshot, open, ...subagentEvents(ev).map((event): Action => ({ type: 'event', event }))]));
    const f = frame();
    const lines = f.split('\n');
    const root = lines.findIndex((l) => /@solo d0 running/.test(l));
    expect(root).toBeGreaterThan(-1);
    // Fan-out: the root's first sub-agent has a sibling after it (├─, and a │ past its own child); the last one is └─.
    expect(lines[root + 1]).toMatch(/^▸ ├─ ⤷ researcher \(@solo\) d1 running/);
    expect(lines[root + 2]).toMatch(/^ {2}│ └─ ⤷ fact-checker \(@solo\) d2 completed 1\.8k tok \$0\.02/);
    expect(lines[root + 3]).toMatch(/^ {2}└─ ⤷ researcher \(@solo\) d1 cancelled/);
    expect(f).toContain('sub-agent researcher started (depth 1/3)');
    // A cancelled sub-agent ends in subagent.failed with status cancelled: shown as cancelled.
    expect(f).toMatch(/└─ ⤷ researcher \(@solo\) d1 cancelled .*cancelled by request/);
  });

  it('a handoff or room delivery that was not made is an activity line of its own, saying why', () => {
    const ev = eventFactory();
    const run = { conversationId: 'conv-1', runId: 'run-1', depth: 0, agentId: 'coder' };
    const events = [
      ev('handoff.undelivered', { fromAgent: 'coder', toAgent: 'vault', kind: 'mention', room: null, code: 'CALL_NOT_ALLOWED', reason: '@lead may not call @vault' }, run),
      ev('handoff.undelivered', { fromAgent: 'coder', toAgent: 'solo', kind: 'chatroom', room: 'dev', code: 'CALL_NOT_ALLOWED', reason: '@coder may not call @solo' }, run),
    ];
    const { frame } = show(stateOf([snapshot, open, ...events.map((event): Action => ({ type: 'event', event }))]), { width: 140 });
    expect(frame()).toContain("@coder's message to @vault was not delivered: @lead may not call @vault");
    expect(frame()).toContain("@coder's chat-room post to #dev for @solo was not delivered: @coder may not call @solo");
  });

  it('a refused auto-merge is an activity line naming the task and why', () => {
    const ev = eventFactory();
    const refused = ev('task.auto_merge_refused', { taskId: 't1', identifier: 'WEB-1', projectId: 'p1', code: 'INVALID_STATE', message: 'Merging task WEB-1 would replace notes.txt', retryAt: 1 }, {});
    const { frame } = show(stateOf([snapshot, open, { type: 'event', event: refused }]), { width: 140 });
    expect(frame()).toContain('WEB-1: auto-merge refused (INVALID_STATE): Merging task WEB-1 would replace notes.txt');
  });

  it("nodes asking each other for a task's step are internal: no activity line", () => {
    const ev = eventFactory();
    const events = [
      ev('node.asked', { id: 'ask_1', node: 'wk1', kind: 'task-step', taskId: 't1', args: { requestId: 'step_1' } }, {}),
      ev('node.answered', { id: 'ask_1', node: 'wk1', ok: false, error: { code: 'INVALID_STATE', message: 'carried out already' } }, {}),
    ];
    const before = stateOf([snapshot, open]);
    const after = stateOf([snapshot, open, ...events.map((event): Action => ({ type: 'event', event }))]);
    expect(after.activity).toEqual(before.activity);
    expect(show(after, { width: 140 }).frame()).not.toContain('ask_1');
  });

  it('a failure: the agent in error with the reason, the failed run, the dead letter counted', () => {
    const ev = eventFactory();
    const conv = { conversationId: 'conv-9' };
    const run = { ...conv, runId: 'run-9', depth: 0, agentId: 'solo' };
    const events = [
      ev('conversation.started', { channel: 'cli', sender: 'eve', teamId: null }, conv),
      ev('run.started', { cause: 'message', messageIds: ['x'] }, run),
      ev('run.failed', { cause: 'message', inputTokens: 5, outputTokens: 0, costUsd: 0, error: 'provider exploded' }, run),
      ev(
        'queue.dead',
        { messageId: 'x', reason: 'provider exploded', attempts: 3, maxAttempts: 3, rateLimitWaits: 0, maxRateLimitWaits: 5, kind: 'user', failure: 'failed' },
        { ...conv, agentId: 'solo' },
      ),
      ev('conversation.completed', { status: 'failed', replyMode: 'each', hops: 0, messages: 1, spawns: 0, inputTokens: 5, outputTokens: 0, costUsd: 0, reason: 'provider exploded' }, conv),
    ];
    const { frame } = show(stateOf([snapshot, open, ...events.map((event): Action => ({ type: 'event', event }))]));
    const f = frame();
    expect(f).toMatch(/@solo\s+✗ error \d+s\s+openai\/gpt\s+provider exploded/);
    expect(f).toMatch(/@solo d0 failed .*provider exploded/);
    expect(f).toContain('dead 1');
    expect(f).toMatch(/Conversation 1\/1 .*failed/);
    expect(f).toContain('dead letter x (failed): provider exploded');
  });

  it('the selected conversation stays put while another one updates; one without a title is shown by its name, not its id', async () => {
    const ev = eventFactory();
    const { store, frame } = show(stateOf([snapshot, open, ...handoffEvents(ev).map((event): Action => ({ type: 'event', event }))]));
    expect(frame()).toMatch(/Conversation 1\/1 "please build the login page"/);
    // Another conversation starts and keeps updating (a chat-room one: no message.received, no title).
    const conv = { conversationId: 'conv-9' };
    const run = { ...conv, runId: 'run-9', depth: 0, agentId: 'reviewer' };
    store.dispatch({ type: 'event', event: ev('conversation.started', { channel: 'chatroom', sender: 'coder', teamId: 'dev' }, { ...conv, agentId: 'coder' }) });
    store.dispatch({ type: 'event', event: ev('run.started', { cause: 'chatroom', messageIds: ['m9'] }, run) });
    store.dispatch({ type: 'event', event: ev('run.completed', { cause: 'chatroom', inputTokens: 1, outputTokens: 1, costUsd: 0 }, run) });
    const f = await frameWhere(frame, (f) => f.includes('1 newer'), 'the newer conversation pointed at');
    expect(f).toMatch(/Conversation 2\/2 "please build the login page" active/);
    store.dispatch({ type: 'cycle-conversation', step: -1 });
    const other = await frameWhere(frame, (f) => f.includes('Conversation 1/2'), 'the newer conversation');
    expect(other).toContain('Conversation 1/2 #dev · chatroom · coder active');
    expect(other).not.toContain('conv-9');
  });

  it('reconnecting: the wait counts down to the next try, and the dashboard reconnects within ~3 s however long the daemon is away', async () => {
    const { store, app, frame } = show(stateOf([snapshot, open]), { now: T0 });
    store.dispatch({ type: 'connection', state: 'reconnecting', info: { attempt: 4, retryInMs: 2800 }, at: T0 });
    expect(await frameWhere(frame, (f) => f.includes('reconnecting'), 'reconnecting')).toContain('⟳ reconnecting (try 4, in 3s)');
    app.rerender(h(Dashboard, { store, width: 80, height: 24, now: T0 + 1000, color: false }));
    await frameWhere(frame, (f) => f.includes('(try 4, in 2s)'), 'one second less');
    app.rerender(h(Dashboard, { store, width: 80, height: 24, now: T0 + 2500, color: false }));
    await frameWhere(frame, (f) => f.includes('(try 4, in 1s)'), 'counted down');
    // The backoff the source subscribes with: capped like TinyOffice's, jittered.
    for (let attempt = 0; attempt < 20; attempt++) expect(backoffDelay(attempt, RECONNECT)).toBeLessThanOrEqual(3000);
    expect(backoffDelay(20, RECONNECT, () => 0)).toBeGreaterThanOrEqual(1500);
  });

  it('Handoffs and Activity start with the earlier handoffs the API lists; a live one is added once, even when the list had it', async () => {
    const ev = eventFactory(100);
    const earlier = (id: number, fromAgent: string, toAgent: string) => ({
      id,
      ts: T0 + id,
      conversationId: 'conv-0',
      runId: 'run-0',
      childRunId: `run-${id}`,
      fromAgent,
      toAgent,
      hop: 1,
      teamId: 'dev',
    });
    const { store, frame } = show(stateOf([snapshot, open, { type: 'history', handoffs: [earlier(7, 'coder', 'reviewer'), earlier(9, 'reviewer', 'coder')] }]));
    const f = frame();
    expect(f).toMatch(/Handoffs @coder ─▶ @reviewer hop 1 {2}@reviewer ─▶ @coder hop 1/);
    expect(f.indexOf('@coder → @reviewer (hop 1)')).toBeLessThan(f.indexOf('@reviewer → @coder (hop 1)'));
    // The stream then brings a new handoff, and (as after a reconnect's refresh) the list again.
    store.dispatch({
      type: 'event',
      event: ev('agent.mention', { teamId: 'dev', fromAgent: 'coder', toAgent: 'solo', hop: 2, messageId: 'm', childRunId: 'run-x' }, { conversationId: 'conv-0', runId: 'run-0', agentId: 'coder' }),
    });
    store.dispatch({ type: 'history', handoffs: [earlier(9, 'reviewer', 'coder'), { ...earlier(100, 'coder', 'solo'), hop: 2 }] });
    const g = await frameWhere(frame, (x) => x.includes('@coder → @solo (hop 2)'), 'the live handoff');
    expect(count(g, '@coder → @solo (hop 2)')).toBe(1);
    expect(store.getState().handoffs.map((h) => h.id)).toEqual([7, 9, 100]);
  });

  it('the selected run of a CLI agent says what p cannot do inside its turn, before p is pressed; steering shows in Activity with who sent it', async () => {
    const ev = eventFactory();
    const events = handoffEvents(ev).map((event): Action => ({ type: 'event', event }));
    const note = 'A CLI agent cannot pause mid-turn: its current turn runs to the end and the answer is held, not posted, until you resume.';
    const commands = [
      { command: 'pause' as const, allowed: true, midTurn: false, note },
      { command: 'resume' as const, allowed: true, midTurn: false, note: 'Lets the paused run go on.' },
    ];
    const steering: Action = { type: 'steering', steering: { runId: 'run-2', agentId: 'reviewer', runtime: 'claude-code', status: 'running', paused: false, commands } };
    const steered = ev('run.steered', { command: 'inject', accepted: true, text: 'check the links', by: 'TinyOffice' }, { conversationId: 'conv-1', runId: 'run-2', agentId: 'reviewer' });
    const { frame } = show(stateOf([snapshot, open, ...events, steering, { type: 'event', event: steered }]), { width: 200 });
    expect(frame()).toContain(`p: ${note}`);
    expect(frame()).toContain('@reviewer inject by TinyOffice accepted: check the links');
  });

  it('a cancelled conversation says so in the tree head, with who cancelled it', () => {
    const ev = eventFactory();
    const events = handoffEvents(ev);
    const done = ev(
      'conversation.completed',
      { status: 'cancelled', reason: 'cancelled by TinyOffice', replyMode: 'each', hops: 1, messages: 2, spawns: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
      { conversationId: 'conv-1' },
    );
    const { frame } = show(stateOf([snapshot, open, ...[...events, done].map((event): Action => ({ type: 'event', event }))]), { width: 120 });
    expect(frame()).toContain('"please build the login page" cancelled (cancelled by TinyOffice)');
  });

  it('reconnecting: the header says so, with the try count and the wait; back to live when it opens', async () => {
    const { store, frame } = show(stateOf([snapshot, open]));
    store.dispatch({ type: 'connection', state: 'reconnecting', info: { attempt: 2, retryInMs: 1500 } });
    expect(await frameWhere(frame, (f) => f.includes('reconnecting'), 'reconnecting')).toContain('⟳ reconnecting (try 2, in 1.5s)');
    store.dispatch(open);
    expect(await frameWhere(frame, (f) => f.includes('● live'), 'live again')).not.toContain('reconnecting');
  });

  it('fits 80x24 however much there is to show', () => {
    const ev = eventFactory();
    const agents = Array.from({ length: 30 }, (_, i) => ({ id: `agent-${i}`, provider: 'mock' }));
    const story = handoffEvents(ev).map((event): Action => ({ type: 'event', event }));
    const noise = Array.from({ length: 300 }, (_, i) => ({ type: 'event', event: ev('system.notice', { level: 'info', message: `notice ${i} ${'x'.repeat(100)}` }) }) as Action);
    const { frame } = show(stateOf([{ ...snapshot, agents }, open, ...story, ...noise]));
    const lines = frame().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(frame()).toMatch(/… \d+ more/);
    expect(frame()).toContain('notice 299');
    expect(frame()).toContain('q quit');
  });

  it('50 agents on a tall terminal: the rows the other sections leave empty list more agents; a busy screen keeps its sections', () => {
    const ev = eventFactory();
    const agents = Array.from({ length: 50 }, (_, i) => ({ id: `a${String(i + 1).padStart(2, '0')}`, provider: 'mock' }));
    const quiet = show(stateOf([{ ...snapshot, agents }, open]), { width: 120, height: 40 }).frame();
    expect(quiet.split('\n').length).toBeLessThanOrEqual(40);
    expect(quiet).toContain('@a30');
    expect(quiet).toMatch(/… 1[0-9] more/);
    // The same agents with a screenful of activity: the agents keep their share (7 and a line), the activity the rest.
    const noise = Array.from({ length: 100 }, (_, i) => ({ type: 'event', event: ev('system.notice', { level: 'info', message: `notice ${i}` }) }) as Action);
    const busy = show(stateOf([{ ...snapshot, agents }, open, ...noise]), { width: 120, height: 40 }).frame();
    expect(busy).toContain('… 43 more');
    expect(busy).toContain('notice 99');
  });

  it('runs in flight when it opens: their agents work since their run started; an event about another run of the agent wins', () => {
    const ev = eventFactory();
    const running: Action = {
      type: 'snapshot',
      running: [
        { runId: 'r-coder', agentId: 'coder', startedAt: T0 + 5000 - 300_000 },
        { runId: 'r-solo', agentId: 'solo', startedAt: T0 + 5000 - 90_000 },
      ],
    };
    // solo's run ended and a newer one began before the snapshot came back: its events know better.
    const later = ev('run.started', { messageIds: ['m1'] } as never, { agentId: 'solo', runId: 'r-solo-2', conversationId: 'c1' }, T0 + 4000);
    const f = show(stateOf([snapshot, open, { type: 'event', event: later }, running])).frame();
    expect(f).toMatch(/@coder\s+● working 5m00s/);
    expect(f).toMatch(/@solo\s+● working 1s/);
    expect(f).toMatch(/@reviewer\s+○ idle/);
  });

  it('degrades at 40 columns: no provider column, two-line header, short key hints, nothing wider than the screen', () => {
    const ev = eventFactory();
    const { frame } = show(stateOf([snapshot, open, ...handoffEvents(ev).map((event): Action => ({ type: 'event', event }))], 'dev'), { width: 40 });
    const f = frame();
    for (const line of f.split('\n')) expect(line.length).toBeLessThanOrEqual(40);
    expect(f).not.toContain('anthropic/sonnet');
    expect(f).toContain('@coder ─▶ @reviewer');
    expect(f).toContain('? help · q quit');
    expect(f.split('\n')[1]).toContain('queue 0');
  });

  it('NO_COLOR: not one escape code, and the statuses still read (symbols and words)', () => {
    const ev = eventFactory();
    const state = stateOf([snapshot, open, ...handoffEvents(ev).map((event): Action => ({ type: 'event', event }))]);
    const plain = show(state, { color: false }).frame();
    expect(plain).not.toContain(ESC);
    expect(plain).toContain('● working');
    expect(plain).toContain('○ idle');
    // The same screen in colour does carry codes (FORCE_COLOR is set for these tests).
    const coloured = show(state, { color: true }).frame();
    expect(coloured).toContain(ESC);
    expect(stripVTControlCharacters(coloured)).toBe(plain);
  });

  it('keys: c and r pick the conversation and run, x cancels the selected run through the actions, ? toggles help, q quits', async () => {
    const ev = eventFactory();
    const calls: string[] = [];
    const actions: DashboardActions = {
      cancelRun: async (runId) => {
        calls.push(`cancel ${runId}`);
        return `Run ${runId}: cancelled.`;
      },
      steerRun: async (runId, command) => {
        calls.push(`${command} ${runId}`);
        return `Run ${runId}: ${command} accepted.`;
      },
    };
    const events = [...handoffEvents(ev), ...subagentEvents(ev)].map((event): Action => ({ type: 'event', event }));
    const { app, frame } = show(stateOf([snapshot, open, ...events]), { actions });
    // The first conversation shown stays shown; the newer one is pointed at.
    expect(frame()).toMatch(/Conversation 2\/2 "please build the login page" active .* · 1 newer \(C\)/);
    app.stdin.write('C');
    await frameWhere(frame, (f) => /Conversation 1\/2 cli · bob /.test(f), 'the newer conversation, by its name');
    app.stdin.write('c');
    await frameWhere(frame, (f) => /Conversation 2\/2 /.test(f), 'the first conversation again');
    app.stdin.write('r');
    await frameWhere(frame, (f) => /▸ @coder d0/.test(f), 'the root run selected');
    app.stdin.write('x');
    await frameWhere(frame, (f) => f.includes('Run run-1: cancelled.'), 'the cancel notice');
    app.stdin.write('r');
    await frameWhere(frame, (f) => /▸ └─ @reviewer/.test(f), 'the child run selected');
    app.stdin.write('p');
    await frameWhere(frame, (f) => f.includes('pause accepted'), 'the pause notice');
    expect(calls).toEqual(['cancel run-1', 'pause run-2']);
    app.stdin.write('?');
    expect(await frameWhere(frame, (f) => f.includes('Keys'), 'the help')).toContain('cancel the selected run');
    app.stdin.write(ESC);
    await frameWhere(frame, (f) => !f.includes('Keys'), 'the help closed');
    app.stdin.write('t');
    await frameWhere(frame, (f) => f.includes('#dev'), 'the next team');
  });
});

describe('dashboard store and reducer', () => {
  it('draws one frame for a burst of 1,000 events, with the latest state', async () => {
    const ev = eventFactory();
    const store = createStore(reduce, stateOf([snapshot, open]), 10);
    let frames = 0;
    store.subscribe(() => (frames += 1));
    for (let i = 0; i < 1000; i++) store.dispatch({ type: 'event', event: ev('run.progress', { type: 'status', message: `step ${i}`, turn: 1 }, { runId: 'r', agentId: 'coder' }) });
    await new Promise<void>((resolve) => store.subscribe(resolve));
    expect(frames).toBe(1);
    expect(store.getState().agents['coder']?.progress).toBe('step 999');
    store.close();
  });

  it('keeps every collection bounded (flat memory however long it runs)', () => {
    const ev = eventFactory();
    let state = stateOf([snapshot, open]);
    for (let i = 0; i < 20_000; i++) {
      const conv = `c${i % 400}`;
      state = reduce(state, { type: 'event', event: ev('message.enqueued', { messageId: `m${i}`, kind: 'user', channel: 'cli', teamId: null }, { conversationId: conv, agentId: 'coder' }) });
      state = reduce(state, {
        type: 'event',
        event: ev(
          'agent.mention',
          { teamId: 'dev', fromAgent: 'coder', toAgent: 'reviewer', hop: 1, messageId: `m${i}`, childRunId: `run-${i}` },
          { conversationId: conv, runId: `p${i}`, agentId: 'coder' },
        ),
      });
    }
    expect(state.activity.length).toBeLessThanOrEqual(200);
    expect(state.handoffs.length).toBeLessThanOrEqual(20);
    expect(state.conversations.length).toBeLessThanOrEqual(50);
    expect(state.pendingPickups.length).toBeLessThanOrEqual(256);
    for (const c of state.conversations) expect(c.tree.nodes.size).toBeLessThanOrEqual(200);
  });

  it('ignores an event it has already applied (a snapshot replayed after a reconnect)', () => {
    const ev = eventFactory();
    const events = handoffEvents(ev).map((event): Action => ({ type: 'event', event }));
    const once = stateOf([snapshot, ...events]);
    expect(stateOf([snapshot, ...events, ...events])).toEqual(once);
  });
});
