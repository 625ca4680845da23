/**
 * For the tests of several nodes on PostgreSQL: the test database and two pools standing for two
 * nodes (each its own connections), ended after the test file.
 */
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll } from 'vitest';

export const db = await pgTestDatabase();
export const poolA = new pg.Pool({ connectionString: db.url, max: 8 });
export const poolB = new pg.Pool({ connectionString: db.url, max: 8 });
afterAll(async () => {
  await poolA.end();
  await poolB.end();
});
