/**
 * `pnpm test` after the lint: `node packages/test-kit/src/suite-run.ts [turbo args…]` runs
 * `turbo run test test:pg --summarize --continue` with the given arguments (a failed task does not
 * stop the others, so one run reports every failure), then prints where the time went
 * (test-times.ts): each task's wall time and the 15 slowest test files. It exits with turbo's code.
 * The reports of an earlier run are removed first, so the tables show this run only.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { formatTimes, newestTurboSummary, readFileTimes, REPO_ROOT, RESULTS_DIR, taskTimes } from './test-times.ts';

const started = Date.now();
rmSync(RESULTS_DIR, { recursive: true, force: true });
const turbo = spawnSync('turbo', ['run', 'test', 'test:pg', '--summarize', '--continue', ...process.argv.slice(2)], { cwd: REPO_ROOT, stdio: 'inherit' });
if (turbo.error) throw turbo.error;
const summary = newestTurboSummary(started);
console.log(`\n${formatTimes(summary === undefined ? undefined : taskTimes(summary), readFileTimes())}`);
process.exit(turbo.status ?? 1);
