import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, initialChatState, initialState, layout, reduce, reduceChat, runTree, selectedConversation, startChatSource, startDashboardSource } from '../src/index.ts';
import { type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { startTeamDaemon } from './daemon.ts';

describe('sources against a real daemon', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startTeamDaemon();
  });
  afterAll(() => daemon?.cleanup());

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
