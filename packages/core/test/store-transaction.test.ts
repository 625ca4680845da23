/**
 * The backend-neutral transaction of the stores (docs/storage.md) on SQLite: `stores.transaction`
 * hands the callback the stores, and queue completion effects receive the completion's
 * transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import type { StoreSet } from '../src/compose/store-set.ts';

let dir: string;
let stores: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-stx-'));
  stores = openStores({ dbPath: join(dir, 's.db') });
});
afterEach(() => {
  stores.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Written against the interface only, as backend-neutral code is. */
async function startConversation(set: StoreSet, id: string, fail: boolean): Promise<void> {
  await set.transaction(async (tx) => {
    await tx.stores.runs.createConversation({ id, rootAgentId: 'a', channel: 'api' });
    await tx.stores.events.append({ type: 'conversation.started', conversationId: id, agentId: 'a', data: { channel: 'api', sender: '', teamId: null } });
    await tx.transaction(async (sp) => {
      await sp.stores.runs.updateConversation(id, { awaitingDecision: true });
    });
    if (fail) throw new Error('rolled back');
  });
}

it('commits a transaction written against StoreSet, publishes its events after the commit, rolls back on a throw', async () => {
  const seen: string[] = [];
  stores.events.subscribe((e) => seen.push(`${e.type}:${e.conversationId}`));
  await startConversation(stores, 'conv_ok', false);
  await expect(startConversation(stores, 'conv_bad', true)).rejects.toThrow('rolled back');
  await stores.whenDurable();
  expect(stores.runs.getConversation('conv_ok')).toMatchObject({ awaitingDecision: true });
  expect(stores.runs.getConversation('conv_bad')).toBeUndefined();
  expect(seen).toEqual(['conversation.started:conv_ok']);
});

it('gives completion effects the transaction: their writes and callbacks commit with the completion, a returned promise is refused', async () => {
  await stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c1', channel: 'api', content: 'one' });
  await stores.queue.enqueue({ kind: 'user', agentId: 'b', conversationId: 'c2', channel: 'api', content: 'two' });
  const batches = await stores.queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 10 });
  const ids = (agent: string) => batches.find((b) => b.agentId === agent)!.messages.map((m) => m.id);
  const calls: string[] = [];
  const errors = await stores.queue.completeMany([
    {
      owner: 'w',
      ids: ids('a'),
      effects: (tx) => {
        tx.stores.runs.createConversation({ id: 'conv_from_effects', rootAgentId: 'a', channel: 'api' });
        tx.afterCommit(() => calls.push('committed'));
      },
    },
    { owner: 'w', ids: ids('b'), effects: async () => undefined },
  ]);
  await stores.whenDurable();
  expect(errors[0]).toBeUndefined();
  expect(errors[1]).toBeInstanceOf(TypeError);
  expect(calls).toEqual(['committed']);
  expect(stores.runs.getConversation('conv_from_effects')).toBeDefined();
  expect((await stores.queue.get(ids('a')[0]!))?.status).toBe('completed');
  expect((await stores.queue.get(ids('b')[0]!))?.status).toBe('processing');
});
