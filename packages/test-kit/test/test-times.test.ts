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
  const test = (duration: number, status: string, error?: string | object) => ({
    results: [{ duration, status, ...(error ? { error: typeof error === 'string' ? { message: error } : error } : {}) }],
  });
  // The shape Playwright's JSON reporter writes for a click that ran out of time (copied from a real report).
  const timedOutClick = {
    message:
      "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n\u001b[2m  - waiting for getByRole('button', { name: 'Save' })\u001b[22m\n\u001b[2m    - locator resolved to <button disabled>Save</button>\u001b[22m\n\u001b[2m  - attempting click action\u001b[22m\n\u001b[2m    2 × waiting for element to be visible, enabled and stable\u001b[22m\n\u001b[2m      - element is not enabled\u001b[22m\n\u001b[2m    - retrying click action\u001b[22m\n\u001b[2m      - waiting 500ms\u001b[22m\n",
    location: { file: join(REPO_ROOT, 'apps/tinyoffice/test/b.spec.ts'), line: 4, column: 52 },
  };
  const report = {
    config: { rootDir: join(REPO_ROOT, 'apps/tinyoffice/test') },
    suites: [
      {
        file: 'a.spec.ts',
        specs: [{ file: 'a.spec.ts', title: 'loads', tests: [test(1200, 'passed')] }],
        suites: [{ specs: [{ file: 'a.spec.ts', title: 'shows the card', tests: [test(800, 'failed', '\u001b[31mError: expect(locator).toBeVisible() failed\u001b[39m\n\nLocator: card')] }] }],
      },
      {
        file: 'b.spec.ts',
        specs: [
          { file: 'b.spec.ts', title: 'waits', tests: [test(300, 'timedOut')] },
          { file: 'b.spec.ts', title: 'saves', tests: [test(30_000, 'failed', timedOutClick)] },
        ],
      },
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
    {
      task: 'tinyoffice#test',
      file: 'apps/tinyoffice/test/b.spec.ts',
      ms: 30_300,
      tests: 2,
      failed: 2,
      failures: [
        { test: 'waits', message: 'timedOut' },
        // An action that ran out of time says where and what it was waiting on.
        { test: 'saves', message: 'TimeoutError: locator.click: Timeout 30000ms exceeded. (line 4; last: element is not enabled)' },
      ],
    },
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
