/**
 * The PostgreSQL event log across nodes: two `PgStores` (two pools, as two nodes or processes)
 * on one schema. Every subscriber must see every committed event once, in one global id order,
 * and a resume from any id (the SSE route: `lastId`, subscribe, `readSince`) must leave no gap,
 * also while both nodes write concurrently, while a transaction holding an event is open, and
 * when the listening connection is lost.
 */
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import { describe, expect, it, vi } from 'vitest';
import type { TinyEvent } from '../src/events/types.ts';
import type { PgStores } from '../src/compose/pg-stores.ts';
import { pgNodes } from './pg-nodes.ts';

const db = await pgTestDatabase();
const nodes = pgNodes(db, 'ev');
const { admin, twoNodes } = nodes;

const notice = (note: string) => ({ type: 'system.notice' as const, data: { note } });
const notes = (events: readonly TinyEvent[]) => events.map((e) => (e.data as { note: string }).note);

/** What the SSE route does for a client resuming at `from`: subscribe, replay from the table, then forward live events above the last sent. */
function resumeAt(stores: PgStores, from: number): { sent: TinyEvent[]; done: Promise<void>; stop: () => void } {
  const sent: TinyEvent[] = [];
  const live: TinyEvent[] = [];
  let lastSent = from;
  let replaying = true;
  const send = (e: TinyEvent) => {
    if (e.id <= lastSent) return;
    sent.push(e);
    lastSent = e.id;
  };
  const stop = stores.events.subscribe((e) => (replaying ? live.push(e) : send(e)));
  const done = (async () => {
    for (;;) {
      const page = await stores.events.readSince(lastSent, {}, 7);
      for (const e of page) send(e);
      if (page.length < 7) break;
    }
    replaying = false;
    for (const e of live) send(e);
  })();
  return { sent, done, stop };
}

