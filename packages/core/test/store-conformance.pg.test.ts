/**
 * The store conformance suites on PostgreSQL (TINYAGI_TEST_DATABASE_URL, default the local
 * database): the same tests as store-conformance.sqlite.test.ts, each on its own schema.
 * Under CI=1 an unreachable database fails this file.
 */
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { openPgStores } from '../src/compose/pg-stores.ts';
import { runStoreConformance } from './store-conformance.ts';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 8 });
afterAll(() => pool.end());

describe.skipIf(db.skip !== undefined)('PostgreSQL stores', () => {
  runStoreConformance('postgres', async () => {
    const schema = testSchema('s');
    const stores = await openPgStores({ pool, schema });
    return {
      stores,
      async close() {
        await stores.close();
        await dropSchema(pool, schema);
      },
    };
  });
});
