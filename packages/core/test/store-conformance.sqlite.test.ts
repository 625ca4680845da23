import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores } from '../src/compose/sqlite-stores.ts';
import { runStoreConformance } from './store-conformance.ts';

runStoreConformance('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-conf-'));
  const stores = openStores({ dbPath: join(dir, 'c.db') });
  return {
    stores,
    close() {
      stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
