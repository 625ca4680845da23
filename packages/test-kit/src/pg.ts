/**
 * PostgreSQL for tests: the database is TINYAGI_TEST_DATABASE_URL, default the local
 * one every machine of this project runs (postgres://postgres@127.0.0.1:5432/test, trust auth).
 * `pgTestDatabase()` checks it once per test file: unreachable under CI=1 it throws (the suite
 * fails with the reason, it never skips in CI); elsewhere it returns `skip` with the reason, for
 * `describe.skipIf`. `testSchema()` makes a schema no other test file uses; drop it after.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface PgTestDatabase {
  url: string;
  /** Set when the database is unreachable outside CI: why the PostgreSQL tests are skipped. */
  skip: string | undefined;
}

export async function pgTestDatabase(): Promise<PgTestDatabase> {
  const url = process.env.TINYAGI_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { url, skip: undefined };
  } catch (err) {
    const reason = `PostgreSQL at ${url.replace(/\/\/[^@/]*@/, '//…@')} is unreachable (${(err as Error).message}). Start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\` or set TINYAGI_TEST_DATABASE_URL.`;
    if (process.env.CI) throw new Error(`${reason} Under CI the PostgreSQL tests must run, not skip.`);
    console.warn(`Skipping PostgreSQL tests: ${reason}`);
    return { url, skip: reason };
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name unique to this process and call (lower case, a valid identifier). */
export function testSchema(prefix = 't'): string {
  return `${prefix}_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** Drops a schema made by `testSchema` (and everything in it). */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`not a test schema: ${schema}`);
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
