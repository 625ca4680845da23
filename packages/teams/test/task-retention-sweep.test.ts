/**
 * The task flow's retention sweep (docs/git-tasks.md, "Retention") on real stores and a real
 * repository: it runs on the node that holds the project's disk only; a merged task's leftover
 * worktree goes and the removal is an event; a worktree whose task is in review stays (in use)
 * and a deleted task's worktree with uncommitted work stays with the reason; the last report is
 * the flow's to show.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ProjectRepoSchema, type TaskGit } from '@tinyagi/client/contract';
import { SettingsSchema } from '@tinyagi/core';
import { commitFile, gitRepos, sh, tempDir } from '@tinyagi/test-kit';
import { TaskFlow } from '../src/tasks/flow.ts';
import { closeAll, testStores } from './helpers.ts';

afterEach(closeAll);

const gitOf = (path: string, branch: string, merged = false): TaskGit => ({
  state: 'ready',
  branch,
  worktreePath: path,
  headSha: null,
  error: null,
  updatedAt: Date.now(),
  ...(merged ? { merge: { method: 'merge', branch, baseRef: 'main', tip: 'x', commit: 'y', mergedAt: Date.now() } as TaskGit['merge'] } : {}),
});

it('sweeps only on the node that holds the disk: removes the merged leftover (an event), keeps the in-use and the unsafe ones with their reasons', async () => {
  const fx = gitRepos();
  const worktreeRoot = join(fx.root, 'worktrees');
  const { stores } = await testStores(join(tempDir('tinyagi-retention-'), 'tinyagi.db'));
  const repo = ProjectRepoSchema.parse({ path: fx.repoDir, worktreeRoot, node: 'wk1', keepAbandonedDays: 1e-9 });
  const project = await stores.tasks.createProject({ name: 'Web', repo });
  const add = (name: string): { path: string; branch: string } => {
    const path = join(worktreeRoot, name);
    sh(fx.repoDir, 'worktree', 'add', '--quiet', '-b', `tinyagi/${name}`, path, 'main');
    return { path, branch: `tinyagi/${name}` };
  };
  const merged = add('WEB-1');
  commitFile(merged.path, 'one.txt', 'one\n');
  sh(fx.repoDir, 'merge', '--quiet', '--no-ff', '-m', 'merge WEB-1', merged.branch);
  const inReview = add('WEB-2');
  const deleted = add('WEB-3');
  writeFileSync(join(deleted.path, 'draft.txt'), 'not committed\n');
  const t1 = await stores.tasks.createTask({ title: 'One', projectId: project.id, status: 'done' });
  const t2 = await stores.tasks.createTask({ title: 'Two', projectId: project.id, status: 'review' });
  await stores.tasks.setTaskGit(t1.id, gitOf(merged.path, merged.branch, true));
  await stores.tasks.setTaskGit(t2.id, gitOf(inReview.path, inReview.branch));

  const node = (name: string) => ({ name, isLive: async () => true });
  const flowOn = (name: string) =>
    new TaskFlow({
      stores,
      orchestrator: {
        submitGrouped: async () => {
          throw new Error('the sweep sends nothing');
        },
      },
      home: join(fx.root, 'home'),
      env: {},
      settings: () => SettingsSchema.parse({}),
      log: { warn: () => {} },
      node: node(name),
    });
  // Another node: not its disk, nothing touched.
  const elsewhere = flowOn('wk2');
  expect(await elsewhere.retention.sweepAll()).toBe(0);
  expect(elsewhere.retention.report(project.id)).toBeUndefined();
  expect(existsSync(merged.path)).toBe(true);

  const here = flowOn('wk1');
  expect(await here.retention.sweepAll()).toBe(1);
  const report = await here.retentionReport(project.id);
  expect(report?.node).toBe('wk1');
  expect(report?.removed.map((r) => [r.kind, r.identifier, r.reason])).toEqual([['worktree', 'WEB-1', 'merged (its branch deleted)']]);
  expect(Object.fromEntries(report!.kept.map((k) => [k.path, [k.reason, k.atRisk]]))).toEqual({
    [inReview.path]: ['in use: task WEB-2 is review', false],
    [deleted.path]: ['orphaned: its task was deleted; kept: it has uncommitted changes (draft.txt)', true],
  });
  expect(existsSync(merged.path)).toBe(false);
  expect(existsSync(inReview.path) && existsSync(deleted.path)).toBe(true);
  const events = await stores.events.readSince(0, { types: ['project.retention_swept'] });
  expect(events.map((e) => e.data)).toEqual([
    {
      projectId: project.id,
      removed: [{ kind: 'worktree', path: merged.path, branch: merged.branch, identifier: 'WEB-1', reason: 'merged (its branch deleted)', bytes: null }],
      kept: 2,
      bytesAfter: 0,
    },
  ]);
  // Nothing more to remove: no second event.
  expect(await here.retention.sweepAll()).toBe(0);
  expect(await stores.events.readSince(0, { types: ['project.retention_swept'] })).toHaveLength(1);
});
