/**
 * Layered checkouts (docs/git-tasks.md, "Checkouts"): a task's worktree as an overlay of a base
 * made once, with real mounts (overlayfs as root, else fuse-overlayfs) and real git.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { worktreeGitOptions } from '../src/git.ts';
import { dropLayer, ensureLayerMounted, isMountPoint, layerBackend, layerPaths } from '../src/layer-mount.ts';
import { listBases, pruneLayers } from '../src/layers.ts';
import { createTaskWorktree, removeTaskWorktree, worktreeList, worktreeOwnBytes } from '../src/worktrees.ts';
import { removeWorktreeAt } from '../src/worktree-life.ts';
import { commitFile, gitFixture, sh, task } from './fixture.ts';

afterEach(cleanupTemp);

/** A repository with a dependency folder the binding copies: 300 tracked files, `node_modules` of 40 packages. */
function layeredFixture() {
  const fx = gitFixture();
  for (let i = 0; i < 300; i++) {
    mkdirSync(join(fx.repoDir, 'src', `m${i % 10}`), { recursive: true });
    writeFileSync(join(fx.repoDir, 'src', `m${i % 10}`, `f${i}.ts`), `export const v${i} = ${i};\n`.repeat(20));
  }
  writeFileSync(join(fx.repoDir, '.gitignore'), 'node_modules/\n');
  sh(fx.repoDir, 'add', '-A');
  sh(fx.repoDir, 'commit', '-q', '-m', 'sources');
  for (let i = 0; i < 40; i++) {
    mkdirSync(join(fx.repoDir, 'node_modules', `pkg${i}`), { recursive: true });
    writeFileSync(join(fx.repoDir, 'node_modules', `pkg${i}`, 'index.js'), `module.exports = ${i};\n`.repeat(500));
  }
  writeFileSync(join(fx.repoDir, '.env'), 'A=1\n');
  writeFileSync(join(fx.repoDir, '.gitignore'), 'node_modules/\n.env\n');
  return { fx, ctx: fx.project({ files: [{ path: 'node_modules', mode: 'copy' }] }) };
}

