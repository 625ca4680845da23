/**
 * Named statements (storage/pg/statements.ts): a scope's statement is prepared once per
 * connection, and a table changed under a prepared `SELECT *` (a newer node's migration adding a
 * column) neither fails a call over the pool nor keeps failing inside transactions.
 */
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { PgPoolScope } from '../src/storage/pg/scope.ts';
import { forgetStatementNames } from '../src/storage/pg/statements.ts';

const db = await pgTestDatabase();

describe.skipIf(db.skip !== undefined)('named statements (PostgreSQL)', () => {
  const schema = testSchema('stmt');
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  const other = new pg.Pool({ connectionString: db.url, max: 1 });
  // Test files share a process (isolate: false): earlier files' schemas may have used up the names a process gives.
  beforeEach(forgetStatementNames);
  afterAll(async () => {
    await dropSchema(other, schema);
    await Promise.all([pool.end(), other.end()]);
  });

  it('prepares a statement once per connection, and a column added under a SELECT * is read at once, over the pool and in the next transaction', async () => {
    const scope = new PgPoolScope(pool, schema);
    await other.query(`CREATE SCHEMA ${scope.schemaIdent}`);
    await other.query(`CREATE TABLE ${scope.table('t')} (id int PRIMARY KEY)`);
    await other.query(`INSERT INTO ${scope.table('t')} VALUES (1)`);
    const select = `SELECT * FROM ${scope.table('t')} WHERE id = $1`;
    expect(await scope.query(select, [1])).toEqual([{ id: 1 }]);
    expect(await scope.query(select, [1])).toEqual([{ id: 1 }]);
    // The server holds it as a prepared statement of the one connection, made once.
    const prepared = await scope.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [select]);
    expect(prepared).toEqual([{ n: 1 }]);

    // Another node migrates: the prepared SELECT * now has a column more.
    await other.query(`ALTER TABLE ${scope.table('t')} ADD COLUMN note text NOT NULL DEFAULT 'new'`);
    expect(await scope.query(select, [1])).toEqual([{ id: 1, note: 'new' }]);
    // From then on it goes unnamed, in a transaction too (where a refusal would abort it).
    const inTx = await scope.begin((tx) => tx.query(select, [1]));
    expect(inTx).toEqual([{ id: 1, note: 'new' }]);
  });

  it('TINYAGI_PG_PREPARE=off sends every statement unnamed (a pooler that cannot keep prepared statements)', async () => {
    const scope = new PgPoolScope(pool, schema);
    const text = `SELECT count(*)::int AS n FROM ${scope.table('t')} WHERE id >= $1`;
    process.env.TINYAGI_PG_PREPARE = 'off';
    try {
      expect(await scope.query(text, [0])).toEqual([{ n: 1 }]);
    } finally {
      delete process.env.TINYAGI_PG_PREPARE;
    }
    const prepared = await scope.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [text]);
    expect(prepared).toEqual([{ n: 0 }]);
    // Without the switch the same text is prepared.
    await scope.query(text, [0]);
    expect(await scope.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [text])).toEqual([{ n: 1 }]);
  });
});
