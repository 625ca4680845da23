/**
 * Git-native tasks (docs/git-tasks.md), end to end with the built daemon: SIGKILL while a bound
 * task's worktree setup runs, start again: the setup the killed daemon left running is reaped (the
 * process-group journal), the dispatch resumes by itself (the server's start hook) and runs the
 * setup again, the worktree and branch are there, the task is `ready`, and its message was sent
 * once. The setup waits at a gate (a file the test creates), so the kill lands inside it whatever
 * the machine's speed. The same for a check: the agent (the fake claude running a script in its
 * worktree) commits and says done, the daemon dies inside the check, and the next start reaps the
 * check and runs the Checking again: the task reaches review.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDaemon, gitRepos, isGone, sh, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { createCoderDaemon, sayDoneLine } from './helpers/git-agent.ts';

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

  it('a daemon killed inside a check resumes the Checking at its next start: the check runs again, the task reaches review', { timeout: 240_000 }, async () => {
    const fx = gitRepos();
    gate = join(fx.root, 'gate');
    mkdirSync(gate);
    const worktreeRoot = join(fx.root, 'worktrees');
    // The agent (the fake claude) commits in its worktree, then says done with its own update_task route, as the MCP tool does.
    // Its answer is renamed into done.json once complete: the shell creates a redirect's file before curl has the answer.
    const agentDir = tempDir('tinyagi-git-e2e-agent-');
    const agent = join(agentDir, 'agent.sh');
    writeFileSync(
      agent,
      ["printf 'done\\n' > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m work", sayDoneLine(join(agentDir, 'done.json')), ''].join('\n'),
    );
    daemon = await createCoderDaemon('tinyagi-git-e2e-');
    await daemon.start();
    const api = daemon.api;
    const check = { name: 'slow', argv: ['sh', '-c', 'echo $$ > "$0/started"; while [ ! -e "$0/open" ]; do sleep 0.05; done; echo passed', gate], timeoutMs: 120_000 };
    const project = await api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot, checks: [check] } } });
    const task = await api.createTask({ body: { title: `Check me FAKE:bash=sh ${agent} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    await waitFor(
      async () => {
        if (existsSync(join(gate!, 'started'))) return true;
        const t = await api.getTask({ params: { id: task.id } });
        if (t.git?.state === 'failed') throw new Error(`the worktree step failed: ${t.git.error?.code}: ${t.git.error?.message}`);
        if (existsSync(join(agentDir, 'done.json')) && t.status !== 'checking') throw new Error(`the agent's done answered ${readFileSync(join(agentDir, 'done.json'), 'utf8')}, task ${t.status}`);
        return false;
      },
      60_000,
      'the check to start',
    );
    expect(await api.getTask({ params: { id: task.id } })).toMatchObject({ status: 'checking', git: { check: { state: 'running' } } });
    const orphan = Number(readFileSync(join(gate, 'started'), 'utf8'));
    await daemon.kill();
    expect(isGone(orphan)).toBe(false);

    // The next start kills the check the killed daemon left, then the resumed Checking runs it again.
    rmSync(join(gate, 'started'));
    await daemon.start();
    expect(isGone(orphan)).toBe(true);
    await waitFor(() => existsSync(join(gate!, 'started')), 60_000, 'the resumed Checking to run the check again');
    writeFileSync(join(gate, 'open'), '');
    const reviewed = await waitFor(
      async () => {
        const t = await api.getTask({ params: { id: task.id } });
        return t.status === 'review' ? t : undefined;
      },
      60_000,
      'the task to reach review',
    );
    const worktree = join(worktreeRoot, 'WEB-1');
    expect(reviewed.git?.rounds ?? 0).toBe(0);
    expect(reviewed.git).toMatchObject({
      check: { state: 'passed', commits: 1, headSha: sh(worktree, 'rev-parse', 'HEAD'), checks: [{ name: 'slow', exitCode: 0, log: expect.stringContaining('passed') }] },
    });
    expect(await api.listConversations({ query: { agent: 'coder' } })).toHaveLength(1);
  });
});
