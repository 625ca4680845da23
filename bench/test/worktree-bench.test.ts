/**
 * B21 (bench/src/worktree-bench.ts) in a small cell: a repository of 200 files, one measured
 * round. It proves the script runs every way to the end (TinyAGI's worktree with its rules and
 * setup, the floor, both clones), reads the disk the way the doc says (a local clone's pack is
 * hardlinked to the repository's, so `du` counts it and the new blocks do not) and leaves nothing
 * behind. No figure of time is asserted: those go in docs/benchmarks.md.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatB21, measureB21 } from '../src/worktree-bench.ts';

const tmpRoot = mkdtempSync(join(tmpdir(), 'tinyagi-b21-test-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

describe('B21: a task worktree against a clone', () => {
  it('measures each way once in a small repository, counts hardlinks apart, and removes everything', async () => {
    const result = await measureB21({ files: 200, rounds: 1, tmpRoot });
    expect(result.repo).toMatchObject({ files: 200, commits: 5, nodeModulesFiles: 1000 });
    expect(result.ways.map((w) => w.id)).toEqual(['floor', 'tinyagi', 'clone', 'clone-no-local']);
    for (const way of result.ways) {
      expect(way.ms).toHaveLength(1);
      expect(way.newKiB[0]).toBeGreaterThan(0);
      // More than the tracked files: each is at least an inode.
      expect(way.newInodes[0]).toBeGreaterThan(200);
    }
    const byId = Object.fromEntries(result.ways.map((w) => [w.id, w]));
    // git hardlinks a local repository's objects into its clone: du counts them, the new blocks do not.
    expect(byId.clone!.sharedKiB[0]).toBeGreaterThan(0);
    expect(byId.clone!.duKiB[0]).toBeGreaterThanOrEqual(byId.clone!.newKiB[0]! + byId.clone!.sharedKiB[0]!);
    for (const id of ['floor', 'tinyagi', 'clone-no-local']) expect(byId[id]!.sharedKiB[0]).toBe(0);
    expect(readdirSync(tmpRoot)).toEqual([]);

    const table = formatB21(result, 1);
    const rows = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| way'));
    expect(rows).toHaveLength(8);
    expect(table).toContain('200 tracked files');
  }, 120_000);
});