describe.skipIf(db.skip !== undefined)('PostgreSQL event log across nodes', () => {
  it('events written concurrently on two nodes reach a subscriber on each in one id order, each once; a resume mid-way has no gap', async () => {
    const [a, b] = await twoNodes();
    const start = await a.events.lastId();
    const seenA: TinyEvent[] = [];
    const seenB: TinyEvent[] = [];
    a.events.subscribe((e) => seenA.push(e));
    b.events.subscribe((e) => seenB.push(e));
    let resume: ReturnType<typeof resumeAt> | undefined;
    let resumeFrom = 0;
    // Four writers per node: plain appends, transactions of two, a rolled-back one now and then, emits.
    const writer = async (node: PgStores, name: string) => {
      for (let i = 0; i < 15; i++) {
        if (i % 3 === 0) {
          await node.events.append(notice(`${name}.${i}`));
        } else if (i % 3 === 1) {
          await node.transaction(async (tx) => {
            await tx.stores.events.append(notice(`${name}.${i}.a`));
            await tx.stores.events.append(notice(`${name}.${i}.b`));
          });
        } else {
          node.events.emit(notice(`${name}.${i}.emitted`));
          await node
            .transaction(async (tx) => {
              await tx.stores.events.append(notice(`${name}.${i}.rolled-back`));
              throw new Error('undo');
            })
            .catch(() => undefined);
        }
        if (name === 'b0' && i === 7) {
          // An SSE client of node B connects mid-way, resuming at the last id it had seen.
          resumeFrom = await b.events.lastId();
          resume = resumeAt(b, resumeFrom);
        }
      }
    };
    await Promise.all([...[0, 1, 2, 3].map((k) => writer(a, `a${k}`)), ...[0, 1, 2, 3].map((k) => writer(b, `b${k}`))]);
    await a.events.flush();
    await b.events.flush();
    const stored = await a.events.readSince(start, {}, 10_000);
    // 8 writers × (5 single + 5×2 in transactions + 5 emitted), nothing rolled back.
    expect(stored).toHaveLength(8 * 20);
    expect(notes(stored).some((n) => n.endsWith('rolled-back'))).toBe(false);
    const ids = stored.map((e) => e.id);
    await vi.waitFor(() => expect(seenA.length + seenB.length).toBeGreaterThanOrEqual(2 * stored.length), { timeout: 10_000 });
    expect(seenA.map((e) => e.id)).toEqual(ids);
    expect(seenB.map((e) => e.id)).toEqual(ids);
    expect(notes(seenA)).toEqual(notes(stored));
    await resume!.done;
    await vi.waitFor(() => expect(resume!.sent.map((e) => e.id)).toEqual(ids.filter((id) => id > resumeFrom)));
    resume!.stop();
  });

  it('an open transaction holding an earlier append blocks nobody: its events get their ids at commit, so ids follow commit order and no subscriber misses one', async () => {
    const [a, b] = await twoNodes();
    const seenA: TinyEvent[] = [];
    const seenB: TinyEvent[] = [];
    a.events.subscribe((e) => seenA.push(e));
    b.events.subscribe((e) => seenB.push(e));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let appendedInTx = false;
    const slow = a.transaction(async (tx) => {
      await tx.stores.events.append(notice('first appended, committed late'));
      appendedInTx = true;
      await gate;
    });
    try {
      await vi.waitFor(() => expect(appendedInTx).toBe(true));
      // The other node appends and commits while the transaction is open: it does not wait for it.
      const second = await b.events.append(notice('second'));
      expect(second.id).toBeGreaterThan(0);
      // No lock of the event log is held by the open transaction.
      const [row] = (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = (hashtext($1)::bigint & 4294967295)`, [nodes.schema]))
        .rows;
      expect(row!.n).toBe(0);
    } finally {
      release();
    }
    await slow;
    const stored = await a.events.readSince(0);
    expect(notes(stored)).toEqual(['second', 'first appended, committed late']);
    await vi.waitFor(() => {
      expect(notes(seenA)).toEqual(['second', 'first appended, committed late']);
      expect(notes(seenB)).toEqual(['second', 'first appended, committed late']);
    });
    expect(seenA.map((e) => e.id)).toEqual(stored.map((e) => e.id));
  });

  it("a transaction's events, its savepoints' included, are written together in the order they were appended; a rolled-back savepoint's are dropped", async () => {
    const [a] = await twoNodes();
    const before = await a.events.lastId();
    await a.transaction(async (tx) => {
      await tx.stores.events.append(notice('A'));
      await tx.transaction(async (inner) => {
        await inner.stores.events.append(notice('B'));
        await expect(
          inner.transaction(async (deeper) => {
            await deeper.stores.events.append(notice('rolled back'));
            throw new Error('undo');
          }),
        ).rejects.toThrow('undo');
        await inner.stores.events.append(notice('C'));
      });
      await tx.stores.events.append(notice('D'));
    });
    const stored = await a.events.readSince(before);
    expect(notes(stored)).toEqual(['A', 'B', 'C', 'D']);
    // One insert: the ids are consecutive (another statement would have drawn its own later).
    expect(stored.map((e) => e.id - stored[0]!.id)).toEqual([0, 1, 2, 3]);
  });

  it('the events statement carries the COMMIT: when it fails the whole transaction is rolled back, and the connection serves the next one', async () => {
    const [a] = await twoNodes();
    const before = await a.events.lastId();
    let conversationId = '';
    // A depth past int4: the events insert, the transaction's last statement, fails.
    await expect(
      a.transaction(async (tx) => {
        conversationId = (await tx.stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' })).id;
        await tx.stores.events.append(notice('before'));
        await tx.stores.events.append({ ...notice('bad'), depth: 2 ** 40 });
      }),
    ).rejects.toThrow(/out of range/);
    expect(await a.runs.getConversation(conversationId)).toBeUndefined();
    expect(await a.events.readSince(before)).toEqual([]);
    // Every pooled client is usable again: as many transactions as the pool holds, at once.
    await Promise.all(Array.from({ length: 12 }, (_, i) => a.transaction((tx) => tx.stores.events.append(notice(`after ${i}`)))));
    expect(notes(await a.events.readSince(before)).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `after ${i}`).sort());
  });

  it('a statement whose failure was caught without a savepoint fails the commit, with and without events, instead of a silent rollback', async () => {
    const [a] = await twoNodes();
    for (const withEvents of [false, true]) {
      let conversationId = '';
      await expect(
        a.transaction(async (tx) => {
          conversationId = (await tx.stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' })).id;
          if (withEvents) await tx.stores.events.append(notice('lost'));
          // A duplicate id: the statement fails, the transaction is aborted, the caller goes on.
          await Promise.resolve(tx.stores.runs.createConversation({ id: conversationId, rootAgentId: 'a', channel: 'api' })).catch(() => undefined);
        }),
      ).rejects.toThrow(/rolled back at its COMMIT|current transaction is aborted/);
      expect(await a.runs.getConversation(conversationId)).toBeUndefined();
    }
  });

  it('a lost LISTEN connection loses no event: the node listens again and reads what it missed', async () => {
    const [a, b] = await twoNodes();
    const seenA: TinyEvent[] = [];
    a.events.subscribe((e) => seenA.push(e));
    const listeners = async () => (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1', [`LISTEN "tinyagi_events_${nodes.schema}"`])).rows.map((r) => r.pid);
    let pid: number | undefined;
    await vi.waitFor(async () => {
      [pid] = await listeners();
      expect(pid).toBeDefined();
    });
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    // Written while node A has no listening connection.
    for (let i = 0; i < 5; i++) await b.events.append(notice(`during ${i}`));
    await vi.waitFor(async () => expect((await listeners()).filter((p) => p !== pid)).toHaveLength(1), { timeout: 10_000, interval: 100 });
    // Their notifications went to the lost connection: the node reads them once it listens again.
    const during = [0, 1, 2, 3, 4].map((i) => `during ${i}`);
    await vi.waitFor(() => expect(notes(seenA)).toEqual(during), { timeout: 5000 });
    for (let i = 0; i < 5; i++) await b.events.append(notice(`after ${i}`));
    await vi.waitFor(() => expect(notes(seenA)).toEqual([...during, ...[0, 1, 2, 3, 4].map((i) => `after ${i}`)]), { timeout: 5000 });
  });

  it('emitted events are written when the node closes and reach the other node in emit order; events from before a node opened are history', async () => {
    nodes.fresh();
    const a = await nodes.node();
    await a.events.append(notice('history'));
    const b = await nodes.node();
    const seenB: TinyEvent[] = [];
    b.events.subscribe((e) => seenB.push(e));
    await vi.waitFor(async () => expect((await admin.query('SELECT 1 FROM pg_stat_activity WHERE query = $1', [`LISTEN "tinyagi_events_${nodes.schema}"`])).rowCount).toBe(1));
    for (let i = 0; i < 20; i++) a.events.emit(notice(`progress ${i}`));
    await nodes.close(a);
    await vi.waitFor(() => expect(notes(seenB)).toEqual(Array.from({ length: 20 }, (_, i) => `progress ${i}`)));
  });

  it('emitted events whose write failed are kept in order and written once the database takes them again', async () => {
    const [a, b] = await twoNodes();
    const seenB: TinyEvent[] = [];
    b.events.subscribe((e) => seenB.push(e));
    const events = `"${nodes.schema}".events`;
    await admin.query(`ALTER TABLE ${events} RENAME TO events_away`);
    try {
      for (let i = 0; i < 5; i++) a.events.emit(notice(`kept ${i}`));
      await expect(a.events.flush()).rejects.toThrow(/events/);
      a.events.emit(notice('kept 5'));
      // Let the flush that emit scheduled run (and fail) too, so none is pending when the table is back.
      await new Promise((r) => setImmediate(r));
      await expect(a.events.flush()).rejects.toThrow(/events/);
    } finally {
      await admin.query(`ALTER TABLE "${nodes.schema}".events_away RENAME TO events`);
    }
    // No further emit or flush: the retry a second later writes them.
    const expected = Array.from({ length: 6 }, (_, i) => `kept ${i}`);
    await vi.waitFor(async () => expect(notes(await b.events.readSince(0))).toEqual(expected), { timeout: 5000, interval: 100 });
    await vi.waitFor(() => expect(notes(seenB)).toEqual(expected));
  });
});
