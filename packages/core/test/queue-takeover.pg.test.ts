/**
 * A lease of another node that stalled (alive but silent: SIGSTOP, its event loop held) on the
 * real PostgreSQL, the holder a real OS process: the lease is taken over only once the holder's
 * node is gone (its heartbeat expired), however long ago the lease itself expired; the run it
 * held is retried, not dead-lettered on its first attempt (max_attempts 1), and a second
 * takeover in a row ends it dead (a message that kills its worker every time runs twice).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { dropSchema, testSchema } from '@tinyagi/test-kit/pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeRegistry } from '../src/nodes/registry.ts';
import { PgQueueStore } from '../src/queue/pg-store.ts';
import { SqliteQueueStore } from '../src/queue/sqlite-store.ts';
import { openDatabase } from '../src/storage/database.ts';
import { migratePg } from '../src/storage/pg/migrate.ts';
import { twoNodePools } from './pg-pools.ts';

const { db, poolA } = await twoNodePools();
const FIXTURE = new URL('./fixtures/lease-holder-node.ts', import.meta.url).pathname;
const job = (content: string) => ({ kind: 'job' as const, agentId: 'a', conversationId: 'c', channel: 'api', content, maxAttempts: 1 });

describe.skipIf(db.skip !== undefined)('a lease of a stalled node (PostgreSQL)', () => {
  let schema: string;
  let child: ChildProcess | undefined;
  beforeEach(async () => {
    schema = testSchema('tk');
    await migratePg(poolA, schema);
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    child = undefined;
    await dropSchema(poolA, schema);
  });

  it('is taken over only once its node is gone, and its run is retried (max_attempts 1), not dead-lettered', async () => {
    const store = new PgQueueStore(poolA, { schema });
    const registry = new NodeRegistry(poolA, { schema });
    try {
      const { id } = await store.enqueue(job('long run'));
      const holder = fork(FIXTURE, [JSON.stringify({ url: db.url, schema, heartbeatMs: 2000, leaseMs: 300, renewMs: 100 })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child = holder;
      const said: Array<{ claimed?: string[]; nodeId?: string; lost?: string[] }> = [];
      holder.on('message', (m) => said.push(m as (typeof said)[number]));
      const { nodeId } = await waitFor(() => said.find((m) => m.claimed), 20_000, 'the holder claimed');
      expect(said[0]!.claimed).toEqual([id]);

      holder.kill('SIGSTOP');
      // Its lease runs out long before its node counts as gone (3 heartbeats of 2 s).
      await waitFor(async () => (await store.get(id))!.leaseExpiresAt! < Date.now(), 10_000, 'the lease expired');
      expect(await store.recoverExpiredLeases()).toEqual([]);
      expect((await registry.get(nodeId!))!.state).toBe('live');
      expect(await store.get(id)).toMatchObject({ status: 'processing', attempts: 1 });

      // Its heartbeat expires: the holder is gone, the lease is taken over and the run retried.
      await waitFor(async () => (await registry.get(nodeId!))!.state === 'stale', 20_000, 'the node went stale');
      expect(await store.recoverExpiredLeases()).toEqual([{ id, agentId: 'a', status: 'pending', attempts: 0 }]);
      expect(await store.get(id)).toMatchObject({ status: 'pending', lastFailure: 'worker_lost' });

      // The holder wakes: its next renewal finds the lease gone, and it touches nothing.
      holder.kill('SIGCONT');
      await waitFor(() => said.find((m) => m.lost), 20_000, 'the holder saw its lease lost');
      const [batch] = await store.claim({ owner: 'w-next', leaseMs: 60_000, maxAgents: 1, now: (await store.get(id))!.availableAt + 1 });
      expect(batch!.messages.map((m) => [m.id, m.attempts])).toEqual([[id, 1]]);
      await store.complete('w-next', [id]);
      expect((await store.get(id))!.status).toBe('completed');
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a second takeover in a row ends the message dead', async () => {
    const store = new PgQueueStore(poolA, { schema });
    try {
      await secondTakeoverEndsDead(store);
    } finally {
      await store.close();
    }
  });
});

describe('takeovers on SQLite', () => {
  afterEach(() => cleanupTemp());
  it('the first takeover of a max_attempts 1 message gives its attempt back; a second in a row ends it dead', async () => {
    const database = openDatabase({ path: join(tempDir(), 'q.db') });
    try {
      await secondTakeoverEndsDead(new SqliteQueueStore(database));
    } finally {
      database.close();
    }
  });
});

async function secondTakeoverEndsDead(store: PgQueueStore | SqliteQueueStore): Promise<void> {
  const { id } = await store.enqueue(job('kills its worker'));
  let now = Date.now();
  await store.claim({ owner: 'w1', leaseMs: 10, maxAgents: 1, now });
  expect(await store.recoverExpiredLeases(now + 20)).toEqual([{ id, agentId: 'a', status: 'pending', attempts: 0 }]);
  now = (await store.get(id))!.availableAt + 1;
  await store.claim({ owner: 'w1', leaseMs: 10, maxAgents: 1, now });
  expect(await store.recoverExpiredLeases(now + 20)).toEqual([{ id, agentId: 'a', status: 'dead', attempts: 1 }]);
  expect((await store.get(id))!.lastError).toMatch(/lease expired/);
}