describe('layered worktrees', async () => {
  const probe = gitFixture();
  const backend = await layerBackend(join(probe.root, 'worktrees'));
  cleanupTemp();

  it('this machine can mount a layer (overlayfs as root, else fuse-overlayfs): the suite runs where CI runs', () => {
    expect(backend).toBeDefined();
  });

  it('gives each task an overlay of one base: the copied folder shared, a write in one task seen in no other and not by the person', async () => {
    const { fx, ctx } = layeredFixture();
    const [a, b] = await Promise.all([createTaskWorktree(ctx, task(1)), createTaskWorktree(ctx, task(2))]);
    expect(a.checkout).toEqual({ kind: 'layered', backend });
    expect(b.checkout.kind).toBe('layered');
    expect(await isMountPoint(a.path)).toBe(true);
    expect((await listBases(ctx)).length).toBe(1);
    // The tree and the copied folder are there, and git sees the worktree clean without hashing it again.
    expect(readFileSync(join(a.path, 'src', 'm3', 'f13.ts'), 'utf8')).toContain('v13');
    expect(sh(a.path, 'status', '--porcelain')).toBe('');
    expect(readdirSync(join(b.path, 'node_modules')).length).toBe(40);
    // A task writes its dependency folder and a tracked file: only its own upper folder changes.
    writeFileSync(join(a.path, 'node_modules', 'pkg1', 'index.js'), 'patched by task 1\n');
    writeFileSync(join(a.path, 'src', 'm1', 'f1.ts'), 'changed\n');
    expect(readFileSync(join(b.path, 'node_modules', 'pkg1', 'index.js'), 'utf8')).toContain('module.exports = 1');
    expect(readFileSync(join(fx.repoDir, 'node_modules', 'pkg1', 'index.js'), 'utf8')).toContain('module.exports = 1');
    expect(sh(a.path, 'status', '--porcelain')).toBe('M src/m1/f1.ts');
    expect(sh(b.path, 'status', '--porcelain')).toBe('');
    // Its own disk is what it changed (and its index), not the tree nor the copy.
    const own = await worktreeOwnBytes(ctx, b.path);
    const repoBytes = Number(spawnSync('du', ['-s', '-B1', fx.repoDir], { encoding: 'utf8' }).stdout.split('\t')[0]);
    expect(own).toBeLessThan(repoBytes * 0.1);
  });

  it('commits through the mount; after the merge the removal unmounts it; the newest base stays for the next task', async () => {
    const { fx, ctx } = layeredFixture();
    const a = await createTaskWorktree(ctx, task(1));
    commitFile(a.path, 'feature.txt', 'done\n');
    sh(fx.repoDir, 'merge', '-q', '--no-edit', a.branch);
    // A task started after main moved stands on the same base: only the difference lands in its folder. A copied
    // file is copied into each task as it is then (editing it makes no new base).
    writeFileSync(join(fx.repoDir, '.env'), 'A=2\n');
    const b = await createTaskWorktree({ ...ctx, repo: { ...ctx.repo, files: [...ctx.repo.files, { path: '.env', mode: 'copy' }] } }, task(2));
    expect(b.files).toEqual([
      { path: 'node_modules', outcome: 'copied' },
      { path: '.env', outcome: 'copied' },
    ]);
    expect(readFileSync(join(b.path, '.env'), 'utf8')).toBe('A=2\n');
    expect((await listBases(ctx)).length).toBe(1);
    expect(readFileSync(join(b.path, 'feature.txt'), 'utf8')).toBe('done\n');
    expect(sh(b.path, 'status', '--porcelain')).toBe('');
    expect(sh(b.path, 'rev-parse', 'HEAD')).toBe(sh(fx.repoDir, 'rev-parse', 'main'));

    const removed = await removeTaskWorktree(ctx, task(1), a.path);
    expect(removed).toMatchObject({ removed: true, branchDeleted: true });
    expect(await isMountPoint(a.path)).toBe(false);
    expect(existsSync(a.path)).toBe(false);
    expect(existsSync(layerPaths(a.path).dir)).toBe(false);
    expect(sh(fx.repoDir, 'worktree', 'list', '--porcelain')).not.toContain(a.path);
    // Task 2 still stands on the base: it stays.
    expect((await listBases(ctx)).length).toBe(1);
    // A layer recorded by a start that died before git made its worktree is removed by the next pruning.
    const stray = layerPaths(join(ctx.worktreeRoot, 'P-9'));
    mkdirSync(stray.upper, { recursive: true });
    writeFileSync(stray.record, JSON.stringify({ lower: join(ctx.worktreeRoot, '.tinyagi-bases', 'x', 'tree'), sha: 'x', backend, populated: false }));
    // So is a base a killed maker left half-made (its copy begun, no base.json).
    const halfMade = join(ctx.worktreeRoot, '.tinyagi-bases', 'half-made');
    mkdirSync(join(halfMade, 'tree', 'node_modules'), { recursive: true });
    expect(await worktreeList.run(ctx.repoDir, () => pruneLayers(ctx))).toEqual(['layer P-9', 'base half-made (half-made)']);
    expect(existsSync(stray.dir)).toBe(false);
    expect(existsSync(halfMade)).toBe(false);
    expect(existsSync(layerPaths(b.path).dir)).toBe(true);
    await removeWorktreeAt(ctx, b.path, { force: true });
    expect(await isMountPoint(b.path)).toBe(false);
    expect((await listBases(ctx)).length).toBe(1);
  });

  it('a removal a kill cut off after the unmount is finished by the next one: the emptied folder is not taken for deleted work', async () => {
    const { fx, ctx } = layeredFixture();
    const a = await createTaskWorktree(ctx, task(1));
    commitFile(a.path, 'feature.txt', 'done\n');
    sh(fx.repoDir, 'merge', '-q', '--no-edit', a.branch);
    // The first removal judged it safe and dropped the layer, then died before git removed the worktree.
    await dropLayer(a.path);
    expect(await isMountPoint(a.path)).toBe(false);
    expect(sh(fx.repoDir, 'worktree', 'list', '--porcelain')).toContain(a.path);
    // Nothing mounts it again, and the next removal finishes it.
    expect(await ensureLayerMounted(a.path)).toBe(false);
    expect(await removeTaskWorktree(ctx, task(1), a.path)).toMatchObject({ removed: true, branchDeleted: true });
    expect(existsSync(a.path)).toBe(false);
    expect(existsSync(layerPaths(a.path).dir)).toBe(false);
  });

  it('mounts a layer again when it is not mounted (after a reboot), and never takes the folder under it for a deleted worktree', async () => {
    const { fx, ctx } = layeredFixture();
    const a = await createTaskWorktree(ctx, task(1));
    writeFileSync(join(a.path, 'notes.txt'), 'kept in the upper folder\n');
    expect(spawnSync(backend === 'overlay' ? 'umount' : 'fusermount3', backend === 'overlay' ? [a.path] : ['-u', a.path]).status).toBe(0);
    // git prunes worktrees whose folder is gone: this one's `.git` stays under the mount.
    sh(fx.repoDir, 'worktree', 'prune');
    expect(sh(fx.repoDir, 'worktree', 'list', '--porcelain')).toContain(a.path);
    await worktreeGitOptions(fx.repoDir, a.path);
    expect(await isMountPoint(a.path)).toBe(true);
    expect(readFileSync(join(a.path, 'notes.txt'), 'utf8')).toBe('kept in the upper folder\n');
    const again = await createTaskWorktree(ctx, task(1));
    expect(again.created).toBe(false);
    expect(sh(a.path, 'status', '--porcelain')).toBe('?? notes.txt');
  });

  it("a probe mount a killed process left (between its mount and its unmount) is unmounted and removed by the next process's probe", async () => {
    const { ctx } = layeredFixture();
    const dead = spawnSync('true').pid;
    const left = join(ctx.worktreeRoot, '.tinyagi-layers', `.probe-${dead}-${backend}`);
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(left, d), { recursive: true });
    const options = `lowerdir=${left}/lower,upperdir=${left}/upper,workdir=${left}/work`;
    const mounted = backend === 'overlay' ? spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', options, `${left}/merged`]) : spawnSync('fuse-overlayfs', ['-o', options, `${left}/merged`]);
    expect(mounted.status).toBe(0);
    expect(await isMountPoint(join(left, 'merged'))).toBe(true);
    const script = `const { layerBackend } = await import(${JSON.stringify(join(import.meta.dirname, '../src/layer-mount.ts'))}); console.log(await layerBackend(process.argv[1]));`;
    const ran = spawnSync(process.execPath, ['--conditions=tinyagi-source', '--input-type=module', '-e', script, ctx.worktreeRoot], { encoding: 'utf8' });
    expect(ran.stdout.trim(), ran.stderr).toBe(backend);
    expect(await isMountPoint(join(left, 'merged'))).toBe(false);
    expect(existsSync(left)).toBe(false);
  });

  it('a node that cannot mount (a user namespace without mount rights, no fuse-overlayfs): auto is a full checkout that says why; layered is refused', async () => {
    const { fx } = layeredFixture();
    const worktreeRoot = join(fx.root, 'no-mount');
    // Its PATH holds git, cp and mount, not fuse-overlayfs.
    const bin = join(fx.root, 'bin');
    mkdirSync(bin);
    const where = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    for (const tool of ['git', 'cp', 'mount']) symlinkSync(where(tool), join(bin, tool));
    const ran = spawnSync(where('unshare'), ['--user', '--map-root-user', process.execPath, '--conditions=tinyagi-source', join(import.meta.dirname, 'no-mount-node.mjs'), fx.repoDir, worktreeRoot], {
      encoding: 'utf8',
      env: { ...process.env, PATH: bin },
    });
    expect(ran.status, ran.stderr).toBe(0);
    const seen = JSON.parse(ran.stdout) as { checkout: { kind: string; why: string }; files: unknown; refused: { code: string; message: string } | null };
    expect(seen.checkout).toEqual({ kind: 'full', why: 'this node cannot mount an overlay here (no overlayfs it may mount, no fuse-overlayfs)' });
    expect(seen.files).toEqual([{ path: 'node_modules', outcome: 'copied' }]);
    expect(seen.refused?.code).toBe('CONFIG_INVALID');
    expect(seen.refused?.message).toMatch(/asks for layered worktrees, but this node cannot mount/);
    expect(readdirSync(join(worktreeRoot, 'P-1', 'node_modules')).length).toBe(40);
  });

  it('auto gives a small repository that copies no folder a full checkout, and says why; full copies the folder with cp (a clone where the file system has them)', async () => {
    const { fx, ctx } = layeredFixture();
    const small = await createTaskWorktree(fx.project(), task(1));
    expect(small.checkout.kind).toBe('full');
    expect(small.checkout.why).toMatch(/tracked files and the binding copies no folder/);
    const full = await createTaskWorktree({ ...ctx, repo: { ...ctx.repo, checkout: 'full' } }, task(2));
    expect(full.checkout).toEqual({ kind: 'full' });
    expect(full.files).toEqual([{ path: 'node_modules', outcome: 'copied' }]);
    expect(await isMountPoint(full.path)).toBe(false);
    writeFileSync(join(full.path, 'node_modules', 'pkg2', 'index.js'), 'patched\n');
    expect(readFileSync(join(fx.repoDir, 'node_modules', 'pkg2', 'index.js'), 'utf8')).toContain('module.exports = 2');
  });
});
