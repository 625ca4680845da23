/**
 * For the tests of several nodes on PostgreSQL: the test database and two pools standing for two
 * nodes (each its own connections), ended after the test file that asked for them. A function, not
 * module-level pools: test files share one module cache (vitest runs without isolation), so each
 * file opens its own pools and registers its own afterAll.
 */
import { pgTestDatabase, type PgTestDatabase } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll } from 'vitest';

export async function twoNodePools(): Promise<{ db: PgTestDatabase; poolA: pg.Pool; poolB: pg.Pool }> {
  const db = await pgTestDatabase();
  const poolA = new pg.Pool({ connectionString: db.url, max: 8 });
  const poolB = new pg.Pool({ connectionString: db.url, max: 8 });
  afterAll(async () => {
    await poolA.end();
    await poolB.end();
  });
  return { db, poolA, poolB };
}
