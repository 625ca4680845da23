/**
 * memory_lexemes on the real PostgreSQL (migration 0019): the count of entries holding each lexeme
 * stays equal to a count made from memory_entries after inserts, edits, deletes and multi-row
 * statements, with writers on several connections at once (no deadlock: lexemes are locked in
 * order), and is filled for the entries a schema held before the migration.
 */
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migratePg } from '../src/storage/pg/migrate.ts';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 6 });
afterAll(() => pool.end());

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

describe.skipIf(db.skip !== undefined)('memory_lexemes (PostgreSQL)', () => {
  let schema: string;
  let t: (name: string) => string;
  beforeEach(async () => {
    schema = testSchema('lex');
    t = (name) => `"${schema}".${name}`;
    await migratePg(pool, schema);
  });
  afterEach(() => dropSchema(pool, schema));

  const insert = (client: pg.Pool | pg.PoolClient, ids: string[], texts: string[]) =>
    client.query(
      `INSERT INTO ${t('memory_entries')} (id, scope_kind, scope_id, kind, status, text, proposed_by, created_at, updated_at)
       SELECT id, 'agent', 'ann', 'fact', 'accepted', text, 'test', 0, 0 FROM unnest($1::text[], $2::text[]) AS x(id, text)`,
      [ids, texts],
    );
  const counts = async () => (await pool.query(`SELECT lexeme, entries FROM ${t('memory_lexemes')} ORDER BY lexeme`)).rows;
  const recount = async () => (await pool.query(`SELECT l AS lexeme, count(*)::int AS entries FROM ${t('memory_entries')}, unnest(tsvector_to_array(search)) AS l GROUP BY l ORDER BY l`)).rows;

  it('follows inserts, edits of the text, deletes and truncation, one row or many a statement', async () => {
    await insert(pool, ['m1', 'm2', 'm3'], ['Alpha and bravo', 'bravo charlie, bravo', "It's a back\\slash"]);
    expect(await counts()).toEqual(await recount());
    expect((await counts()).find((c) => c.lexeme === 'bravo')).toEqual({ lexeme: 'bravo', entries: 2 });
    await pool.query(`UPDATE ${t('memory_entries')} SET text = 'charlie delta' WHERE id = 'm1'`);
    await pool.query(`UPDATE ${t('memory_entries')} SET last_used_at = 5, status = 'retired'`);
    expect(await counts()).toEqual(await recount());
    expect((await counts()).map((c) => c.lexeme)).not.toContain('alpha');
    await pool.query(`DELETE FROM ${t('memory_entries')} WHERE id IN ('m1', 'm2')`);
    expect(await counts()).toEqual(await recount());
    await pool.query(`TRUNCATE ${t('memory_entries')}`);
    expect(await counts()).toEqual([]);
  });

  it('stays exact with writers on several connections at once, whatever order their words come in', async () => {
    const writer = async (w: number) => {
      const client = await pool.connect();
      try {
        for (let round = 0; round < 15; round++) {
          await client.query('BEGIN');
          const words = w % 2 === 0 ? WORDS : [...WORDS].reverse();
          const ids = [0, 1, 2].map((i) => `w${w}_${round}_${i}`);
          await insert(
            client,
            ids,
            ids.map((_, i) => words.slice(i, i + 6 + (round % 4)).join(' ')),
          );
          await client.query(`UPDATE ${t('memory_entries')} SET text = $2 WHERE id = $1`, [ids[0], words.slice(round % 6).join(' ')]);
          if (round % 3 === 0) await client.query(`DELETE FROM ${t('memory_entries')} WHERE id = ANY($1)`, [ids.slice(1)]);
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
    };
    await Promise.all([0, 1, 2, 3].map(writer));
    expect(await counts()).toEqual(await recount());
  });

  it('is filled for the entries a schema held before the migration', async () => {
    await insert(pool, ['old1', 'old2'], ['golf hotel', 'hotel india']);
    await pool.query(
      `DROP TABLE ${t('memory_lexemes')} CASCADE; DROP FUNCTION ${t('memory_lexemes_count')}() CASCADE; DROP FUNCTION ${t('memory_lexemes_truncate')}() CASCADE; DROP FUNCTION ${t('memory_lexemes_apply')}; DROP FUNCTION ${t('memory_scopes_hold')}`,
    );
    await pool.query(`DELETE FROM "${schema}".tinyagi_migrations WHERE tag = '0019_memory_lexemes'`);
    expect(await migratePg(pool, schema)).toEqual(['0019_memory_lexemes']);
    expect(await counts()).toEqual([
      { lexeme: 'golf', entries: 1 },
      { lexeme: 'hotel', entries: 2 },
      { lexeme: 'india', entries: 1 },
    ]);
  });
});
