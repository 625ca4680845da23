/**
 * Where every test task writes its runner's JSON report (`.test-results/<package>#<task>.json`):
 * vitest's through vitest.shared.ts, Playwright's through apps/tinyoffice/playwright.config.ts.
 * The test kit's test-times.ts reads them for the tables `pnpm test` prints. At the root, beside
 * the shared vitest configuration, so that configuration imports nothing above it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('./', import.meta.url));
export const RESULTS_DIR = join(REPO_ROOT, '.test-results');

/**
 * The report file of the test task running in this process: the package from the working
 * directory's package.json, the task from the script pnpm runs (`test`, `test:pg`).
 */
export function resultsFile(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  let name = basename(cwd);
  const manifest = join(cwd, 'package.json');
  if (existsSync(manifest)) name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name ?? name;
  const script = env['npm_lifecycle_event'];
  const task = script?.startsWith('test') ? script : 'test';
  return join(RESULTS_DIR, `${name.replace('/', '__')}#${task}.json`);
}
