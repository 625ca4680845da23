/**
 * Where the suite's time goes (issue 47): every test task writes its runner's JSON report into
 * one folder of the repo (`.test-results/<package>#<task>.json`: vitest's `json` reporter through
 * vitest.shared.ts, Playwright's through apps/tinyoffice/playwright.config.ts), the task pool
 * (task-pool.ts) times each task, and `pnpm test` prints both as two short tables at the end
 * (suite-run.ts): each task's start and wall time, and the slowest test files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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
}

export interface TaskTime {
  task: string;
  ms: number;
  exitCode: number | null;
  /** Start, in ms after the run's start. */
  startMs: number;
}

interface VitestReport {
  testResults: { name: string; startTime: number; endTime: number; assertionResults: { status: string }[] }[];
}

interface PlaywrightTest {
  results: { duration: number; status: string }[];
}
interface PlaywrightSuite {
  file?: string;
  specs?: { file?: string; tests: PlaywrightTest[] }[];
  suites?: PlaywrightSuite[];
}
interface PlaywrightReport {
  config: { rootDir: string };
  suites: PlaywrightSuite[];
}

/** Every test file's time in one runner report (vitest's or Playwright's JSON). */
export function fileTimes(task: string, report: unknown): FileTime[] {
  if (typeof report === 'object' && report !== null && 'testResults' in report) {
    return (report as VitestReport).testResults.map((r) => ({
      task,
      file: relative(REPO_ROOT, r.name),
      ms: Math.max(0, r.endTime - r.startTime),
      tests: r.assertionResults.length,
      failed: r.assertionResults.filter((a) => a.status === 'failed').length,
    }));
  }
  if (typeof report === 'object' && report !== null && 'suites' in report) {
    const pw = report as PlaywrightReport;
    const byFile = new Map<string, FileTime>();
    const walk = (suite: PlaywrightSuite): void => {
      for (const spec of suite.specs ?? []) {
        const file = relative(REPO_ROOT, join(pw.config.rootDir, spec.file ?? suite.file ?? '?'));
        const entry = byFile.get(file) ?? { task, file, ms: 0, tests: 0, failed: 0 };
        for (const test of spec.tests) {
          entry.tests += 1;
          for (const result of test.results) entry.ms += result.duration;
          if (test.results.some((r) => r.status !== 'passed' && r.status !== 'skipped')) entry.failed += 1;
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
  return lines.join('\n');
}
