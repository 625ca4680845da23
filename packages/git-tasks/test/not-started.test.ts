/**
 * A check that could not start inside the agent's sandbox (real bwrap, real git): the repository
 * lies under /tmp, which the boundary hides, so a `--link node_modules` made into the worktree
 * leads nowhere inside it and the check's command is missing there. That is the check's
 * environment, not the agent's failure: no round, nothing sent, the task waits for a person with
 * the reason naming the sandbox (docs/git-tasks.md, "A check that could not start").
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ProjectRepo } from '@tinyagi/client/contract';
import { cleanupTemp, gitRepos } from '@tinyagi/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { confinedCommandWrap, openStores, type SqliteStores } from '@tinyagi/core/internal';
import { CHECK_NOT_STARTED, runTaskChecking } from '../src/checking-step.ts';
import { runCheck } from '../src/checks.ts';
import { runTaskWorktreeStep } from '../src/task-step.ts';
import { commitFile } from './fixture.ts';

/** In ~/.cache: on the read-only root inside the sandbox (not /tmp); short enough for socket paths. */
const SCRATCH = join(homedir(), '.cache');
let root: string;
let home: string;
let tinyHome: string;
let daemonEnv: Record<string, string>;
let settings: Settings;
let stores: SqliteStores;

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-gns-'));
  home = join(root, 'home');
  tinyHome = join(home, '.tinyagi');
  const wsRoot = join(home, 'tinyagi-workspace');
  for (const dir of [tinyHome, join(wsRoot, 'coder')]) mkdirSync(dir, { recursive: true });
  daemonEnv = { PATH: process.env.PATH ?? '', HOME: home, TINYAGI_HOME: tinyHome };
  settings = { agents: { coder: { name: 'Coder', provider: 'anthropic', sandbox: 'required' } }, workspace: { path: wsRoot } } as unknown as Settings;
  stores = openStores({ dbPath: join(root, 'tinyagi.db') });
});

afterAll(() => {
  stores?.close();
  cleanupTemp();
  rmSync(root, { recursive: true, force: true });
});

describe('a confined check whose command is behind a link into a hidden folder', () => {
  it('could not start: no round, nothing sent, the task waits for a person with the sandbox named', async () => {
    // The repository under /tmp, its tool in node_modules/.bin (as npm installs one), linked into each worktree.
    const { repoDir } = gitRepos();
    mkdirSync(join(repoDir, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(join(repoDir, 'node_modules', '.bin', 'tape'), '#!/bin/sh\necho "not ok 1 sums"; exit 1\n');
    chmodSync(join(repoDir, 'node_modules', '.bin', 'tape'), 0o755);
    const repo: ProjectRepo = {
      path: repoDir,
      baseRef: 'main',
      branchTemplate: 'tinyagi/{identifier}-{slug}',
      worktreeRoot: join(root, 'worktrees'),
      files: [{ path: 'node_modules', mode: 'link' }],
      checks: [{ name: 'test', argv: ['node_modules/.bin/tape'], timeoutMs: 30_000 }],
      keepAbandonedDays: 14,
      checkout: 'auto',
      maxRounds: 5,
    };
    const project = await stores.tasks.createProject({ name: 'Web', prefix: 'WEB', repo });
    const created = await stores.tasks.createTask({ title: 'Fix the sum', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' });
    const base = { events: stores.events, home: tinyHome, projectId: project.id, repo, env: { PATH: daemonEnv.PATH, HOME: home, LANG: 'C.UTF-8' } };
    const made = await runTaskWorktreeStep({ ...base, task: created, tasks: stores.tasks });
    if (!made.ok) throw new Error(`worktree step failed: ${made.message}`);
    commitFile(made.worktree.path, 'sum.js', 'module.exports = 3;\n');
    await stores.tasks.updateTask(created.id, { status: 'checking' });
    const sent: string[] = [];
    const send = async (message: string) => {
      sent.push(message);
      return { conversationId: 'conv', messageId: 'msg', created: true };
    };
    const wrap = confinedCommandWrap(settings, 'coder', daemonEnv)!;
    const result = await runTaskChecking({ ...base, wrap, task: await stores.tasks.mustGetTask(created.id), tasks: stores.tasks, approvals: stores.approvals, send });

    const task = await stores.tasks.mustGetTask(created.id);
    const check = task.git!.check!;
    expect(check.checks[0]).toMatchObject({ name: 'test', ok: false });
    expect([126, 127]).toContain(check.checks[0]!.exitCode);
    expect(result.outcome).toBe('needs_person');
    expect(sent).toEqual([]);
    expect(task.status).toBe('checking');
    expect(task.git?.rounds ?? 0).toBe(0);
    expect(check.state).toBe('needs_person');
    expect(check.error?.code).toBe(CHECK_NOT_STARTED);
    expect(check.error?.message).toContain('The check "test" (`node_modules/.bin/tape`) could not start');
    expect(check.error?.message).toContain("inside the agent's sandbox");
    expect(await stores.approvals.list({ taskId: created.id })).toEqual([]);
    // Unconfined, the same check starts (and fails as a test does): the link works for the daemon.
    const unconfined = await runCheck(repo.checks[0]!, { cwd: made.worktree.path, env: base.env });
    expect(unconfined).toMatchObject({ exitCode: 1 });
    expect(unconfined.log).toContain('not ok 1 sums');
  });
});
