/**
 * Figures of the PostgreSQL event log across two nodes (not a test: run it by hand,
 * `node --conditions=tinyagi-source packages/core/test/measure-pg-events.ts`, against
 * TINYAGI_TEST_DATABASE_URL or the local test database): two `PgStores` (two pools) on one fresh
 * schema, dropped after. Prints the time from an append on node A to node B's subscriber, the
 * throughput of 16 concurrent writers (autocommit appends, transactions of 5 appends) with both
 * nodes subscribed, and one flush of 20,000 emitted events.
 */
import { DEFAULT_TEST_DATABASE_URL } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { openPgStores, type PgStores } from '../src/compose/pg-stores.ts';

const url = process.env.TINYAGI_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
const schema = `measure_${process.pid}`;
const admin = new pg.Pool({ connectionString: url, max: 1 });
const a = await openPgStores({ url, schema, poolSize: 10 });
const b = await openPgStores({ url, schema, poolSize: 10 });
const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!.toFixed(2);
const note = { type: 'system.notice' as const, data: { note: 'x' } };
try {
  const lat: number[] = [];
  const commit: number[] = [];
  let arrived: (() => void) | undefined;
  const unsubscribe = b.events.subscribe(() => arrived?.());
  for (let i = 0; i < 500; i++) {
    const got = new Promise<void>((r) => {
      arrived = r;
    });
    const t0 = performance.now();
    await a.events.append(note);
    commit.push(performance.now() - t0);
    await got;
    lat.push(performance.now() - t0);
  }
  unsubscribe();
  console.log(`500 sequential appends on A: committed p50 ${pct(commit, 50)} / p99 ${pct(commit, 99)} ms; at B's subscriber p50 ${pct(lat, 50)} / p99 ${pct(lat, 99)} ms after the call`);
  for (const inTx of [false, true]) {
    let seenA = 0;
    let seenB = 0;
    const ua = a.events.subscribe(() => seenA++);
    const ub = b.events.subscribe(() => seenB++);
    const per = 200;
    const writer = async (node: PgStores) => {
      for (let i = 0; i < per; i += inTx ? 5 : 1) {
        if (!inTx) await node.events.append(note);
        else
          await node.transaction(async (tx) => {
            for (let k = 0; k < 5; k++) await tx.stores.events.append(note);
          });
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => [writer(a), writer(b)]).flat());
    const t1 = performance.now();
    const total = 16 * per;
    while ((seenA < total || seenB < total) && performance.now() < t1 + 5000) await new Promise((r) => setTimeout(r, 5));
    ua();
    ub();
    const label = inTx ? 'transactions of 5 appends' : 'autocommit appends';
    console.log(`${label}: ${total} events from 16 writers on 2 nodes in ${(t1 - t0).toFixed(0)} ms = ${((total / (t1 - t0)) * 1000).toFixed(0)} events/s; published on A ${seenA}, on B ${seenB}`);
  }
  const t2 = performance.now();
  for (let i = 0; i < 20_000; i++) a.events.emit(note);
  await a.events.flush();
  console.log(`emit + flush of 20000 events: ${(performance.now() - t2).toFixed(0)} ms`);
} finally {
  await a.close();
  await b.close();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
