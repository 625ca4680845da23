/**
 * The connection pool of one node (issue 33): nothing waits for a pooled connection while it
 * holds one, and LISTEN connections are not taken from the pool the transactions use.
 *
 * A small pool (`poolSize: 2`) with every connection held by an open transaction while the
 * queue and the event log start listening: the transactions' enqueues must finish. Before the
 * fix the LISTEN waited for a pooled connection and every enqueue waited for the LISTEN.
 */
import { waitFor } from '@tinyagi/test-kit';
import { isPostgresUrl } from '@tinyagi/client/contract';
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { EnqueueInput } from '../src/queue/types.ts';
import { pgNodes } from './pg-nodes.ts';
import { openPgStores } from '../src/compose/pg-stores.ts';

const db = await pgTestDatabase();
const nodes = pgNodes(db, 'pool');

const input = (i: number): EnqueueInput => ({ kind: 'user', agentId: 'a', conversationId: `c${i}`, channel: 'api', content: `m${i}` });

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Debian's folder of the local server's socket (docs/postgresql.md). */
const SOCKET_DIR = '/var/run/postgresql';
const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(db.url).hostname);

describe.skipIf(db.skip !== undefined)('one node’s pool (PostgreSQL)', () => {
  it.runIf(local)("a node on the database's machine reaches it through the server's Unix socket, by either URL form postgresql.md gives", async () => {
    nodes.fresh();
    await nodes.node(); // migrates the schema
    const { username, pathname } = new URL(db.url);
    for (const url of [`postgres://${username}@${encodeURIComponent(SOCKET_DIR)}${pathname}`, `postgres://${username}@localhost${pathname}?host=${SOCKET_DIR}`]) {
      expect(isPostgresUrl(url), url).toBe(true);
      const stores = await openPgStores({ url, schema: nodes.schema, poolSize: 2 });
      const probe = new pg.Client({ connectionString: url });
      try {
        const { id } = await stores.queue.enqueue(input(9));
        expect((await stores.queue.get(id))?.status).toBe('pending');
        await probe.connect();
        // No server address: the connection is the socket's, not TCP's.
        expect((await probe.query<{ a: string | null }>('SELECT inet_server_addr() AS a')).rows[0]!.a).toBeNull();
      } finally {
        await probe.end();
        await stores.close();
      }
    }
  });

  it('transactions holding every pooled connection enqueue while the queue and the event log start listening (pool_size 2)', async () => {
    nodes.fresh();
    await nodes.node(); // migrates the schema
    const stores = await openPgStores({ url: db.url, schema: nodes.schema, poolSize: 2 });
    try {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let holding = 0;
      let bothHeld!: () => void;
      const held = new Promise<void>((resolve) => (bothHeld = resolve));
      const txs = [0, 1].map((i) =>
        stores.transaction(async (tx) => {
          // The connection is taken: wait until the other transaction holds one too.
          if (++holding === 2) bothHeld();
          await gate;
          return tx.stores.queue.enqueue(input(i));
        }),
      );
      await within(held, 10_000, 'both transactions taking a connection');
      // A worker starting now (as after a restart, while requests are in flight): its LISTEN must not need the pool.
      let woken = 0;
      const stopWake = stores.queue.onWake(() => woken++);
      const unsubscribe = stores.events.subscribe(() => {});
      open();
      const results = await within(Promise.all(txs), 8_000, 'the enqueues of the transactions holding the pool');
      expect(results.map((r) => r.created)).toEqual([true, true]);
      // The wake-up comes by the NOTIFY or by the catch-up once listening: either way it comes.
      await waitFor(() => woken > 0, 8_000, 'a wake-up after the enqueues');
      // With every LISTEN up, the pool still serves two transactions at once.
      const again = await within(Promise.all([2, 3].map((i) => stores.transaction((tx) => tx.stores.queue.enqueue(input(i))))), 8_000, 'two more transactions');
      expect(again).toHaveLength(2);
      stopWake();
      unsubscribe();
    } finally {
      await stores.close();
    }
  });
});
