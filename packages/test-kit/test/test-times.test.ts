import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { fileTimes, formatTimes, REPO_ROOT, resultsFile } from '../src/test-times.ts';
import { tempDir } from '../src/temp.ts';

const kitDir = fileURLToPath(new URL('..', import.meta.url));

it('names the report by package and task', () => {
  expect(resultsFile(kitDir, { npm_lifecycle_event: 'test:pg' })).toBe(join(REPO_ROOT, '.test-results', '@tinyagi__test-kit#test:pg.json'));
  expect(resultsFile(kitDir, {})).toMatch(/@tinyagi__test-kit#test\.json$/);
});

it("reads the real vitest's JSON report: each file's time, tests and failures", () => {
  const out = join(tempDir('tinyagi-test-times-'), 'report.json');
  const vitest = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', join(kitDir, 'test/fixtures/timed'), '--reporter=json', `--outputFile=${out}`], {
    encoding: 'utf8',
  });
  expect(vitest.status, vitest.stderr).toBe(1);
  const [file] = fileTimes('@tinyagi/test-kit#test', JSON.parse(readFileSync(out, 'utf8')));
  expect(file).toMatchObject({ task: '@tinyagi/test-kit#test', file: 'packages/test-kit/test/fixtures/timed/timed.fixture.ts', tests: 2, failed: 1 });
  expect(file!.ms).toBeGreaterThanOrEqual(0);
});

it("sums a Playwright JSON report's results per spec file", () => {
  const test = (duration: number, status: string) => ({ results: [{ duration, status }] });
  const report = {
    config: { rootDir: join(REPO_ROOT, 'apps/tinyoffice/test') },
    suites: [
      { file: 'a.spec.ts', specs: [{ file: 'a.spec.ts', tests: [test(1200, 'passed')] }], suites: [{ specs: [{ file: 'a.spec.ts', tests: [test(800, 'failed')] }] }] },
      { file: 'b.spec.ts', specs: [{ file: 'b.spec.ts', tests: [test(300, 'passed')] }] },
    ],
  };
  expect(fileTimes('tinyoffice#test', report)).toEqual([
    { task: 'tinyoffice#test', file: 'apps/tinyoffice/test/a.spec.ts', ms: 2000, tests: 2, failed: 1 },
    { task: 'tinyoffice#test', file: 'apps/tinyoffice/test/b.spec.ts', ms: 300, tests: 1, failed: 0 },
  ]);
});

it('prints each task in start order, then the slowest files first', () => {
  const run = {
    wallMs: 60_000,
    tasks: [
      { task: 'a#test', startMs: 0, ms: 30_000, exitCode: 1 },
      { task: 'b#test', startMs: 30_000, ms: 30_000, exitCode: 0 },
    ],
  };
  const text = formatTimes(run, [
    { task: 'a#test', file: 'a/x.test.ts', ms: 1500, tests: 3, failed: 0 },
    { task: 'b#test:pg', file: 'b/y.test.ts', ms: 9000, tests: 1, failed: 1 },
  ]);
  expect(text.split('\n')).toEqual([
    "Test tasks (wall 60.0 s; start after the run's start, time, exit code):",
    '  a#test  +0.0 s    30.0 s    1',
    '  b#test  +30.0 s   30.0 s    0',
    'The 2 slowest test files (of 2; time, tests, failed):',
    '  b/y.test.ts (pg)  9.0 s     1    1',
    '  a/x.test.ts       1.5 s     3    0',
  ]);
});
