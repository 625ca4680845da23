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
 * - node-postgres and @tinyagi/core/pg are imported only when PostgreSQL is selected, so the
 *   SQLite default never loads them (the CLI bundle keeps them in a chunk of their own).
 */
import { openStores } from '@tinyagi/core';
import type { Durability, StoreSet } from '@tinyagi/core/internal';
import type { StorageSelection } from './storage-selection.ts';

export { DATABASE_URL_ENV, STORAGE_DEFAULTS, describeStorage, selectStorage, storageChanged, type PostgresSelection, type StorageSelection } from './storage-selection.ts';

export interface OpenSelectedOptions {
  durability?: Durability;
  maxAttempts?: number;
}

export async function openSelectedStores(selection: StorageSelection, options: OpenSelectedOptions = {}): Promise<StoreSet> {
  if (selection.backend === 'sqlite') {
    return openStores({
      dbPath: selection.file,
      ...(options.durability !== undefined ? { durability: options.durability } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    });
  }
  const { openPostgresStores } = await import('./postgres.ts');
  return openPostgresStores(selection, options.maxAttempts);
}
