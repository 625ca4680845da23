/**
 * The tests' backend switch: one suite, run on SQLite and on PostgreSQL.
 *
 * `TINYAGI_TEST_BACKEND=postgres` makes `openTestStores` open the stores on PostgreSQL, in a fresh
 * schema of the test database (`./pg.ts`: TINYAGI_TEST_DATABASE_URL, default the local one) that
 * its `close()` drops; unset (or `sqlite`), a SQLite file in the given folder, as the suites always
 * did. The packages' `test:pg` scripts set it, so `pnpm test` runs every such suite on both.
 * Under the PostgreSQL backend an unreachable database fails the test (it never falls back to
 * SQLite or skips: the run asked for PostgreSQL).
 *
 * The kit cannot import @tinyagi/core (core's tests use the kit), so the caller passes the two
 * openers; each suite's harness does that once.
 *
 * Tests that are about SQLite itself (the .db file, pragmas, `databaseOf`) run only where
 * `sqliteOnly` is false: `it.skipIf(sqliteOnly)('…')`, with the reason in a comment.
 */
import pg from 'pg';
import { DEFAULT_TEST_DATABASE_URL, testSchema } from './pg.ts';

export type TestBackend = 'sqlite' | 'postgres';
export const TEST_BACKEND_ENV = 'TINYAGI_TEST_BACKEND';

/** The backend this test run uses (`TINYAGI_TEST_BACKEND`); any other value is refused. */
export function testBackend(): TestBackend {
  const value = process.env[TEST_BACKEND_ENV];
  if (value === undefined || value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  throw new Error(`${TEST_BACKEND_ENV}=${value}: expected "sqlite" (the default) or "postgres".`);
}

/** True on the PostgreSQL run: a test about SQLite's file or connection is skipped there (and runs on the SQLite run). */
export const sqliteOnly = testBackend() !== 'sqlite';

export interface PgTestTarget {
  url: string;
  /** A schema no other test uses; `openTestStores` drops it at close. */
  schema: string;
}

export interface TestStoreOpeners<S> {
  sqlite(dbPath: string): S | Promise<S>;
  postgres(target: PgTestTarget): Promise<S>;
}

export interface TestStores<S> {
  backend: TestBackend;
  stores: S;
  /** On PostgreSQL: where the stores are (another process of the test opens the same). */
  pg?: PgTestTarget;
  /** Closes the stores; on PostgreSQL drops the schema too. */
  close(): Promise<void>;
}

/** The test database's URL (TINYAGI_TEST_DATABASE_URL, default the local one). */
export function testDatabaseUrl(): string {
  return process.env.TINYAGI_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

/** Drops a test schema over a connection of its own (the stores' pool is closed by then). */
export async function dropTestSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`not a test schema: ${schema}`);
  await adminQuery(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * A database of its own for one daemon of the PostgreSQL run (a daemon started by `tinyagi start`
 * on a fresh home must see no settings.json, so the schema cannot be chosen there: a database is,
 * by its URL). `drop()` removes it, closing what still connects to it.
 */
export async function createTestDatabase(prefix = 'daemon'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const base = testDatabaseUrl();
  const name = testSchema(prefix);
  await adminQuery(base, `CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => adminQuery(base, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Opens the stores of one test on this run's backend: SQLite `dbPath`, or a fresh PostgreSQL
 * schema (failing with the reason when the database is unreachable).
 */
export async function openTestStores<S extends { close(): unknown }>(dbPath: string, openers: TestStoreOpeners<S>, prefix = 't'): Promise<TestStores<S>> {
  if (testBackend() === 'sqlite') {
    const stores = await openers.sqlite(dbPath);
    return {
      backend: 'sqlite',
      stores,
      close: once(async () => {
        await stores.close();
      }),
    };
  }
  const url = testDatabaseUrl();
  const schema = testSchema(prefix);
  let stores: S;
  try {
    stores = await openers.postgres({ url, schema });
  } catch (err) {
    throw new Error(
      `${TEST_BACKEND_ENV}=postgres: cannot open the stores at ${url.replace(/\/\/[^@/]*@/, '//…@')} (${(err as Error).message}). Start PostgreSQL (\`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\`) or set TINYAGI_TEST_DATABASE_URL.`,
      { cause: err },
    );
  }
  return {
    backend: 'postgres',
    stores,
    pg: { url, schema },
    close: once(async () => {
      try {
        await stores.close();
      } finally {
        await dropTestSchema(url, schema);
      }
    }),
  };
}

/** `close` may be called by the test and again by its cleanup: the second call waits for the first. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}
