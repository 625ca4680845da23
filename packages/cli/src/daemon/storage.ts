/**
 * Which backend the stores live on (docs/storage.md, "Selecting the backend"), and opening it.
 *
 * Contract:
 * - TINYAGI_DATABASE_URL, else settings `storage.url` (postgres://…), selects PostgreSQL (schema
 *   `storage.schema`, default `tinyagi`; pool `storage.pool_size`, default 10). Neither: the
 *   SQLite file in TINYAGI_HOME, which needs nothing set up. The environment variable is a
 *   settings override (core's ENV_OVERRIDES), so `settings` here already carries it.
 * - Chosen once per start of the daemon: a change of `storage` needs `tinyagi restart`.
 * - PostgreSQL selected and not usable at start (unreachable, refused, too old, migrations that
 *   fail): `openSelectedStores` throws a DB_ERROR naming the masked URL, where it came from and
 *   the cause; the daemon exits non-zero and falls back to nothing (no SQLite file is created).
 * - A database a newer TinyAGI migrated (a downgrade) is refused with DB_ERROR before anything
 *   is opened for writing: this version would run on a schema it does not know.
 * - node-postgres and @tinyagi/core/pg are imported only when PostgreSQL is selected, so the
 *   SQLite default never loads them (the CLI bundle keeps them in a chunk of their own).
 */
import { existsSync } from 'node:fs';
import { openStores, TinyError, type Durability } from '@tinyagi/core';
import { openDatabase, type StoreSet } from '../core-internal.ts';
import { newerMigrations } from '../doctor/migrations.ts';
import { VERSION } from '../version.ts';
import type { StorageSelection } from './storage-selection.ts';

export { DATABASE_URL_ENV, STORAGE_DEFAULTS, describeStorage, selectStorage, storageChanged, type PostgresSelection, type StorageSelection } from './storage-selection.ts';

export interface OpenSelectedOptions {
  durability?: Durability;
  maxAttempts?: number;
}

export async function openSelectedStores(selection: StorageSelection, options: OpenSelectedOptions = {}): Promise<StoreSet> {
  if (selection.backend === 'sqlite') {
    refuseNewerDatabase(selection.file);
    return openStores({
      dbPath: selection.file,
      ...(options.durability !== undefined ? { durability: options.durability } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    });
  }
  const { openPostgresStores } = await import('./postgres.ts');
  return openPostgresStores(selection, options.maxAttempts);
}

/** The downgrade check of the SQLite file (PostgreSQL's is in core's migratePg). */
function refuseNewerDatabase(file: string): void {
  if (!existsSync(file)) return;
  const db = openDatabase({ path: file, readonly: true });
  let newer: number;
  try {
    newer = newerMigrations(db.sqlite);
  } finally {
    db.close();
  }
  if (newer === 0) return;
  throw new TinyError(
    'DB_ERROR',
    `The database ${file} was migrated by a newer TinyAGI (${newer} migration${newer === 1 ? '' : 's'} that tinyagi ${VERSION} does not know): this version cannot run on it.`,
    {
      hint: 'Install the newer version again (its release tarball: `npm install -g ./tinyagi-<version>.tgz`), or restore the backup taken before the upgrade (docs/install.md#upgrade).',
    },
  );
}
