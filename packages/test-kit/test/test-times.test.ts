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
  expect(file).toMatchObject({
    task: '@tinyagi/test-kit#test',
    file: 'packages/test-kit/test/fixtures/timed/timed.fixture.ts',
    tests: 2,
    failed: 1,
    failures: [{ test: 'fails on purpose', message: 'AssertionError: expected 2 to be 3 // Object.is equality' }],
  });
  expect(file!.ms).toBeGreaterThanOrEqual(0);
});

it("sums a Playwright JSON report's results per spec file", () => {
  const test = (duration: number, status: string, error?: string) => ({ results: [{ duration, status, ...(error ? { error: { message: error } } : {}) }] });
  const report = {
    config: { rootDir: join(REPO_ROOT, 'apps/tinyoffice/test') },
    suites: [
      {
        file: 'a.spec.ts',
        specs: [{ file: 'a.spec.ts', title: 'loads', tests: [test(1200, 'passed')] }],
        suites: [{ specs: [{ file: 'a.spec.ts', title: 'shows the card', tests: [test(800, 'failed', '\u001b[31mError: expect(locator).toBeVisible() failed\u001b[39m\n\nLocator: card')] }] }],
      },
      { file: 'b.spec.ts', specs: [{ file: 'b.spec.ts', title: 'waits', tests: [test(300, 'timedOut')] }] },
    ],
  };
  expect(fileTimes('tinyoffice#test', report)).toEqual([
    {
      task: 'tinyoffice#test',
      file: 'apps/tinyoffice/test/a.spec.ts',
      ms: 2000,
      tests: 2,
      failed: 1,
      failures: [{ test: 'shows the card', message: 'Error: expect(locator).toBeVisible() failed' }],
    },
    { task: 'tinyoffice#test', file: 'apps/tinyoffice/test/b.spec.ts', ms: 300, tests: 1, failed: 1, failures: [{ test: 'waits', message: 'timedOut' }] },
  ]);
});

it('prints each task in start order, the slowest files first, then every failure by name', () => {
  const run = {
    wallMs: 60_000,
    tasks: [
      { task: 'a#test', startMs: 0, ms: 30_000, exitCode: 1 },
      { task: 'b#test', startMs: 30_000, ms: 30_000, exitCode: 0 },
    ],
  };
  const text = formatTimes(
    run,
    [
      { task: 'a#test', file: 'a/x.test.ts', ms: 1500, tests: 3, failed: 0, failures: [] },
      { task: 'b#test:pg', file: 'b/y.test.ts', ms: 9000, tests: 1, failed: 1, failures: [{ test: 'y › keeps order', message: 'AssertionError: expected 1 to be 2' }] },
      { task: 'a#test', file: 'a/z.test.ts', ms: 100, tests: 0, failed: 0, failures: [{ test: '', message: 'Error: Cannot find module ./gone.ts' }] },
    ],
    2,
  );
  expect(text.split('\n')).toEqual([
    "Test tasks (wall 60.0 s; start after the run's start, time, exit code):",
    '  a#test  +0.0 s    30.0 s    1',
    '  b#test  +30.0 s   30.0 s    0',
    'The 2 slowest test files (of 3; time, tests, failed):',
    '  b/y.test.ts (pg)  9.0 s     1    1',
    '  a/x.test.ts       1.5 s     3    0',
    // Every failure by name, also of a file outside the slowest, and of a file that failed outside its tests.
    "Failed (2; file › test: the error's first line):",
    '  b/y.test.ts (pg) › y › keeps order: AssertionError: expected 1 to be 2',
    '  a/z.test.ts: Error: Cannot find module ./gone.ts',
  ]);
});
