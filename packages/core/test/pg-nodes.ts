/**
 * Several "nodes" (`PgStores`, each with its own pool) on one fresh schema per test, for the
 * PostgreSQL multi-node tests; everything is closed and the schema dropped after each test.
 */
import { dropSchema, type PgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, afterEach } from 'vitest';
import { openPgStores, type PgStores } from '../src/compose/pg-stores.ts';

export interface PgNodes {
  /** A pool for the test's own queries (pg_stat_activity, pg_locks, terminations). */
  readonly admin: pg.Pool;
  /** The current test's schema. */
  readonly schema: string;
  /** Starts a test on a new schema. */
  fresh(): void;
  /** Opens a node on the current schema. */
  node(): Promise<PgStores>;
  /** A new schema and two nodes on it. */
  twoNodes(): Promise<[PgStores, PgStores]>;
  /** Closes a node now (it is not closed again after the test). */
  close(stores: PgStores): Promise<void>;
}

export function pgNodes(db: PgTestDatabase, prefix: string): PgNodes {
  const admin = new pg.Pool({ connectionString: db.url, max: 2 });
  afterAll(() => admin.end());
  let opened: PgStores[] = [];
  let schema = '';
  afterEach(async () => {
    for (const s of opened) await s.close();
    opened = [];
    if (schema) await dropSchema(admin, schema);
    schema = '';
  });
  const nodes: PgNodes = {
    admin,
    get schema() {
      return schema;
    },
    fresh() {
      schema = testSchema(prefix);
    },
    async node() {
      const stores = await openPgStores({ url: db.url, schema, poolSize: 6 });
      opened.push(stores);
      return stores;
    },
    async twoNodes() {
      nodes.fresh();
      return [await nodes.node(), await nodes.node()];
    },
    async close(stores) {
      opened = opened.filter((s) => s !== stores);
      await stores.close();
    },
  };
  return nodes;
}
