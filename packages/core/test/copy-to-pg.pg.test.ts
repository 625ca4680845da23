/**
 * The SQLite -> PostgreSQL copy (storage/copy-to-pg.ts) on a real SQLite file and the real
 * PostgreSQL: every row copied with its ids, the queue and event sequences continued, a copy
 * stopped after a committed batch resumed without duplicates, a non-empty schema and a schema
 * holding another source's copy refused. The CLI's e2e test copies a real daemon's home.
 */
import { join } from 'node:path';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { tempDir } from '@tinyagi/test-kit';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import { openPgStores } from '../src/compose/pg-stores.ts';
import { isTinyError } from '../src/errors.ts';
import { COPY_PROGRESS_TABLE, copySqliteToPg, type CopyTableProgress } from '../src/storage/copy-to-pg.ts';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
afterAll(() => pool.end());

const schemas: string[] = [];
afterEach(async () => {
  for (const schema of schemas.splice(0)) await dropSchema(pool, schema);
});

async function sqliteHome(messages: number): Promise<{ stores: SqliteStores; file: string }> {
  const file = join(tempDir('copy-to-pg'), 'tinyagi.db');
  const stores = openStores({ dbPath: file });
  for (let i = 0; i < messages; i++) {
    await stores.queue.enqueue({ kind: 'user', agentId: i % 2 === 0 ? 'alice' : 'bob', conversationId: `conv_${i % 7}`, channel: 'api', content: `message ${i} ‘quoted’ 🙂`, meta: { i } });
  }
  await stores.whenDurable();
  return { stores, file };
}

function counts(stores: SqliteStores): Record<string, number> {
  const tables = stores.db.sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations' AND name NOT LIKE 'memory_fts%'")
    .all() as Array<{ name: string }>;
  return Object.fromEntries(tables.map(({ name }) => [name, (stores.db.sqlite.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n]));
}

function freshSchema(): string {
  const schema = testSchema('copy');
  schemas.push(schema);
  return schema;
}

describe.skipIf(db.skip !== undefined)('copySqliteToPg', () => {
  it('copies every table with its ids; the sequences continue after them', async () => {
    const { stores, file } = await sqliteHome(300);
    const schema = freshSchema();
    const seen: CopyTableProgress[] = [];
    const report = await copySqliteToPg({ sqlite: stores.db.sqlite, source: file, pool, schema, batchSize: 64, onProgress: (p) => seen.push(p) });
    const source = counts(stores);
    expect(Object.fromEntries(report.tables.map((t) => [t.table, t.targetRows]))).toEqual(source);
    expect(source.messages).toBe(300);
    expect(source.events).toBeGreaterThanOrEqual(300);
    expect(report.resumed).toBe(false);
    expect(report.spotCheck.rows).toBeGreaterThan(50);
    expect(seen.filter((p) => p.table === 'messages').map((p) => p.copied)).toEqual([64, 128, 192, 256, 300]);

    const pgStores = await openPgStores({ pool, schema });
    try {
      const lastSqliteEvent = stores.events.lastId();
      expect(await pgStores.events.lastId()).toBe(lastSqliteEvent);
      const added = await pgStores.queue.enqueue({ kind: 'user', agentId: 'alice', conversationId: 'conv_new', channel: 'api', content: 'after the copy' });
      expect(added.seq).toBeGreaterThan(300);
      expect(await pgStores.events.lastId()).toBeGreaterThan(lastSqliteEvent);
    } finally {
      await pgStores.close();
      stores.close();
    }
  });

  it('resumes a copy stopped after a committed batch, duplicating nothing', async () => {
    const { stores, file } = await sqliteHome(250);
    const schema = freshSchema();
    let batches = 0;
    const stop = new Error('stopped half-way');
    await expect(
      copySqliteToPg({
        sqlite: stores.db.sqlite,
        source: file,
        pool,
        schema,
        batchSize: 50,
        afterBatch: () => {
          batches += 1;
          if (batches === 5) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    const partial = await pool.query<{ n: string }>(`SELECT sum(copied) AS n FROM "${schema}".${COPY_PROGRESS_TABLE}`);
    expect(Number(partial.rows[0]!.n)).toBe(250);

    const report = await copySqliteToPg({ sqlite: stores.db.sqlite, source: file, pool, schema, batchSize: 50 });
    expect(report.resumed).toBe(true);
    expect(Object.fromEntries(report.tables.map((t) => [t.table, t.targetRows]))).toEqual(counts(stores));
    // A third run finds the copy complete and changes nothing.
    const again = await copySqliteToPg({ sqlite: stores.db.sqlite, source: file, pool, schema });
    expect(again.tables).toEqual(report.tables);
    stores.close();
  });

  it("takes a schema whose only rows are a daemon's own events, keeping them after the copied ones", async () => {
    const { stores, file } = await sqliteHome(2);
    const sourceLast = stores.events.lastId();
    const schema = freshSchema();
    const pgStores = await openPgStores({ pool, schema });
    // More of them than the SQLite file has events: their ids overlap the copied ones and go past them.
    const states = Array.from({ length: sourceLast + 5 }, (_, i) => (i % 2 === 0 ? 'connecting' : 'reconnecting'));
    for (const state of states) await pgStores.events.append({ type: 'channel.status', data: { channel: 'telegram', state, previous: 'disabled' } });
    await pgStores.close();
    const report = await copySqliteToPg({ sqlite: stores.db.sqlite, source: file, pool, schema });
    expect(report.tables.find((t) => t.table === 'events')).toEqual({ table: 'events', sourceRows: sourceLast, targetRows: sourceLast, kept: states.length });
    const kept = await pool.query<{ id: string; data: string }>(`SELECT id, data FROM "${schema}".events WHERE type = 'channel.status' ORDER BY id`);
    expect(Number(kept.rows[0]!.id)).toBeGreaterThan(sourceLast);
    expect(kept.rows.map((r) => (JSON.parse(r.data) as { state: string }).state)).toEqual(states);
    // New events continue after the kept ones.
    const after = await openPgStores({ pool, schema });
    expect(await after.events.lastId()).toBe(Number(kept.rows.at(-1)!.id));
    await after.close();
    stores.close();
  });

  it('refuses a schema that holds data, and a copy of another source', async () => {
    const { stores, file } = await sqliteHome(3);
    const schema = freshSchema();
    const pgStores = await openPgStores({ pool, schema });
    await pgStores.queue.enqueue({ kind: 'user', agentId: 'carol', conversationId: 'conv_pg', channel: 'api', content: 'already here' });
    await pgStores.close();
    const refused = await copySqliteToPg({ sqlite: stores.db.sqlite, source: file, pool, schema }).catch((err: unknown) => err);
    expect(isTinyError(refused) && refused.code).toBe('INVALID_STATE');
    expect((refused as Error).message).toMatch(/is not empty: .*messages \(1\)/);

    const other = freshSchema();
    await copySqliteToPg({ sqlite: stores.db.sqlite, source: file, pool, schema: other });
    const second = await copySqliteToPg({ sqlite: stores.db.sqlite, source: '/elsewhere/tinyagi.db', pool, schema: other }).catch((err: unknown) => err);
    expect((second as Error).message).toMatch(/already holds a copy from .*tinyagi\.db, not from \/elsewhere/);
    stores.close();
  });
});
