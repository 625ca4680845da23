/**
 * B22 — the inputs that held the event loop, against their length: a word of unmatched `{`, a
 * line of `cd`s (evaluated by the starter rules) and the worst texts of the maskers. Each is
 * timed at growing lengths up to its limit; linear means the time per character stays flat.
 * Run by hand: `node --conditions=tinyagi-source bench/src/linear-inputs-bench.ts` (prints a
 * Markdown table for docs/benchmarks.md); with the daemon's own flags (DAEMON_NODE_FLAGS in
 * packages/cli/src/daemon/node-flags.ts: no optimising compiler) before `--conditions` for what
 * a request costs in the daemon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskCut, maskText } from '../../packages/otel/src/mask.ts';
import { maskSecretsInText } from '../../packages/core/src/approvals/mask.ts';
import { STARTER_PERMISSION_RULES } from '../../packages/core/src/approvals/new-agent-defaults.ts';
import { evaluatePermission } from '../../packages/core/src/approvals/rules.ts';
import { MAX_LINE_LENGTH } from '../../packages/core/src/approvals/shell-parse.ts';
import { loadLine, machineLine } from './machine.ts';

const workspace = mkdtempSync(join(tmpdir(), 'tinyagi-b22-'));
const evaluate = (line: string) => evaluatePermission(STARTER_PERMISSION_RULES, { tool: 'Bash', input: { command: line } }, workspace, 'ask').action;

/**
 * The medians of 5 runs, in milliseconds: wall time, and the process's CPU time (user + system,
 * which a machine shared with other work inflates far less than the wall time).
 */
function time(run: () => unknown): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    run();
    const used = process.cpuUsage(cpu);
    walls.push(Number(process.hrtime.bigint() - start) / 1e6);
    cpus.push((used.user + used.system) / 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
  return { wall: median(walls), cpu: median(cpus) };
}

const MASK_LIMIT = 1_000_000;
const cases: [string, number, (n: number) => () => unknown][] = [
  ['`ls {{{…` (evaluatePermission)', MAX_LINE_LENGTH, (n) => () => evaluate(`ls ${'{'.repeat(n - 3)}`)],
  ['`cd d0 && cd d1 && … && ls x` (evaluatePermission)', MAX_LINE_LENGTH, (n) => () => evaluate(`${Array.from({ length: Math.floor(n / 12) }, (_, i) => `cd d${i}`).join(' && ')} && ls x`)],
  ['`ls;ls;…` (evaluatePermission: more commands than it judges one by one)', MAX_LINE_LENGTH, (n) => () => evaluate('ls;'.repeat(Math.floor(n / 3)))],
  ['`ls a a a …` (evaluatePermission: words)', MAX_LINE_LENGTH, (n) => () => evaluate(`ls${' a'.repeat(Math.floor((n - 2) / 2))}`)],
  ['approval input: `a.` repeated (maskSecretsInText)', MASK_LIMIT, (n) => () => maskSecretsInText('a.'.repeat(n / 2))],
  ['approval input: `KEY` repeated (maskSecretsInText)', MASK_LIMIT, (n) => () => maskSecretsInText('KEY'.repeat(n / 3))],
  ['span content: `a` repeated (maskText)', MASK_LIMIT, (n) => () => maskText('a'.repeat(n))],
  ['span content: `token` repeated (maskText)', MASK_LIMIT, (n) => () => maskText('token'.repeat(n / 5))],
  ['span content: `a://b:` repeated (maskText)', MASK_LIMIT, (n) => () => maskText('a://b:'.repeat(n / 6))],
  ['tool output cut to 8,192 (maskCut)', MASK_LIMIT, (n) => () => maskCut('a.'.repeat(n / 2), 8_192)],
];

console.log(`Machine: ${machineLine()}; node flags: ${process.execArgv.join(' ') || 'none'}; load before ${loadLine()}`);
console.log('| input | length | median ms | median CPU ms | µs per 1,000 characters (CPU) |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, limit, make] of cases) {
  for (const n of [limit / 100, limit / 10, limit]) {
    const { wall, cpu } = time(make(n));
    console.log(`| ${name} | ${n.toLocaleString('en-US')} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${((cpu * 1000) / (n / 1000)).toFixed(1)} |`);
  }
}
console.log(`Load after ${loadLine()}`);
rmSync(workspace, { recursive: true, force: true });
