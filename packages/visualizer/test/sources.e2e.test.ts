import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStore,
  initialChatState,
  initialState,
  layout,
  reduce,
  reduceChat,
  runTree,
  selectedConversation,
  startChatSource,
  startDashboardSource,
  stepCounts,
  type DashboardState,
} from '../src/index.ts';
import { cleanupTemp, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { startTeamDaemon } from './daemon.ts';

describe('sources against a real daemon', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startTeamDaemon();
  });
  afterAll(async () => {
    await daemon?.cleanup();
    cleanupTemp();
  });

  it('the dashboard loads agents and teams, then follows a handoff into the run tree', async () => {
    const client = daemon.api;
    const store = createStore(reduce, initialState('dev'), 50);
    const source = startDashboardSource(client, store);
    try {
      await waitFor(() => store.getState().connection.state === 'open' && store.getState().teams.length > 0, 30_000, 'the snapshot');
      expect(store.getState().agents['coder']).toMatchObject({ provider: 'mock', status: 'idle' });
      await client.sendMessage({ body: { message: 'please build it', team: 'dev' } });
      const tree = await waitFor(
        () => {
          const rows = runTree(selectedConversation(store.getState()));
          return rows.some((r) => r.agentId === 'reviewer' && r.status === 'completed') ? rows : undefined;
        },
        30_000,
        'the reviewer’s run to complete',
      );
      expect(tree.map((r) => [r.agentId, r.level, r.status])).toEqual([
        ['coder', 0, 'completed'],
        ['reviewer', 1, 'completed'],
      ]);
      expect(selectedConversation(store.getState())?.title).toBe('please build it');
      expect(store.getState().handoffs.at(-1)).toMatchObject({ from: 'coder', to: 'reviewer', hop: 1 });
    } finally {
      source.close();
      store.close();
    }
  });

  it('a dashboard started after handoffs happened begins with them in Handoffs and Activity', async () => {
    const client = daemon.api;
    // The first test's conversation handed off from coder to reviewer before this dashboard starts.
    await waitFor(async () => ((await client.listHandoffs()).length > 0 ? true : undefined), 30_000, 'a handoff in the log');
    const store = createStore(reduce, initialState(null), 50);
    const source = startDashboardSource(client, store);
    try {
      const state = await waitFor(() => (store.getState().handoffs.length > 0 ? store.getState() : undefined), 30_000, 'the earlier handoffs');
      expect(state.handoffs.at(-1)).toMatchObject({ from: 'coder', to: 'reviewer', hop: 1, teamId: 'dev' });
      expect(state.activity.map((a) => a.text)).toContain('@coder → @reviewer (hop 1)');
    } finally {
      source.close();
      store.close();
    }
  });

  it('an agent set to a sandbox while the dashboard runs gets its status from the daemon (settings.changed), its mark and why it is degraded', async () => {
    const client = daemon.api;
    const store = createStore(reduce, initialState(null), 50);
    const source = startDashboardSource(client, store);
    try {
      await waitFor(() => (store.getState().connection.state === 'open' && store.getState().agents['coder'] ? true : undefined), 30_000, 'the snapshot');
      // A mock agent runs inside the daemon: nothing to confine, on any machine.
      await client.putAgent({ params: { id: 'guard' }, body: { provider: 'mock', sandbox: 'on' } });
      const card = await waitFor(() => store.getState().agents['guard']?.sandbox, 15_000, 'the new agent’s sandbox status');
      expect(card).toMatchObject({
        setting: 'on',
        state: 'degraded',
        reason: expect.stringContaining('the mock runtime runs inside the daemon'),
        fix: expect.stringContaining('set its sandbox to "off"'),
      });
      const lines = layout(store.getState(), { width: 80, height: 24, now: Date.now() }).map((line) => line.map((s) => s.text).join(''));
      expect(lines.find((l) => l.includes('@guard ') && l.includes('idle'))).toContain('⚠ degraded');
      expect(lines.some((l) => l.startsWith('⚠ @guard sandbox degraded: the mock runtime runs inside the daemon'))).toBe(true);
      // Off again: the mark goes.
      await client.patchAgent({ params: { id: 'guard' }, body: { sandbox: null } });
      await waitFor(() => (store.getState().agents['guard'] && !store.getState().agents['guard']!.sandbox ? true : undefined), 15_000, 'the sandbox mark to go');
    } finally {
      source.close();
      store.close();
      await client.deleteAgent({ params: { id: 'guard' }, query: { workspace: 'delete' } }).catch(() => undefined);
    }
  });

  it('the dashboard follows a workflow run started through the API to completed: its row, the header, and its step tree in the Workflows panel', async () => {
    const client = daemon.api;
    const file = join(tempDir('tinyagi-vis-workflow-'), 'review.mjs');
    writeFileSync(
      file,
      `export default async (wf, input) => {
  const notes = await wf.agent('reviewer', 'review ' + input.topic);
  const verdict = await wf.agent('reviewer', 'check the review of ' + notes.length + ' characters');
  return { notes, verdict };
};
`,
    );
    const store = createStore(reduce, initialState(null), 50);
    const source = startDashboardSource(client, store);
    const screen = (state: DashboardState): string[] => layout(state, { width: 80, height: 24, now: Date.now() }).map((line) => line.map((s) => s.text).join(''));
    try {
      await waitFor(() => (store.getState().connection.state === 'open' && store.getState().teams.length > 0 ? true : undefined), 30_000, 'the snapshot');
      store.dispatch({ type: 'toggle-workflows', open: true });
      const { run } = await client.startWorkflow({ body: { file, input: { topic: 'the docs' } } });
      const rowOf = (state: DashboardState) => state.workflows.runs.find((r) => r.id === run.id);
      // Each step's mock reply takes 800 ms: the first is seen at work.
      const working = await waitFor(
        () => {
          const row = rowOf(store.getState());
          return row?.status === 'running' && stepCounts(row).running === 1 ? store.getState() : undefined;
        },
        30_000,
        'the run working on a step',
      );
      expect(screen(working)[0]).toContain('◆ 1 workflow running (w)');
      const done = await waitFor(
        () => {
          const state = store.getState();
          const steps = state.workflows.detail?.run.id === run.id ? state.workflows.detail.steps : [];
          return rowOf(state)?.status === 'completed' && steps.length === 2 && steps.every((s) => s.output !== null) ? state : undefined;
        },
        30_000,
        'the run completed with its steps read',
      );
      const { total, running, completed, failed, costUsd, tokens } = stepCounts(rowOf(done)!);
      expect({ total, running, completed, failed, costUsd: Math.round(costUsd * 10_000) / 10_000, tokens }).toEqual({ total: 2, running: 0, completed: 2, failed: 0, costUsd: 0.004, tokens: 50 });
      expect(rowOf(done)).toMatchObject({ name: 'review', described: true });
      const lines = screen(done);
      expect(lines[0]).not.toContain('workflow running');
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^▸ review +✓ completed +2/2 steps \\$0\\.0040 \\d\\d:\\d\\d:\\d\\d ${run.id}$`)));
      expect(lines).toContain('review ✓ completed · 2/2 steps done · $0.0040 · 50 tok');
      expect(lines).toContain('  ✓ 1:agent @reviewer completed $0.0020 25 tok Reviewed: looks good.');
      expect(lines).toContain('  ✓ 2:agent @reviewer completed $0.0020 25 tok Reviewed: looks good.');
      expect(done.activity.map((a) => a.text)).toEqual(expect.arrayContaining(['workflow review started (w: workflows)', 'workflow review completed']));
    } finally {
      source.close();
      store.close();
    }
    // A dashboard opened afterwards lists the run from the daemon, with its counts.
    const later = createStore(reduce, initialState(null), 50);
    const again = startDashboardSource(client, later);
    try {
      const row = await waitFor(() => later.getState().workflows.runs.find((r) => r.name === 'review'), 30_000, 'the run in the list');
      expect(row.status).toBe('completed');
      expect(stepCounts(row)).toMatchObject({ total: 2, completed: 2 });
    } finally {
      again.close();
      later.close();
    }
  });

  it('the chat room shows every message once, in order, across a daemon restart', async () => {
    const client = daemon.api;
    await client.postChatroom({ params: { id: 'dev' }, body: { message: 'before the viewer' } });
    const store = createStore(reduceChat, initialChatState('dev'), 50);
    const source = startChatSource(client, store);
    const texts = (): string[] =>
      store
        .getState()
        .messages.filter((m) => m.fromAgent === 'user')
        .map((m) => m.content);
    try {
      await waitFor(() => store.getState().connection.state === 'open' && texts().includes('before the viewer'), 30_000, 'the history');
      await source.post('one');
      await client.postChatroom({ params: { id: 'dev' }, body: { message: 'two' } });
      await waitFor(() => texts().includes('two'), 30_000, 'the live arrival');

      await daemon.stop();
      await waitFor(() => store.getState().connection.state === 'reconnecting', 30_000, 'reconnecting');
      await daemon.start();
      await waitFor(() => store.getState().connection.state === 'open', 30_000, 'open again');
      await client.postChatroom({ params: { id: 'dev' }, body: { message: 'three' } });
      await waitFor(() => texts().includes('three'), 30_000, 'a message after the restart');

      expect(texts()).toEqual(['before the viewer', 'one', 'two', 'three']);
      const ids = store.getState().messages.map((m) => m.id);
      expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    } finally {
      source.close();
      store.close();
    }
  });
});
