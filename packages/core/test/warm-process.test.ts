/**
 * WarmProcess's memory reading with real processes: the resident memory of the whole process
 * tree (the process and every descendant by parent pid, /proc), not of its process group only. A
 * warm CLI's children may sit in process groups of their own (Codex starts its MCP servers, such
 * as `tinyagi mcp`, that way), and the pool must count them (issue 48: warm Codex counted at
 * 157 MB while it held 241 MB).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { WarmProcess } from '../src/invoker/warm/warm-process.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** VmRSS of one process in bytes (/proc). */
function rssOf(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

// The parent starts a child in a process group of its own (detached) that holds 96 MB, and a
// grandchild under it in that group; it prints their pids once all are running.
const PARENT = `
const { spawn } = require('node:child_process');
const grand = "const b = Buffer.alloc(32 * 2 ** 20, 1); process.stdout.write('grand ' + process.pid + '\\\\n'); setInterval(() => b[0]++, 1e9);";
const child = "const { spawn } = require('node:child_process'); const b = Buffer.alloc(96 * 2 ** 20, 1); const g = spawn(process.execPath, ['-e', process.argv[1]], { stdio: ['ignore', 'inherit', 'ignore'] }); process.stdout.write('child ' + process.pid + '\\\\n'); setInterval(() => b[0]++, 1e9);";
spawn(process.execPath, ['-e', child, grand], { detached: true, stdio: ['ignore', 'inherit', 'ignore'] });
setInterval(() => {}, 1e9);
`;

it('memoryBytes sums the whole process tree, children in process groups of their own included', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tinyagi-warm-process-'));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const lines: string[] = [];
  const proc = await WarmProcess.start({
    what: 'tree test',
    command: process.execPath,
    args: ['-e', PARENT],
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    killGraceMs: 1_000,
    installHint: '',
    onLine: (line) => lines.push(line),
  });
  const pids = await waitFor(
    () => {
      const child = lines.find((l) => l.startsWith('child '));
      const grand = lines.find((l) => l.startsWith('grand '));
      return child && grand ? { child: Number(child.slice(6)), grand: Number(grand.slice(6)) } : undefined;
    },
    30_000,
    'the child and grandchild to run',
  );
  // Neither is in the warm process's group: closing it does not reach them, so the test ends them
  // first (they hold its stdout open, and its exit waits for that).
  cleanups.push(async () => {
    for (const pid of [pids.grand, pids.child]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await proc.close(0);
  });
  const before = rssOf(proc.pid!) + rssOf(pids.child) + rssOf(pids.grand);
  const measured = proc.memoryBytes();
  const after = rssOf(proc.pid!) + rssOf(pids.child) + rssOf(pids.grand);
  expect(measured).toBeDefined();
  // The three processes' resident memory, give or take what changed between the readings.
  expect(measured!).toBeGreaterThanOrEqual(Math.min(before, after) * 0.95);
  expect(measured!).toBeLessThanOrEqual(Math.max(before, after) * 1.05);
  expect(measured!).toBeGreaterThan(128 * 2 ** 20);
});
