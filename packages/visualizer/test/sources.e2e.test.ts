/**
 * The sources against a real daemon (built CLI, mock agents): the dashboard's snapshot and live
 * events, and the chat room's exactly-once view across a daemon restart (the stream resumes
 * and a catch-up page repeats what the stream already brought).
 */
import { createApiClient } from '@tinyagi/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, initialChatState, initialState, reduce, reduceChat, runTree, selectedConversation, startChatSource, startDashboardSource } from '../src/index.ts';
import { startDaemon, type TestDaemon } from './helpers/daemon.ts';

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sources against a real daemon', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(() => daemon?.cleanup());

  it('the dashboard loads agents and teams, then follows a handoff into the run tree', async () => {
    const client = createApiClient({ baseUrl: daemon.url, token: daemon.token() });
    const store = createStore(reduce, initialState('dev'), 50);
    const source = startDashboardSource(client, store);
    try {
      await until(() => store.getState().connection.state === 'open' && store.getState().teams.length > 0, 'the snapshot');
      expect(store.getState().agents['coder']).toMatchObject({ provider: 'mock', status: 'idle' });
      await client.sendMessage({ body: { message: 'please build it', team: 'dev' } });
      const tree = await until(() => {
        const rows = runTree(selectedConversation(store.getState()));
        return rows.some((r) => r.agentId === 'reviewer' && r.status === 'completed') ? rows : undefined;
      }, 'the reviewer’s run to complete');
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

  it('the chat room shows every message once, in order, across a daemon restart', async () => {
    const client = createApiClient({ baseUrl: daemon.url, token: daemon.token() });
    await client.postChatroom({ params: { id: 'dev' }, body: { message: 'before the viewer' } });
    const store = createStore(reduceChat, initialChatState('dev'), 50);
    const source = startChatSource(client, store);
    const texts = (): string[] =>
      store
        .getState()
        .messages.filter((m) => m.fromAgent === 'user')
        .map((m) => m.content);
    try {
      await until(() => store.getState().connection.state === 'open' && texts().includes('before the viewer'), 'the history');
      await source.post('one');
      await client.postChatroom({ params: { id: 'dev' }, body: { message: 'two' } });
      await until(() => texts().includes('two'), 'the live arrival');

      daemon.cli('stop', '--timeout', '10');
      await until(() => store.getState().connection.state === 'reconnecting', 'reconnecting');
      daemon.cli('start');
      await until(() => store.getState().connection.state === 'open', 'open again');
      await client.postChatroom({ params: { id: 'dev' }, body: { message: 'three' } });
      await until(() => texts().includes('three'), 'a message after the restart');

      expect(texts()).toEqual(['before the viewer', 'one', 'two', 'three']);
      const ids = store.getState().messages.map((m) => m.id);
      expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    } finally {
      source.close();
      store.close();
    }
  });
});
