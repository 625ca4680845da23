/**
 * Quota holds on PostgreSQL: the store's contract (as on SQLite), and two nodes on one schema:
 * a hold one node records is in force on the other after it reloads (as it does on the
 * `runtime.quota` event), and a node started later (a restart) restores it. Each test has its
 * own schema. Under CI=1 an unreachable database fails.
 */
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPgStores, type PgStores } from '../src/compose/pg-stores.ts';
import type { Settings } from '../src/config/schema.ts';
import { resolveInvokeTarget } from '../src/invoker/resolve-target.ts';
import { QuotaBoard } from '../src/quotas/board.ts';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 6 });
afterAll(() => pool.end());

let schema = '';
const opened: PgStores[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  if (schema) await dropSchema(pool, schema);
  schema = '';
});

async function node(): Promise<PgStores> {
  const stores = await openPgStores({ url: db.url, schema, poolSize: 3 });
  opened.push(stores);
  return stores;
}

const settings = {
  agents: {
    a: { provider: 'mock', mock: { account: 'team-login' } },
    b: { provider: 'mock', mock: { account: 'team-login' } },
    c: { provider: 'mock', mock: { account: 'other-login' } },
  },
} as unknown as Settings;

const board = (stores: PgStores) => new QuotaBoard({ store: stores.quotas, events: stores.events, getSettings: () => settings, resolveTarget: resolveInvokeTarget, env: {} });

describe.skipIf(db.skip !== undefined)('quota holds on PostgreSQL', () => {
  it('puts, replaces, lists soonest first, prunes expired and removes', async () => {
    schema = testSchema('qh');
    const s = await node();
    const base = { runtime: 'mock', label: 'mock · x', limit: 'five_hour', message: 'limit', reportedBy: 'a' };
    await s.quotas.put({ ...base, account: 'mock:1', resetsAt: 5000 }, 1000);
    await s.quotas.put({ ...base, account: 'mock:2', resetsAt: 3000 }, 1000);
    const replaced = await s.quotas.put({ ...base, account: 'mock:1', resetsAt: 9000, limit: null }, 2000);
    expect(replaced).toMatchObject({ account: 'mock:1', resetsAt: 9000, limit: null, createdAt: 1000, updatedAt: 2000, status: 'exhausted' });
    expect((await s.quotas.list()).map((h) => h.account)).toEqual(['mock:2', 'mock:1']);
    expect(await s.quotas.prune(3000)).toBe(1);
    expect(await s.quotas.remove('mock:1')).toBe(true);
    expect(await s.quotas.remove('mock:1')).toBe(false);
    expect(await s.quotas.list()).toEqual([]);
  });

  it("one node's hold holds the account's agents on the other, and on a node started later", async () => {
    schema = testSchema('qh');
    const [one, two] = [await node(), await node()];
    const [b1, b2] = [board(one), board(two)];
    await b1.restore();
    await b2.restore();
    await b1.report('a', resolveInvokeTarget(settings, 'a', {}), { status: 'exhausted', resetsAt: Date.now() + 60_000, limit: 'five_hour' });
    expect([...b1.heldAgents()].sort()).toEqual(['a', 'b']);
    await b2.refresh();
    expect([...b2.heldAgents()].sort()).toEqual(['a', 'b']);
    const later = board(await node());
    await later.restore();
    expect(later.list()).toEqual([expect.objectContaining({ limit: 'five_hour', reportedBy: 'a', agents: ['a', 'b'] })]);
    // The account works again (a run got through): released everywhere after a reload.
    await b2.report('b', resolveInvokeTarget(settings, 'b', {}), { status: 'ok' }, Date.now() + 1);
    await b1.refresh();
    expect(b1.heldAgents().size).toBe(0);
    for (const b of [b1, b2, later]) b.stop();
    const statuses = (await one.events.readSince(0, { types: ['runtime.quota'] })).map((e) => e.data.status);
    expect(statuses).toEqual(['exhausted', 'released']);
  });
});
