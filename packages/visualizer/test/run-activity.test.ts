/**
 * The selected run's live activity in the dashboard (the TUI's run view): its plan with the step
 * in progress, its latest tool calls with ⟳ running / ✓ done / ✗ failed and a failure's first
 * output line, per-call usage; rendered by Ink from states the real reducer built.
 */
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, Dashboard, initialState, reduce, type Action, type DashboardState } from '../src/index.ts';
import { AGENTS, eventFactory, T0, TEAMS } from './fixtures.ts';

const mounted: Array<{ unmount(): void }> = [];
afterEach(() => {
  while (mounted.length) mounted.pop()!.unmount();
});

const base: Action[] = [
  { type: 'snapshot', agents: AGENTS, teams: TEAMS, channels: [], queue: { pending: 0, processing: 0, dead: 0 } },
  { type: 'connection', state: 'open', info: { attempt: 0 } },
];

function frameOf(state: DashboardState, width = 100, height = 30): string {
  const app = render(h(Dashboard, { store: createStore(reduce, state), width, height, now: T0 + 5000, color: false }));
  mounted.push(app);
  return app.lastFrame() ?? '';
}

function working(): Action[] {
  const ev = eventFactory();
  const run = { conversationId: 'conv-1', runId: 'run-1', depth: 0, agentId: 'coder' };
  const p = (data: object) => ev('run.progress', { turn: 1, ...data } as never, run);
  return [
    ev('conversation.started', { channel: 'cli', sender: 'alice', teamId: 'dev' }, { conversationId: 'conv-1' }),
    ev('run.started', { cause: 'user', messageIds: ['m1'] }, run),
    p({
      type: 'plan',
      steps: [
        { text: 'reproduce the bug', status: 'completed' },
        { text: 'fix the parser', status: 'in_progress' },
        { text: 'run the tests', status: 'pending' },
      ],
    }),
    p({ type: 'tool', name: 'Read', id: 'c1', kind: 'file_read', title: 'src/parser.ts' }),
    p({ type: 'tool_result', id: 'c1', ok: true, output: 'export function parse' }),
    p({ type: 'tool', name: 'Bash', id: 'c2', kind: 'command', title: 'npm test' }),
    p({ type: 'tool_result', id: 'c2', ok: false, output: '\nFAIL parser.test.ts\nmore' }),
    p({ type: 'usage', inputTokens: 1200, outputTokens: 40, cacheReadTokens: 1000 }),
    p({ type: 'tool', name: 'Edit', id: 'c3', kind: 'file_edit', title: 'src/parser.ts' }),
  ].map((event): Action => ({ type: 'event', event }));
}

describe('run activity in the dashboard', () => {
  it('the plan, its steps, and the tool calls with their state, under the tree', () => {
    const f = frameOf([...base, ...working()].reduce(reduce, initialState(null)));
    const lines = f.split('\n');
    const head = lines.findIndex((l) => l.startsWith('Run activity @coder'));
    expect(head, f).toBeGreaterThan(-1);
    expect(lines[head]).toContain('3 tool calls · 1 model calls · 1.0k cached');
    expect(lines.slice(head + 1, head + 8).map((l) => l.trimEnd())).toEqual([
      '  plan 1/3: fix the parser',
      '    ✓ reproduce the bug',
      '    ▸ fix the parser',
      '    · run the tests',
      '  ✓ Read src/parser.ts',
      '  ✗ Bash npm test — FAIL parser.test.ts',
      '  ⟳ Edit src/parser.ts',
    ]);
    // The agent card still shows the latest line.
    expect(f).toMatch(/@coder\s+● working.*↳ Edit: src\/parser\.ts/);
  });

  it('fits a small screen: the latest calls win over the plan steps, nothing past the height', () => {
    const f = frameOf([...base, ...working()].reduce(reduce, initialState(null)), 50, 18);
    expect(f.split('\n').length).toBeLessThanOrEqual(18);
    expect(f).toContain('⟳ Edit');
  });

  it('a progress event for a conversation the dashboard does not show adds no conversation', () => {
    const ev = eventFactory();
    const state = [...base, { type: 'event', event: ev('run.progress', { type: 'tool', name: 'x', turn: 1 }, { conversationId: 'other', runId: 'r9', agentId: 'coder' }) } as Action].reduce(
      reduce,
      initialState(null),
    );
    expect(state.conversations).toEqual([]);
  });
});
