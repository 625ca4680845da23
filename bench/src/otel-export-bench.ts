/**
 * B17: B0's daemon with the OTLP export on vs off, side by side (issue 38's aim: at most 5 % more
 * daemon CPU). The measurement is packages/otel/bench/export-cpu.ts (it decodes what the daemon
 * sent with the otel package's test receiver); this runs it on the built daemon (run.ts builds it
 * first) and returns its table for docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from './machine.ts';

export function benchB17(runs: number, messages: number): string {
  return execFileSync(process.execPath, ['--conditions=tinyagi-source', 'packages/otel/bench/export-cpu.ts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MARKDOWN: '1', RUNS: String(runs), MESSAGES: String(messages) },
  }).trim();
}
