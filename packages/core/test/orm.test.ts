import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, openDatabase } from '../src/storage/database.ts';
import { SqliteQueueStore } from '../src/queue/sqlite-store.ts';
import { drizzleOf as publicDrizzleOf } from '../src/orm.ts';
import { databaseOf, openStores, type SqliteStoreSet } from '../src/compose/public-stores.ts';
import { drizzleOf, tables } from '../src/storage/orm.ts';

describe('@tinyagi/core/orm', () => {
  it('reads what the stores wrote through typed drizzle queries on the same connection', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-orm-'));
    const db = openDatabase({ path: join(dir, 'o.db') });
    try {
      const { id } = new SqliteQueueStore(db).enqueue({ kind: 'user', agentId: 'coder', conversationId: 'c1', channel: 'api', content: 'hello' });
      const orm = drizzleOf(db);
      const rows = orm.select({ id: tables.messages.id, agentId: tables.messages.agentId, status: tables.messages.status }).from(tables.messages).where(eq(tables.messages.conversationId, 'c1')).all();
      expect(rows).toEqual([{ id, agentId: 'coder', status: 'pending' }]);
      // The migrations recorded by core are drizzle's own table, one row per migration file.
      const applied = db.sqlite.prepare('SELECT COUNT(*) FROM __drizzle_migrations').pluck().get();
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
      expect(applied).toBe(journal.entries.length);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('@tinyagi/core/orm for library users', () => {
  it('queries stores opened with openStores (whose public type has no database handle)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-orm-'));
    const stores = openStores({ dbPath: join(dir, 'o.db') });
    try {
      const { id } = stores.queue.enqueue({ kind: 'user', agentId: 'writer', conversationId: 'c2', channel: 'api', content: 'hi' });
      const rows = publicDrizzleOf(stores).select({ id: tables.messages.id }).from(tables.messages).where(eq(tables.messages.agentId, 'writer')).all();
      expect(rows).toEqual([{ id }]);
      expect(Object.keys(stores)).toContain('queue');
      expect(() => databaseOf({ ...stores, db: undefined } as unknown as SqliteStoreSet)).toThrow(/not opened by openStores/);
    } finally {
      stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
