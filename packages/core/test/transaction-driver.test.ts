/**
 * The generator transaction driver on SQLite (storage/transaction.ts,
 * docs/storage.md#transaction-bodies-as-generators): `stores.transaction(body)` runs the body to its end inside one synchronous write and
 * returns its value, `tx.transaction(body)` is a savepoint, a queue completion runs a body given as its
 * effects in its transaction, `groupCommit` groups bodies; a yielded promise is refused.
 * Real SQLite file; bodies are written against `StoreTransaction` only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import type { StoreTransaction } from '../src/compose/store-set.ts';
import { io } from '../src/storage/transaction.ts';

let dir: string;
let stores: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-txd-'));
  stores = openStores({ dbPath: join(dir, 's.db') });
});
afterEach(() => {
  stores.close();
  rmSync(dir, { recursive: true, force: true });
});

function* startConversation(tx: StoreTransaction, id: string) {
  yield* io(tx.stores.runs.createConversation({ id, rootAgentId: 'a', channel: 'api' }));
  yield* io(tx.stores.events.append({ type: 'conversation.started', conversationId: id, agentId: 'a', data: { channel: 'api', sender: '', teamId: null } }));
  const conversation = yield* io(tx.stores.runs.mustGetConversation(id));
  return conversation.status;
}

it('runs a body synchronously inside one write and returns its value, not a promise; events are published after the commit', async () => {
  const seen: string[] = [];
  stores.events.subscribe((e) => seen.push(`${e.type}:${e.conversationId}`));
  const out = stores.transaction(function* (tx) {
    const status = yield* startConversation(tx, 'conv_1');
    // A call's result feeds the next one in the same expression.
    const bumped = yield* io(tx.stores.runs.bumpConversation((yield* io(tx.stores.runs.mustGetConversation('conv_1'))).id, { hops: 2 }));
    return { status, bumped, hops: (yield* io(tx.stores.runs.mustGetConversation('conv_1'))).hops };
  });
  expect(out).not.toBeInstanceOf(Promise);
  expect(out).toEqual({ status: 'active', bumped: undefined, hops: 2 });
  await stores.whenDurable();
  expect(seen).toEqual(['conversation.started:conv_1']);
});

it('rolls back a body that throws: its writes and callbacks are gone, the error propagates', async () => {
  const calls: string[] = [];
  expect(() =>
    stores.transaction(function* (tx) {
      yield* startConversation(tx, 'conv_bad');
      tx.afterCommit(() => calls.push('after'));
      tx.onCommit(() => calls.push('on'));
      throw new Error('no');
    }),
  ).toThrow('no');
  await stores.whenDurable();
  expect(stores.runs.getConversation('conv_bad')).toBeUndefined();
  expect(stores.events.readSince(0, { conversationId: 'conv_bad' })).toEqual([]);
  expect(calls).toEqual([]);
});

it('refuses a body that yields a promise on SQLite with a TypeError naming the body, and rolls back what it wrote before', () => {
  let error: unknown;
  try {
    stores.transaction(function* waitsForSomething(tx) {
      yield* startConversation(tx, 'conv_wait');
      yield* io(Promise.resolve(1));
    });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(TypeError);
  expect((error as Error).message).toContain('waitsForSomething');
  expect(stores.runs.getConversation('conv_wait')).toBeUndefined();
});

it('nests a savepoint: a throwing inner body drops its writes and callbacks, the outer body goes on and commits', async () => {
  const calls: string[] = [];
  stores.events.subscribe((e) => calls.push(`event:${e.conversationId}`));
  const kept = stores.transaction(function* (tx) {
    yield* startConversation(tx, 'conv_outer');
    tx.onCommit(() => calls.push('on:outer'));
    tx.afterCommit(() => calls.push('after:outer'));
    try {
      yield* io(
        tx.transaction(function* (inner) {
          yield* startConversation(inner, 'conv_inner');
          inner.onCommit(() => calls.push('on:inner'));
          inner.afterCommit(() => calls.push('after:inner'));
          throw new Error('inner fails');
        }),
      );
    } catch (err) {
      expect((err as Error).message).toBe('inner fails');
    }
    const value = yield* io(
      tx.transaction(function* (inner) {
        inner.afterCommit(() => calls.push('after:second'));
        return yield* startConversation(inner, 'conv_second');
      }),
    );
    return value;
  });
  expect(kept).toBe('active');
  await stores.whenDurable();
  expect(stores.runs.getConversation('conv_outer')).toBeDefined();
  expect(stores.runs.getConversation('conv_inner')).toBeUndefined();
  expect(stores.runs.getConversation('conv_second')).toBeDefined();
  // onCommit at the commit, then the durable callbacks in registration order (events included).
  expect(calls).toEqual(['on:outer', 'event:conv_outer', 'after:outer', 'after:second', 'event:conv_second']);
});

it('runs a body given as the effects of a queue completion in its transaction: committed with it, or failing only its item', async () => {
  await stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c1', channel: 'api', content: 'one' });
  await stores.queue.enqueue({ kind: 'user', agentId: 'b', conversationId: 'c2', channel: 'api', content: 'two' });
  const batches = stores.queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 10 });
  const ids = (agent: string) => batches.find((b) => b.agentId === agent)!.messages.map((m) => m.id);
  const errors = stores.queue.completeMany([
    {
      owner: 'w',
      ids: ids('a'),
      effects: function* (t) {
        yield* startConversation(t, 'conv_a');
      },
    },
    {
      owner: 'w',
      ids: ids('b'),
      effects: function* (t) {
        yield* startConversation(t, 'conv_b');
        throw new Error('effects of b fail');
      },
    },
  ]);
  expect(errors[0]).toBeUndefined();
  expect(errors[1]?.message).toBe('effects of b fail');
  expect(stores.runs.getConversation('conv_a')).toBeDefined();
  expect(stores.runs.getConversation('conv_b')).toBeUndefined();
  expect(stores.queue.get(ids('a')[0]!)?.status).toBe('completed');
  expect(stores.queue.get(ids('b')[0]!)?.status).toBe('processing');
});

it('group-commits bodies of one event-loop turn: each in its savepoint, one that throws rejects alone, add resolves once durable', async () => {
  const group = stores.groupCommit();
  const published: string[] = [];
  stores.events.subscribe((e) => published.push(e.conversationId ?? ''));
  const results = await Promise.allSettled([
    group.add(function* (tx) {
      yield* startConversation(tx, 'conv_g1');
    }),
    group.add(function* (tx) {
      yield* startConversation(tx, 'conv_g2');
      throw new Error('g2 fails');
    }),
    group.add(function* (tx) {
      yield* startConversation(tx, 'conv_g3');
    }),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  // Resolved after the durable commit: its events were already published.
  expect(published).toEqual(['conv_g1', 'conv_g3']);
  expect(stores.runs.getConversation('conv_g2')).toBeUndefined();
  const lazy = stores.groupCommit({ durable: false });
  await lazy.add(function* (tx) {
    yield* startConversation(tx, 'conv_lazy');
  });
  expect(stores.runs.getConversation('conv_lazy')).toBeDefined();
});

it('nests a body called with transaction inside another SQLite write as a savepoint of it', () => {
  expect(() =>
    stores.db.write(() => {
      stores.transaction(function* (tx) {
        return yield* startConversation(tx, 'conv_nested');
      });
      throw new Error('outer write fails');
    }),
  ).toThrow('outer write fails');
  expect(stores.runs.getConversation('conv_nested')).toBeUndefined();
});
