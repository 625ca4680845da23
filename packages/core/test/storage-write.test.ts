import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type TinyDatabase } from '../src/storage/database.ts';
import { GroupCommit, groupWrites } from '../src/storage/group-commit.ts';

let dir: string;
let db: TinyDatabase;
const put = (key: string) => db.sqlite.prepare("INSERT INTO sender_defaults (channel, sender_id, target, updated_at) VALUES ('t', ?, 'x', 0)").run(key);
const keys = () => db.sqlite.prepare("SELECT sender_id FROM sender_defaults WHERE channel = 't' ORDER BY sender_id").pluck().all();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-write-'));
  db = openDatabase({ path: join(dir, 'w.db') });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TinyDatabase.beforeEachWrite', () => {
  it('runs first inside every outermost write (not in nested ones), is undone with a rollback, and can be removed', () => {
    const calls: string[] = [];
    const remove = db.beforeEachWrite(() => {
      calls.push(`hook sees ${keys().length} rows, in a transaction: ${db.sqlite.inTransaction}`);
      put(`h${calls.length}`);
      return () => calls.push('undo');
    });
    db.write(() => {
      put('a');
      db.write(() => put('b'));
    });
    expect(calls).toEqual(['hook sees 0 rows, in a transaction: true']);
    expect(keys()).toEqual(['a', 'b', 'h1']);
    expect(() =>
      db.writeLazy(() => {
        put('c');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    // The hook's row went with the rollback; its undo ran.
    expect(calls.slice(1)).toEqual(['hook sees 3 rows, in a transaction: true', 'undo']);
    expect(keys()).toEqual(['a', 'b', 'h1']);
    remove();
    db.write(() => put('d'));
    expect(calls).toHaveLength(3);
    expect(keys()).toEqual(['a', 'b', 'd', 'h1']);
  });
});

describe('TinyDatabase.write', () => {
  it('commits, runs afterCommit callbacks once the commit is on disk, and rolls everything back on a throw', async () => {
    const calls: string[] = [];
    db.write(() => {
      put('a');
      db.afterCommit(() => calls.push(`committed with ${keys().join(',')}`));
    });
    // Committed (visible here) but not yet fsynced: nothing is published before the disk has it.
    expect(keys()).toEqual(['a']);
    expect(calls).toEqual([]);
    expect(() =>
      db.write(() => {
        put('b');
        db.afterCommit(() => calls.push('never'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    await db.whenDurable();
    expect(keys()).toEqual(['a']);
    expect(calls).toEqual(['committed with a']);
    expect(db.sqlite.inTransaction).toBe(false);
  });

  it('a nested write that throws undoes only its own rows and callbacks', async () => {
    const calls: string[] = [];
    db.write(() => {
      put('outer');
      db.afterCommit(() => calls.push('outer'));
      expect(() =>
        db.write(() => {
          put('inner');
          db.afterCommit(() => calls.push('inner'));
          throw new Error('inner failed');
        }),
      ).toThrow('inner failed');
      db.write(() => put('second'));
    });
    await db.whenDurable();
    expect(keys()).toEqual(['outer', 'second']);
    expect(calls).toEqual(['outer']);
  });

  it('commits made while an fsync runs share the next one; callbacks run in commit order', async () => {
    const calls: number[] = [];
    for (let i = 0; i < 50; i++) {
      db.write(() => {
        put(`k${String(i).padStart(2, '0')}`);
        db.afterCommit(() => calls.push(i));
      });
    }
    await db.whenDurable();
    expect(calls).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // What whenDurable promised is on disk: another connection (as after a crash) reads it all.
    const other = openDatabase({ path: join(dir, 'w.db'), readonly: true });
    expect(other.sqlite.prepare("SELECT count(*) FROM sender_defaults WHERE channel = 't'").pluck().get()).toBe(50);
    other.close();
  });

  it('onCommit callbacks run as the commit returns, before the disk has it; a rolled-back savepoint drops its own', async () => {
    const calls: string[] = [];
    db.write(() => {
      db.onCommit(() => calls.push('now'));
      db.afterCommit(() => calls.push('durable'));
      expect(() =>
        db.write(() => {
          db.onCommit(() => calls.push('rolled back'));
          throw new Error('inner');
        }),
      ).toThrow('inner');
    });
    expect(calls).toEqual(['now']);
    await db.whenDurable();
    expect(calls).toEqual(['now', 'durable']);
  });

  it('refuses a write function that returns a promise and leaves no transaction open', () => {
    expect(() => db.write((async () => put('a')) as unknown as () => void)).toThrow(/must not return a promise/);
    expect(db.sqlite.inTransaction).toBe(false);
    expect(keys()).toEqual([]);
  });
});

describe('TinyDatabase.writeLazy', () => {
  const synchronous = () => db.sqlite.pragma('synchronous', { simple: true });

  it('needs no fsync of its own, but its callbacks wait for those of earlier durable commits (commit order)', async () => {
    const calls: string[] = [];
    db.writeLazy(() => {
      put('a');
      db.afterCommit(() => calls.push('lazy alone'));
    });
    // Nothing durable pending: a lazy commit publishes at once.
    expect(calls).toEqual(['lazy alone']);
    db.write(() => {
      put('b');
      db.afterCommit(() => calls.push('durable'));
    });
    db.writeLazy(() => {
      put('c');
      db.afterCommit(() => calls.push('lazy after durable'));
    });
    db.afterCommit(() => calls.push('outside a write'));
    expect(calls).toEqual(['lazy alone']);
    await db.whenDurable();
    expect(calls).toEqual(['lazy alone', 'durable', 'lazy after durable', 'outside a write']);
    expect(() =>
      db.writeLazy(() => {
        put('d');
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(keys()).toEqual(['a', 'b', 'c']);
  });

  it('the connection commits at NORMAL: the fsync is ours, off the event loop', () => {
    expect(synchronous()).toBe(1);
  });

  it('keeps temporary b-trees in memory (no temp file per sorting statement)', () => {
    expect(db.sqlite.pragma('temp_store', { simple: true })).toBe(2);
  });

  it('is a plain write on a database opened with durability normal', () => {
    db.close();
    db = openDatabase({ path: join(dir, 'n.db'), durability: 'normal' });
    const calls: string[] = [];
    db.writeLazy(() => {
      put('a');
      db.afterCommit(() => calls.push('lazy'));
    });
    db.write(() => {
      put('b');
      db.afterCommit(() => calls.push('plain'));
    });
    // No fsync to wait for: callbacks run as the commit returns.
    expect(calls).toEqual(['lazy', 'plain']);
    expect(synchronous()).toBe(1);
    expect(keys()).toEqual(['a', 'b']);
  });
});

describe('groupWrites', () => {
  it('commits writes handed in during one turn together; a failing one rejects alone', async () => {
    const group = groupWrites(db);
    const observer = openDatabase({ path: db.path });
    const committedKeys = observer.sqlite.prepare("SELECT COUNT(*) FROM sender_defaults WHERE channel = 't'").pluck();
    const seenByObserver: number[] = [];
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((key) =>
        group.add(() => {
          seenByObserver.push(committedKeys.get() as number);
          put(key);
          if (key === 'b') throw new Error('b failed');
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('b failed');
    expect(seenByObserver).toEqual([0, 0, 0]);
    expect(keys()).toEqual(['a', 'c']);
    observer.close();
  });

  it('splits a backlog larger than the group size over several commits', async () => {
    const group = groupWrites(db, 2);
    const observer = openDatabase({ path: db.path });
    const committedKeys = observer.sqlite.prepare("SELECT COUNT(*) FROM sender_defaults WHERE channel = 't'").pluck();
    const seen: number[] = [];
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((key) =>
        group.add(() => {
          seen.push(committedKeys.get() as number);
          put(key);
        }),
      ),
    );
    expect(seen).toEqual([0, 0, 2, 2, 4]);
    expect(keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
    observer.close();
  });
});

describe('GroupCommit commits in flight', () => {
  /** A commit function whose commits stay open until the test ends them; it records each group. */
  const openCommits = () => {
    const groups: string[][] = [];
    const ends: Array<() => void> = [];
    const commit = (items: string[]) => {
      groups.push(items);
      return new Promise<Array<Error | undefined>>((resolve) => ends.push(() => resolve(items.map(() => undefined))));
    };
    return { groups, ends, commit };
  };
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('with at most one in flight, items handed in while a commit is on its way wait for it and go together in the next', async () => {
    const { groups, ends, commit } = openCommits();
    const group = new GroupCommit(commit, 64, 1);
    const done: string[] = [];
    const add = (item: string) => void group.add(item).then(() => done.push(item));
    add('a');
    await nextTurn();
    add('b');
    await nextTurn();
    add('c');
    await nextTurn();
    expect(groups).toEqual([['a']]);
    ends[0]!();
    await vi.waitFor(() => expect(groups).toEqual([['a'], ['b', 'c']]));
    expect(done).toEqual(['a']);
    ends[1]!();
    await vi.waitFor(() => expect(done).toEqual(['a', 'b', 'c']));
  });

  it('without a bound, each turn commits at once beside the commits on their way', async () => {
    const { groups, ends, commit } = openCommits();
    const group = new GroupCommit(commit);
    const all: Array<Promise<void>> = [];
    for (const item of ['a', 'b', 'c']) {
      all.push(group.add(item));
      await nextTurn();
    }
    expect(groups).toEqual([['a'], ['b'], ['c']]);
    for (const end of ends) end();
    await Promise.all(all);
  });
});

describe('database file modes', () => {
  const modeOf = (file: string): number => statSync(file).mode & 0o777;

  it('creates the database, -wal and -shm as 0600 even under a permissive umask', () => {
    const previous = process.umask(0o002);
    try {
      const path = join(dir, 'fresh.db');
      const fresh = openDatabase({ path });
      fresh.write(() => fresh.sqlite.prepare("INSERT INTO sender_defaults (channel, sender_id, target, updated_at) VALUES ('t', 'a', 'x', 0)").run());
      expect([modeOf(path), modeOf(`${path}-wal`), modeOf(`${path}-shm`)]).toEqual([0o600, 0o600, 0o600]);
      fresh.close();
    } finally {
      process.umask(previous);
    }
  });

  it('tightens a database an older version left 0644', () => {
    const path = join(dir, 'old.db');
    openDatabase({ path }).close();
    chmodSync(path, 0o644);
    const reopened = openDatabase({ path });
    reopened.write(() => reopened.sqlite.prepare("INSERT INTO sender_defaults (channel, sender_id, target, updated_at) VALUES ('t', 'b', 'x', 0)").run());
    expect([modeOf(path), modeOf(`${path}-wal`)]).toEqual([0o600, 0o600]);
    reopened.close();
  });
});

describe('TinyDatabase.transaction (async, docs/storage.md)', () => {
  it('commits after the callback resolves, runs afterCommit callbacks after the commit, rolls back on a rejection', async () => {
    const calls: string[] = [];
    const result = await db.transaction(async (tx) => {
      put('a');
      await Promise.resolve();
      put('b');
      tx.afterCommit(() => calls.push(`committed with ${keys().join(',')}`));
      return 42;
    });
    expect(result).toBe(42);
    await db.whenDurable();
    await expect(
      db.transaction(async (tx) => {
        put('c');
        tx.afterCommit(() => calls.push('never'));
        await Promise.resolve();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(keys()).toEqual(['a', 'b']);
    expect(calls).toEqual(['committed with a,b']);
    expect(db.sqlite.inTransaction).toBe(false);
  });

  it('a savepoint that rejects undoes only its own rows and callbacks; nested transaction() is a savepoint', async () => {
    const calls: string[] = [];
    await db.transaction(async (tx) => {
      put('outer');
      tx.afterCommit(() => calls.push('outer'));
      await expect(
        tx.savepoint(async (sp) => {
          put('inner');
          sp.afterCommit(() => calls.push('inner'));
          db.write(() => put('inner-sync'));
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
      await db.transaction(async (nested) => {
        put('nested');
        nested.afterCommit(() => calls.push('nested'));
      });
      expect(calls).toEqual([]);
    });
    await db.whenDurable();
    expect(keys()).toEqual(['nested', 'outer']);
    expect(calls).toEqual(['outer', 'nested']);
  });

  it('serialises transactions in call order, each seeing the previous one committed', async () => {
    const order: string[] = [];
    const slow = db.transaction(async () => {
      order.push('first starts');
      put('1');
      await new Promise<void>((resolve) => setImmediate(resolve));
      order.push('first ends');
    });
    const second = db.transaction(() => {
      order.push(`second sees ${keys().join(',')}`);
      put('2');
    });
    await Promise.all([slow, second]);
    expect(order).toEqual(['first starts', 'first ends', 'second sees 1']);
    expect(keys()).toEqual(['1', '2']);
  });

  it('refuses a synchronous write from outside while an asynchronous transaction waits, and goes on afterwards', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inTx = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const open = db.transaction(async () => {
      put('inside');
      entered();
      await gate;
    });
    await inTx;
    expect(() => db.write(() => put('outside'))).toThrow(/asynchronous transaction is open/);
    const published: string[] = [];
    // An outside callback is not held back (or dropped) with the open transaction.
    db.afterCommit(() => published.push('outside callback ran'));
    await db.whenDurable();
    expect(published).toEqual(['outside callback ran']);
    release();
    await open;
    db.write(() => put('after'));
    expect(keys()).toEqual(['after', 'inside']);
  });

  it('runs savepoints of one handle one at a time', async () => {
    await db.transaction(async (tx) => {
      const first = tx.savepoint(async () => {
        await Promise.resolve();
        put('x');
      });
      await expect(tx.savepoint(() => put('y'))).rejects.toThrow(/one at a time/);
      await first;
    });
    expect(keys()).toEqual(['x']);
  });

  it('durable: false commits without waiting for its own fsync; its callbacks still run in commit order', async () => {
    const calls: string[] = [];
    await db.transaction(
      (tx) => {
        put('lazy');
        tx.afterCommit(() => calls.push('lazy'));
      },
      { durable: false },
    );
    await db.transaction((tx) => {
      put('durable');
      tx.afterCommit(() => calls.push('durable'));
    });
    await db.whenDurable();
    expect(calls).toEqual(['lazy', 'durable']);
    expect(keys()).toEqual(['durable', 'lazy']);
  });
});

describe('writers that run on their own wait for an open asynchronous transaction', () => {
  it('a group of writes and a buffered event flush commit after the transaction instead of failing', async () => {
    const { EventLog } = await import('../src/events/sqlite-log.ts');
    const events = new EventLog(db);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inTx = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const open = db.transaction(async () => {
      put('tx');
      entered();
      await gate;
    });
    await inTx;
    const group = groupWrites(db);
    const written = group.add(() => put('grouped'));
    events.emit({ type: 'system.notice', data: { note: 'buffered' } });
    // Both are due now (next turn of the event loop) but wait for the transaction.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(keys()).toEqual(['tx']);
    release();
    await open;
    await written;
    expect(keys()).toEqual(['grouped', 'tx']);
    await expect.poll(() => events.readSince(0).map((e) => e.data)).toEqual([{ note: 'buffered' }]);
    events.close();
  });
});

describe('durable commits and close', () => {
  it('closing while an fsync runs neither fails it nor loses a commit', async () => {
    const path = join(dir, 'c.db');
    const c = openDatabase({ path });
    const calls: number[] = [];
    for (let i = 0; i < 20; i++) {
      c.write(() => {
        c.sqlite.prepare("INSERT INTO sender_defaults (channel, sender_id, target, updated_at) VALUES ('t', ?, 'x', 0)").run(`c${i}`);
        c.afterCommit(() => calls.push(i));
      });
    }
    const durable = c.whenDurable();
    // An fsync is on a libuv thread now; close syncs what is left and runs every callback.
    c.close();
    expect(calls).toHaveLength(20);
    await durable;
    const again = openDatabase({ path, readonly: true });
    expect(again.sqlite.prepare("SELECT count(*) FROM sender_defaults WHERE channel = 't'").pluck().get()).toBe(20);
    again.close();
  });
});
