/**
 * `node ../test-kit/src/run-on-postgres.ts <command> [args…]`: runs a suite's command (e.g.
 * `vitest run`) with TINYAGI_TEST_BACKEND=postgres, so its stores open on PostgreSQL
 * (`./stores.ts`). The packages' `test:pg` scripts use it; `pnpm test` runs them after `test`.
 * The database is checked first (`pgTestDatabase`): unreachable under CI=1 this fails with the
 * reason; elsewhere the PostgreSQL run is skipped with the reason (exit 0), like every other
 * PostgreSQL test, so `pnpm test` needs no database server on a developer's machine.
 */
import { spawnSync } from 'node:child_process';
import { pgTestDatabase } from './pg.ts';
import { TEST_BACKEND_ENV } from './stores.ts';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node run-on-postgres.ts <command> [args…]');
  process.exit(2);
}
const db = await pgTestDatabase();
if (db.skip !== undefined) process.exit(0);
const run = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, [TEST_BACKEND_ENV]: 'postgres' } });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
