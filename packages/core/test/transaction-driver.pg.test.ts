/**
 * The generator transaction driver on PostgreSQL (storage/transaction.ts): `stores.transaction(body)`
 * awaits each yielded call inside BEGIN … COMMIT on one pooled client, `tx.transaction(body)` is a savepoint,
 * callbacks run after the commit in registration order, `groupCommit` shares one transaction.
 * The bodies write through the transaction's raw scope (`PgStoreTransaction.scope`) into a table
 * of the test's own schema: the PostgreSQL stores are not all built yet. Under CI=1 an unreachable
 * database fails this file.
 */
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPgStores, type PgStores } from '../src/compose/pg-stores.ts';
import { PgPoolScope } from '../src/storage/pg/scope.ts';
import { PgStoreTransaction } from '../src/storage/pg/transaction.ts';
import type { StoreTransaction } from '../src/compose/store-set.ts';
import { io, runBody } from '../src/storage/transaction.ts';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 6 });
afterAll(() => pool.end());

describe.skipIf(db.skip !== undefined)('transaction bodies on PostgreSQL', () => {
  let schema: string;
  let stores: PgStores;
  beforeEach(async () => {
    schema = testSchema('txd');
    stores = await openPgStores({ pool, schema });
    await pool.query(`CREATE TABLE "${schema}".items (id text PRIMARY KEY, n integer NOT NULL DEFAULT 0)`);
  });
  afterEach(async () => {
    await dropSchema(pool, schema);
  });

  const scopeOf = (tx: StoreTransaction) => {
    if (!(tx instanceof PgStoreTransaction)) throw new Error('not a PostgreSQL transaction');
    return tx.scope;
  };
  function* insert(tx: StoreTransaction, id: string) {
    yield* io(scopeOf(tx).query(`INSERT INTO "${schema}".items (id) VALUES ($1)`, [id]));
  }
  function* count(tx: StoreTransaction) {
    const rows = yield* io(scopeOf(tx).query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".items`));
    return rows[0]!.n;
  }
  const committed = async () => (await pool.query<{ id: string }>(`SELECT id FROM "${schema}".items ORDER BY id`)).rows.map((r) => r.id);

  it('awaits each yielded call inside one transaction and resolves with the value; nothing is visible before the commit', async () => {
    let seenOutside: string[] | undefined;
    const out = stores.transaction(function* (tx) {
      yield* insert(tx, 'a');
      yield* insert(tx, 'b');
      // Another connection does not see the open transaction's rows.
      seenOutside = yield* io(committed());
      return yield* count(tx);
    });
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toBe(2);
    expect(seenOutside).toEqual([]);
    expect(await committed()).toEqual(['a', 'b']);
  });

  it('rolls back a body that throws, drops its callbacks and rejects with its error', async () => {
    const calls: string[] = [];
    await expect(
      stores.transaction(function* (tx) {
        yield* insert(tx, 'a');
        tx.afterCommit(() => calls.push('after'));
        tx.onCommit(() => calls.push('on'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await committed()).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('throws a failed statement into the body; a nested transaction (a savepoint) isolates it and the outer body commits', async () => {
    const calls: string[] = [];
    const out = await stores.transaction(function* (tx) {
      yield* insert(tx, 'a');
      tx.onCommit(() => calls.push('on:outer'));
      tx.afterCommit(() => calls.push('after:outer'));
      let caught = '';
      try {
        yield* io(
          tx.transaction(function* (inner) {
            yield* insert(inner, 'b');
            inner.afterCommit(() => calls.push('after:inner'));
            yield* insert(inner, 'a'); // duplicate key: the statement fails
          }),
        );
      } catch (err) {
        caught = (err as { code?: string }).code ?? String(err);
      }
      const second = yield* io(
        tx.transaction(function* (inner) {
          yield* insert(inner, 'c');
          inner.afterCommit(() => calls.push('after:second'));
          return yield* count(inner);
        }),
      );
      calls.push('body end');
      return { caught, second };
    });
    expect(out).toEqual({ caught: '23505', second: 2 });
    expect(await committed()).toEqual(['a', 'c']);
    // After the commit, in registration order; the failed savepoint's callback is gone.
    expect(calls).toEqual(['body end', 'on:outer', 'after:outer', 'after:second']);
  });

  it('savepoints released with the next one: a later sibling rolls back only itself, an enclosing one undoes its finished inner ones', async () => {
    const inserts = (id: string) =>
      function* (inner: StoreTransaction) {
        yield* insert(inner, id);
      };
    const fails = (id: string) =>
      function* (inner: StoreTransaction) {
        yield* insert(inner, id);
        throw new Error(`undo ${id}`);
      };
    const caught: string[] = [];
    const attempt = function* (tx: StoreTransaction, body: (inner: StoreTransaction) => Generator<unknown, void, unknown>) {
      try {
        yield* io(tx.transaction(body));
      } catch (err) {
        caught.push((err as Error).message);
      }
    };
    await stores.transaction(function* (tx) {
      yield* io(tx.transaction(inserts('a')));
      // Written after a finished savepoint, before the next: kept when that one rolls back.
      yield* insert(tx, 'b');
      yield* attempt(tx, fails('c'));
      yield* io(tx.transaction(inserts('d')));
      yield* attempt(tx, function* (outer) {
        yield* io(outer.transaction(inserts('e')));
        yield* insert(outer, 'f');
        yield* io(outer.transaction(inserts('g')));
        throw new Error('undo e f g');
      });
      yield* insert(tx, 'h');
      yield* attempt(tx, fails('i'));
    });
    expect(caught).toEqual(['undo c', 'undo e f g', 'undo i']);
    expect(await committed()).toEqual(['a', 'b', 'd', 'h']);
  });

  it('runs a body inside a transaction opened with transaction() (runBody), and a plain value passes through io without a round trip', async () => {
    const out = await stores.transaction(async (tx) => {
      const first = await runBody(function* (t) {
        yield* insert(t, 'x');
        const plain = yield* io(41);
        return plain + 1;
      }, tx);
      return first + (await runBody(count, tx));
    });
    expect(out).toBe(43);
    expect(await committed()).toEqual(['x']);
  });

  it('group-commits the bodies of one event-loop turn in one transaction; a failing body fails alone (the group runs again, a savepoint each)', async () => {
    const group = stores.groupCommit();
    const runs: string[] = [];
    const tracked = (id: string) =>
      function* (tx: StoreTransaction) {
        runs.push(id);
        yield* insert(tx, id);
      };
    const ok = await Promise.all([group.add(tracked('o1')), group.add(tracked('o2'))]);
    expect(ok).toEqual([undefined, undefined]);
    // No body failed: each ran once.
    expect(runs).toEqual(['o1', 'o2']);
    runs.length = 0;
    const results = await Promise.allSettled([
      group.add(tracked('g1')),
      group.add(function* (tx) {
        runs.push('g2');
        yield* insert(tx, 'g2');
        throw new Error('g2 fails');
      }),
      group.add(tracked('g3')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toEqual(['g1', 'g2', 'g1', 'g2', 'g3']);
    expect(await committed()).toEqual(['g1', 'g3', 'o1', 'o2']);
    let setting: string | undefined;
    await stores.groupCommit({ durable: false }).add(function* (tx) {
      yield* insert(tx, 'lazy');
      setting = (yield* io(scopeOf(tx).query<{ synchronous_commit: string }>('SHOW synchronous_commit')))[0]!.synchronous_commit;
    });
    // A lazy commit does not wait for the WAL's flush; the setting is the transaction's alone.
    expect(setting).toBe('off');
    expect(await stores.transaction(async (tx) => (await scopeOf(tx).query<{ synchronous_commit: string }>('SHOW synchronous_commit'))[0]!.synchronous_commit)).toBe('on');
    expect(await committed()).toEqual(['g1', 'g3', 'lazy', 'o1', 'o2']);
  });
  it("a savepoint's message rides with its first statement: an opening that fails fails the savepoint even where the body caught it; one never sent undoes nothing else", async () => {
    const scope = new PgPoolScope(pool, schema);
    const items = `"${schema}".items`;
    const put = (id: string) => ({ text: `INSERT INTO ${items} (id) VALUES ($1)`, values: [id] });
    const caught: string[] = [];
    const note = (err: { code?: string; message: string }) => caught.push(err.code ?? err.message);
    await scope.begin(async (tx) => {
      // The transaction's BEGIN waits with it; a body that throws before any statement sent none of them.
      await tx.transaction(async () => Promise.reject(new Error('before any statement')), put('never')).catch(note);
      // A body that sends nothing: the message goes alone (with the BEGIN), its opening kept.
      await tx.transaction(async () => 'nothing', put('a'));
      // The opening fails (a duplicate): the body's statement hears it; the body swallows it, the savepoint still fails with it.
      await tx
        .transaction(async (inner) => {
          await inner.query(`INSERT INTO ${items} (id) VALUES ($1)`, ['b']).catch((err) => caught.push(`body heard ${err.code}`));
          return 'swallowed';
        }, put('a'))
        .catch(note);
      // Opening and first statement in one pipeline.
      await tx.transaction((inner) => inner.query(`INSERT INTO ${items} (id) VALUES ($1)`, ['c']), put('d'));
      // An enclosing savepoint's message goes before a nested one's; the nested one fails alone.
      await tx.transaction(async (outer) => {
        await outer.transaction((inner) => inner.query(`INSERT INTO ${items} (id) VALUES ($1)`, ['e']), put('a')).catch((err) => caught.push(`nested ${err.code}`));
        await outer.query(`INSERT INTO ${items} (id) VALUES ($1)`, ['f']);
      }, put('g'));
      // A body failing after its first statement: opening and statement undone.
      await tx
        .transaction(async (inner) => {
          await inner.query(`INSERT INTO ${items} (id) VALUES ($1)`, ['h']);
          throw new Error('after a statement');
        }, put('i'))
        .catch(note);
    });
    expect(caught).toEqual(['before any statement', 'body heard 23505', '23505', 'nested 23505', 'after a statement']);
    expect(await committed()).toEqual(['a', 'c', 'd', 'f', 'g']);
  });
});
