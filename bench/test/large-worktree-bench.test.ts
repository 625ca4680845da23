/**
 * B28 (bench/src/large-worktree-bench.ts) in a small cell: a repository of 300 files with a
 * stand-in dependency folder of 20 generated packages (no registry), one single task and 2 at
 * once per way, TinyAGI as the built `tinyagi` started by `tinyagi start`. It proves every way
 * runs to the end, the write check runs where there is a dependency folder (and passes), the
 * daemon's loop is probed, disk is read, the cached repository is put back as made when reused,
 * and nothing is left in the temp folder. No figure of time is asserted: those go in
 * docs/benchmarks.md. Needs the built CLI (the suite builds first).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BUILT } from '@tinyagi/test-kit';
import { largeRepository, run } from '../src/large-repo.ts';
import { formatB28, measureB28 } from '../src/large-worktree-bench.ts';

const tmpRoot = mkdtempSync(join(tmpdir(), 'tinyagi-b28-test-'));
const cacheDir = mkdtempSync(join(tmpdir(), 'tinyagi-b28-cache-'));
afterAll(() => {
  rmSync(tmpRoot, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

const small = { files: 300, bytes: 3_000_000, deps: 20, cacheDir };

describe('B28: a task worktree on a large repository', () => {
  it('runs the floor, the naive copy and TinyAGI, 1 and 2 at once, with the write check, and removes everything', async () => {
    const result = await measureB28({ ...small, tasks: 2, rounds: 1, tmpRoot, tinyagi: [{ label: 'TinyAGI', bin: CLI_BUILT }] });
    expect(result.repo).toMatchObject({ files: 300, commits: 4, nodeModulesPackages: 20, nodeModulesFiles: 100 });
    expect(result.repo.trackedBytes).toBeGreaterThan(2_900_000);
    expect(result.ways.map((w) => w.id)).toEqual(['floor', 'naive', 'tinyagi-default']);
    for (const way of result.ways) {
      expect(way.single).toHaveLength(1);
      expect(way.atOnce).toHaveLength(2);
      expect(Math.min(...way.single, ...way.atOnce)).toBeGreaterThan(0);
      expect(way.duPerTask).toBeGreaterThan(0);
    }
    const [floor, naive, tinyagi] = result.ways;
    expect([floor!.writeCheck, naive!.writeCheck, tinyagi!.writeCheck]).toEqual(['n/a', 'passed', 'passed']);
    // The naive way's own copy of node_modules is in its du; the floor has none.
    expect(naive!.duPerTask).toBeGreaterThan(floor!.duPerTask);
    expect(tinyagi!.lag!.samples).toBeGreaterThan(20);
    expect(tinyagi!.lag!.idleMaxMs).toBeGreaterThan(0);
    expect(readdirSync(tmpRoot)).toEqual([]);

    const table = formatB28(result);
    expect(table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| way'))).toHaveLength(3 + 1 + 3);
    expect(table).toContain('300 tracked files');

    // Reused from the cache: an earlier run's branch and worktree are gone, nothing is made again.
    const again = await largeRepository(small);
    await run('git', ['branch', 'left-over'], again.dir);
    await run('git', ['worktree', 'add', '--quiet', '--detach', join(tmpRoot, 'left'), 'main'], again.dir);
    const reused = await largeRepository(small);
    expect(reused.facts.madeMs).toBe(0);
    expect(await run('git', ['branch', '--format=%(refname:short)'], reused.dir)).toBe('main\n');
    expect((await run('git', ['worktree', 'list', '--porcelain'], reused.dir)).match(/^worktree /gm)).toHaveLength(1);
  }, 180_000);
});
