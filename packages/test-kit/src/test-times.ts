/**
 * Where the suite's time goes: every test task writes its runner's JSON report into
 * one folder of the repo (`.test-results/<package>#<task>.json`: vitest's `json` reporter through
 * vitest.shared.ts, Playwright's through apps/tinyoffice/playwright.config.ts), the task pool
 * (task-pool.ts) times each task, and `pnpm test` prints both as two short tables at the end
 * (suite-run.ts): each task's start and wall time, the slowest test files, and every failed test
 * by name with the first line of its error (CI keeps only the end of the output: a failure must
 * be named there, not only counted); a browser test's also with its line and what it last waited on.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { REPO_ROOT, RESULTS_DIR } from '../../../test-results.ts';

export { REPO_ROOT, RESULTS_DIR, resultsFile } from '../../../test-results.ts';

export interface FileTime {
  /** The package's task (`@tinyagi/core#test`). */
  task: string;
  /** The file, relative to the repo root. */
  file: string;
  ms: number;
  tests: number;
  failed: number;
  /** Each failed test (or the file itself, when it failed outside a test): its name and the first line of its error. */
  failures: Failure[];
}

export interface Failure {
  /** The test's full name, or '' when the file failed outside any test (an import, a hook). */
  test: string;
  message: string;
}

export interface TaskTime {
  task: string;
  ms: number;
  exitCode: number | null;
  /** Start, in ms after the run's start. */
  startMs: number;
}

interface VitestReport {
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    status?: string;
    message?: string;
    assertionResults: { status: string; fullName?: string; failureMessages?: string[] }[];
  }[];
}

interface PlaywrightError {
  message?: string;
  location?: { file: string; line: number; column: number };
}
interface PlaywrightTest {
  results: { duration: number; status: string; error?: PlaywrightError }[];
}
interface PlaywrightSuite {
  file?: string;
  specs?: { file?: string; title?: string; tests: PlaywrightTest[] }[];
  suites?: PlaywrightSuite[];
}
interface PlaywrightReport {
  config: { rootDir: string };
  suites: PlaywrightSuite[];
}

/** Every test file's time in one runner report (vitest's or Playwright's JSON). */
export function fileTimes(task: string, report: unknown): FileTime[] {
  if (typeof report === 'object' && report !== null && 'testResults' in report) {
    return (report as VitestReport).testResults.map((r) => {
      const failedTests = r.assertionResults.filter((a) => a.status === 'failed');
      const failures = failedTests.map((a) => ({ test: a.fullName ?? '', message: firstLine(a.failureMessages?.[0]) }));
      if (failures.length === 0 && r.status === 'failed') failures.push({ test: '', message: firstLine(r.message) });
      return { task, file: relative(REPO_ROOT, r.name), ms: Math.max(0, r.endTime - r.startTime), tests: r.assertionResults.length, failed: failedTests.length, failures };
    });
  }
  if (typeof report === 'object' && report !== null && 'suites' in report) {
    const pw = report as PlaywrightReport;
    const byFile = new Map<string, FileTime>();
    const walk = (suite: PlaywrightSuite): void => {
      for (const spec of suite.specs ?? []) {
        const file = relative(REPO_ROOT, join(pw.config.rootDir, spec.file ?? suite.file ?? '?'));
        const entry = byFile.get(file) ?? { task, file, ms: 0, tests: 0, failed: 0, failures: [] };
        for (const test of spec.tests) {
          entry.tests += 1;
          for (const result of test.results) entry.ms += result.duration;
          const failed = test.results.filter((r) => r.status !== 'passed' && r.status !== 'skipped');
          if (failed.length > 0) {
            entry.failed += 1;
            const last = failed.at(-1);
            entry.failures.push({ test: spec.title ?? '', message: last?.error ? browserError(last.error) : firstLine(last?.status) });
          }
        }
        byFile.set(file, entry);
      }
      for (const child of suite.suites ?? []) walk(child);
    };
    for (const suite of pw.suites) walk(suite);
    return [...byFile.values()];
  }
  return [];
}

/** Every file time in the results folder. */
export function readFileTimes(dir: string = RESULTS_DIR): FileTime[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => fileTimes(f.slice(0, -'.json'.length).replace('__', '/'), JSON.parse(readFileSync(join(dir, f), 'utf8'))));
}

/** The first non-empty line of an error, without terminal colours, at most 400 characters. */
function firstLine(text: string | undefined): string {
  const plain = stripVTControlCharacters(text ?? '');
  const line =
    plain
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return line.length > 400 ? `${line.slice(0, 399)}…` : line;
}

/**
 * A browser test's error in one line: its first line, the spec's line that failed and, for an
 * action that ran out of time, the last thing it was waiting on from Playwright's call log
 * ("element is not enabled", "… intercepts pointer events"): what a timeout in CI leaves to go on.
 */
function browserError(error: PlaywrightError): string {
  const lines = stripVTControlCharacters(error.message ?? '').split('\n');
  const log = lines.findIndex((l) => l.trim() === 'Call log:');
  const waitedOn =
    log < 0
      ? undefined
      : lines
          .slice(log + 1)
          .map((l) =>
            l
              .trim()
              .replace(/^- /, '')
              .replace(/^\d+ × /, ''),
          )
          .filter((l) => l !== '' && !/^(retrying .* action|waiting \d+ms)$/.test(l))
          .at(-1);
  const where = [error.location ? `line ${error.location.line}` : '', waitedOn ? `last: ${waitedOn}` : ''].filter(Boolean).join('; ');
  return `${firstLine(error.message)}${where ? ` (${where})` : ''}`;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const pad = (s: string, n: number): string => s.padEnd(n);

/** The two tables `pnpm test` prints at its end. */
export function formatTimes(tasks: { wallMs: number; tasks: TaskTime[] } | undefined, files: FileTime[], slowest = 15): string {
  const lines: string[] = [];
  if (tasks) {
    lines.push(`Test tasks (wall ${seconds(tasks.wallMs)}; start after the run's start, time, exit code):`);
    const width = Math.max(...tasks.tasks.map((t) => t.task.length), 4);
    for (const t of tasks.tasks) lines.push(`  ${pad(t.task, width)}  +${pad(seconds(t.startMs), 8)} ${pad(seconds(t.ms), 9)} ${t.exitCode ?? '-'}`);
  }
  const top = [...files].sort((a, b) => b.ms - a.ms).slice(0, slowest);
  if (top.length > 0) {
    lines.push(`The ${top.length} slowest test files (of ${files.length}; time, tests, failed):`);
    const width = Math.max(...top.map((f) => f.file.length + (f.task.endsWith('#test:pg') ? 5 : 0)));
    for (const f of top) lines.push(`  ${pad(f.file + (f.task.endsWith('#test:pg') ? ' (pg)' : ''), width)}  ${pad(seconds(f.ms), 9)} ${pad(String(f.tests), 4)} ${f.failed}`);
  }
  const failures = files.flatMap((f) => f.failures.map((failure) => ({ ...failure, file: f.file + (f.task.endsWith('#test:pg') ? ' (pg)' : '') })));
  if (failures.length > 0) {
    lines.push(`Failed (${failures.length}; file › test: the error's first line):`);
    for (const f of failures) lines.push(`  ${f.file}${f.test ? ` › ${f.test}` : ''}: ${f.message}`);
  }
  return lines.join('\n');
}
