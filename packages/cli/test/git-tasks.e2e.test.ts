/**
 * Git-native tasks (docs/git-tasks.md), end to end with the built daemon: SIGKILL while a bound
 * task's worktree setup runs, start again: the setup the killed daemon left running is reaped (the
 * process-group journal), the dispatch resumes by itself (the server's start hook) and runs the
 * setup again, the worktree and branch are there, the task is `ready`, and its message was sent
 * once. The setup waits at a gate (a file the test creates), so the kill lands inside it whatever
 * the machine's speed.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDaemon, gitRepos, isGone, sh, type TestDaemon, waitFor } from '@tinyagi/test-kit';

let daemon: TestDaemon | undefined;
let gate: string | undefined;
afterEach(async () => {
  // A setup still waiting (a failed test) ends once its gate opens.
  if (gate !== undefined && !existsSync(join(gate, 'open'))) writeFileSync(join(gate, 'open'), '');
  await daemon?.cleanup();
  daemon = undefined;
  gate = undefined;
});

describe('git-native tasks with the built daemon', () => {
  it('a daemon killed inside the worktree setup resumes the dispatch at its next start: one worktree, one message', { timeout: 240_000 }, async () => {
    const fx = gitRepos();
    gate = join(fx.root, 'gate');
    mkdirSync(gate);
    const worktreeRoot = join(fx.root, 'worktrees');
    daemon = await createDaemon({
      prefix: 'tinyagi-git-e2e-',
      // git and sh for the worktree step (PATH otherwise holds only node's folder).
      path: ['/usr/bin', '/bin'],
      settings: ({ root }) => ({
        workspace: { path: join(root, 'workspace') },
        models: { provider: 'mock' },
        agents: { coder: { name: 'Coder', provider: 'mock', mock: { reply: 'on it' } } },
      }),
    });
    await daemon.start();
    const api = daemon.api;
    const setup = { argv: ['sh', '-c', 'echo $$ > "$0/started"; while [ ! -e "$0/open" ]; do sleep 0.05; done', gate], timeoutMs: 120_000 };
    const project = await api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot, setup } } });
    const task = await api.createTask({ body: { title: 'Survive a crash', projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });

    // The PATCH waits for the worktree step; the daemon dies under it.
    const moving = api.patchTask({ params: { id: task.id }, body: { status: 'in_progress' } }).then(
      () => 'answered',
      () => 'refused',
    );
    await waitFor(
      async () => {
        if (existsSync(join(gate!, 'started'))) return true;
        const git = (await api.getTask({ params: { id: task.id } })).git;
        // A step that failed before its setup (no git on PATH, a bad binding) fails the test with its error, not a timeout.
        if (git?.state === 'failed') throw new Error(`the worktree step failed: ${git.error?.code}: ${git.error?.message}`);
        return false;
      },
      60_000,
      'the setup to start',
    );
    expect((await api.getTask({ params: { id: task.id } })).git).toMatchObject({ state: 'creating', error: null });
    const orphan = Number(readFileSync(join(gate, 'started'), 'utf8'));
    await daemon.kill();
    expect(await moving).toBe('refused');
    expect(isGone(orphan)).toBe(false);

    // The next start kills the setup the killed daemon left, then the resumed step runs it again.
    rmSync(join(gate, 'started'));
    await daemon.start();
    expect(isGone(orphan)).toBe(true);
    await waitFor(() => existsSync(join(gate!, 'started')), 60_000, 'the resumed step to run the setup again');
    writeFileSync(join(gate, 'open'), '');
    const resumed = await waitFor(
      async () => {
        const t = await api.getTask({ params: { id: task.id } });
        return t.git?.state === 'ready' && t.conversationId !== null ? t : undefined;
      },
      60_000,
      'the resumed dispatch to record its conversation',
    );
    const worktree = join(worktreeRoot, 'WEB-1');
    expect(resumed.git).toMatchObject({ branch: 'tinyagi/WEB-1-survive-a-crash', worktreePath: worktree, headSha: sh(fx.repoDir, 'rev-parse', 'main') });
    expect(sh(worktree, 'branch', '--show-current')).toBe('tinyagi/WEB-1-survive-a-crash');
    await waitFor(async () => (await api.getConversation({ params: { id: resumed.conversationId! } })).conversation.status === 'completed', 60_000, 'the task conversation to complete');
    expect((await api.listConversations({ query: { agent: 'coder' } })).map((c) => c.id)).toEqual([resumed.conversationId]);
  });
});
