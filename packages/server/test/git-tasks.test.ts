/**
 * Git-native tasks (docs/git-tasks.md): a project bound to a real repository through the
 * API, and a task moved to in_progress gets its worktree and branch (setup included) before its
 * message is sent; the assignee's CLI (the fake claude, which logs its real working directory)
 * runs in the worktree. Real git (test-kit's `gitRepos`), the server's routes on loopback, the
 * real orchestrator; waits on events and states.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { commitFile, fakeCli, gitRepos, sh, tempDir, waitFor } from '@tinyagi/test-kit';
import { baseSettings, eventsOf, raw, type ServerHarness, startHarness } from './harness.ts';
import { scriptedAgent } from './git-harness.ts';

let h: ServerHarness | undefined;
afterEach(async () => {
  delete process.env.TINYAGI_PLANTED_SECRET;
  await h?.close();
  h = undefined;
});

/** The fake claude as the coder agent; each run appends `{cwd, prompt, …}` to the log. */
async function start(): Promise<{ h: ServerHarness; logFile: string }> {
  const logFile = join(tempDir('tinyagi-git-log-'), 'fake.log');
  const settings = (home: string): Settings => ({
    ...baseSettings(home),
    agents: { coder: { name: 'Coder', provider: 'anthropic' }, reviewer: { name: 'Reviewer', provider: 'anthropic' } },
    teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
  });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile } });
  h = await startHarness({ settings, invoke });
  return { h, logFile };
}

function runsLogged(logFile: string): Array<{ cwd: string; prompt: string; env: Record<string, string> }> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { cwd: string; prompt: string; env: Record<string, string> });
}

async function completed(harness: ServerHarness, conversationId: string): Promise<void> {
  await waitFor(async () => (await eventsOf(harness.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, `conversation ${conversationId} completed`);
}

describe('git-native tasks: binding and worktree on dispatch', () => {
  it('binds a project with POST and PATCH; a worktree file leaving the repository is refused with a code naming the file, and nothing is stored', async () => {
    const fx = gitRepos();
    const { h } = await start();
    // Checked against the disk at once: a folder that is not a git repository, a base branch it does not have, a copy of nothing.
    mkdirSync(join(fx.root, 'plain'));
    const plain = await raw(h, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Plain', repo: { path: join(fx.root, 'plain') } }) });
    expect(plain.status).toBe(400);
    expect(plain.body).toMatchObject({ error: { code: 'INVALID_PATH', message: expect.stringContaining(`The repository path ${join(fx.root, 'plain')} is not a git repository.`) } });
    const noBranch = await raw(h, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Web', repo: { path: fx.repoDir, baseRef: 'develop' } }) });
    expect(noBranch.body).toMatchObject({ error: { code: 'INVALID_PATH', message: expect.stringContaining('The base branch "develop" does not exist') } });
    const noEnv = await raw(h, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Web', repo: { path: fx.repoDir, files: [{ path: '.env', mode: 'copy' }] } }) });
    expect(noEnv.body).toMatchObject({ error: { code: 'INVALID_PATH', message: expect.stringContaining('The worktree file ".env" (copy) names'), details: { file: { path: '.env', mode: 'copy' } } } });
    expect(await h.client.listProjects()).toEqual([]);
    writeFileSync(join(fx.repoDir, '.env'), 'A=1\n');
    const created = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, files: [{ path: '.env', mode: 'copy' }] } } });
    expect(created.repo).toMatchObject({ path: fx.repoDir, baseRef: 'main', branchTemplate: 'tinyagi/{identifier}-{slug}', files: [{ path: '.env', mode: 'copy' }], checks: [] });

    const dotdot = await raw(h, 'PATCH', `/api/projects/${created.id}`, { body: JSON.stringify({ repo: { path: fx.repoDir, files: [{ path: '../secrets', mode: 'link' }] } }) });
    expect(dotdot.status).toBe(400);
    expect(dotdot.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('The worktree file "../secrets" (link) contains ".."') } });

    // Fine as text, but a symlink in the repository leads out of it: only the disk can tell.
    symlinkSync(fx.root, join(fx.repoDir, 'outside'));
    const symlinked = await raw(h, 'PATCH', `/api/projects/${created.id}`, { body: JSON.stringify({ repo: { path: fx.repoDir, files: [{ path: 'outside/home', mode: 'copy' }] } }) });
    expect(symlinked.status).toBe(400);
    expect(symlinked.body).toMatchObject({
      error: { code: 'INVALID_PATH', message: expect.stringContaining('The worktree file "outside/home" (copy) resolves to'), details: { file: { path: 'outside/home', mode: 'copy' } } },
    });

    const noTemplateId = await raw(h, 'PATCH', `/api/projects/${created.id}`, { body: JSON.stringify({ repo: { path: fx.repoDir, branchTemplate: 'work/{slug}' } }) });
    expect(noTemplateId.status).toBe(400);
    expect((await h.client.getProject({ params: { id: created.id } })).repo).toEqual(created.repo);

    const rebound = await h.client.patchProject({ params: { id: created.id }, body: { repo: { path: fx.repoDir, baseRef: 'main', checks: [{ name: 'test', argv: ['true'], timeoutMs: 5000 }] } } });
    expect(rebound.repo?.checks).toEqual([{ name: 'test', argv: ['true'], timeoutMs: 5000 }]);
    expect((await h.client.patchProject({ params: { id: created.id }, body: { repo: null } })).repo).toBeNull();
  });

  it('two tasks moved to in_progress (PATCH, reorder) each get their worktree and branch with the setup run before the message; the CLI runs in the worktree; starting one again is a no-op', async () => {
    const fx = gitRepos();
    const { h, logFile } = await start();
    const setupCount = join(fx.root, 'setup-count');
    // The setup gets an agent CLI's base environment, not the daemon's (whose secrets it must not see).
    process.env.TINYAGI_PLANTED_SECRET = 'planted';
    const project = await h.client.createProject({
      body: {
        name: 'Web',
        repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), setup: { argv: ['sh', '-c', 'echo "$PWD $' + '{TINYAGI_PLANTED_SECRET:-unset}" >> "$0"', setupCount], timeoutMs: 10_000 } },
      },
    });
    const one = await h.client.createTask({ body: { title: 'Fix the login page', projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });
    const two = await h.client.createTask({ body: { title: 'Add a footer', projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });
    expect(one.git).toBeNull();

    const moved = await h.client.patchTask({ params: { id: one.id }, body: { status: 'in_progress' } });
    const reordered = await h.client.reorderTasks({ body: { columns: { in_progress: [one.id, two.id] } } });
    const both = [moved, reordered.find((t) => t.id === two.id)!];
    const wt1 = join(fx.root, 'worktrees', 'WEB-1');
    const wt2 = join(fx.root, 'worktrees', 'WEB-2');
    // A repository of one file that copies no folder: `auto` checks it out in full, and says why.
    const small = { kind: 'full', why: 'the repository has 1 tracked files and the binding copies no folder' };
    expect(both.map((t) => t.git)).toEqual([
      { state: 'ready', branch: 'tinyagi/WEB-1-fix-the-login-page', worktreePath: wt1, headSha: sh(fx.repoDir, 'rev-parse', 'main'), error: null, updatedAt: expect.any(Number), checkout: small },
      { state: 'ready', branch: 'tinyagi/WEB-2-add-a-footer', worktreePath: wt2, headSha: sh(fx.repoDir, 'rev-parse', 'main'), error: null, updatedAt: expect.any(Number), checkout: small },
    ]);
    // The worktrees are git's, each on its own branch, and the setup ran once in each.
    expect(sh(wt1, 'branch', '--show-current')).toBe('tinyagi/WEB-1-fix-the-login-page');
    expect(sh(wt2, 'branch', '--show-current')).toBe('tinyagi/WEB-2-add-a-footer');
    expect(readFileSync(setupCount, 'utf8').trim().split('\n').sort()).toEqual([`${wt1} unset`, `${wt2} unset`]);
    const created = await eventsOf(h.stores, { types: ['task.worktree_created'] });
    expect(created.map((e) => [e.data.identifier, e.data.created, e.data.worktreePath, typeof e.data.setupMs])).toEqual([
      ['WEB-1', true, wt1, 'number'],
      ['WEB-2', true, wt2, 'number'],
    ]);

    // The message names the worktree; the agent's CLI ran there.
    await completed(h, both[0]!.conversationId!);
    await completed(h, both[1]!.conversationId!);
    const runs = runsLogged(logFile);
    expect(runs.map((r) => r.cwd).sort()).toEqual([wt1, wt2]);
    const runOfOne = runs.find((r) => r.cwd === wt1)!;
    expect(runOfOne.prompt).toContain(`[task:${one.id}] WEB-1: Fix the login page`);
    expect(runOfOne.prompt).toContain(`Work in the git worktree ${wt1} (branch tinyagi/WEB-1-fix-the-login-page)`);

    // The agent commits; the task goes back to todo and is started again: the same worktree and branch, commits kept, no second setup.
    const commit = commitFile(wt1, 'login.ts', 'export const fixed = true;\n', 'fix the login page');
    await h.client.patchTask({ params: { id: one.id }, body: { status: 'todo' } });
    const again = await h.client.patchTask({ params: { id: one.id }, body: { status: 'in_progress' } });
    expect(again.git).toMatchObject({ state: 'ready', worktreePath: wt1, headSha: commit });
    expect(readFileSync(setupCount, 'utf8').trim().split('\n')).toHaveLength(2);
    const last = (await eventsOf(h.stores, { types: ['task.worktree_created'] })).at(-1)!;
    expect(last.data).toMatchObject({ identifier: 'WEB-1', created: false, headSha: commit });
    expect(last.data.setupMs).toBeUndefined();
    await completed(h, again.conversationId!);
    expect(runsLogged(logFile).map((r) => r.cwd)).toEqual([...runs.map((r) => r.cwd), wt1]);
  });

  it('three tasks of one repository started at the same moment get three worktrees on three branches', async () => {
    const fx = gitRepos();
    const { h } = await start();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    // Created one after the other (identifiers follow creation order), then started at the same moment.
    const tasks = [];
    for (const n of [1, 2, 3]) tasks.push(await h.client.createTask({ body: { title: `Part ${n}`, projectId: project.id, assigneeAgent: 'coder', status: 'todo' } }));
    const started = await Promise.all(tasks.map((t) => h!.client.patchTask({ params: { id: t.id }, body: { status: 'in_progress' } })));
    expect(started.map((t) => [t.git?.state, t.git?.branch]).sort()).toEqual([
      ['ready', 'tinyagi/WEB-1-part-1'],
      ['ready', 'tinyagi/WEB-2-part-2'],
      ['ready', 'tinyagi/WEB-3-part-3'],
    ]);
    for (const t of started) expect(sh(t.git!.worktreePath!, 'branch', '--show-current')).toBe(t.git!.branch);
    for (const t of started) await completed(h, t.conversationId!);
  });

  it('a failing setup keeps the task where it is, unsent, with the error and an event; fixed and started again it is sent', async () => {
    const fx = gitRepos();
    const { h, logFile } = await start();
    const project = await h.client.createProject({
      body: { name: 'Api', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), setup: { argv: ['sh', '-c', 'echo no lockfile >&2; exit 3'], timeoutMs: 10_000 } } },
    });
    const task = await h.client.createTask({ body: { title: 'Broken setup', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    expect(task).toMatchObject({
      status: 'in_progress',
      conversationId: null,
      git: { state: 'failed', error: { code: 'WORKTREE_SETUP_FAILED', message: expect.stringContaining('failed with exit code 3') } },
    });
    expect((await h.client.getTask({ params: { id: task.id } })).git?.state).toBe('failed');
    const failed = await eventsOf(h.stores, { types: ['task.worktree_failed'] });
    expect(failed.map((e) => [e.data.identifier, e.data.code])).toEqual([['API-1', 'WORKTREE_SETUP_FAILED']]);

    await h.client.patchProject({ params: { id: project.id }, body: { repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), setup: { argv: ['true'], timeoutMs: 10_000 } } } });
    await h.client.patchTask({ params: { id: task.id }, body: { status: 'todo' } });
    const sent = await h.client.patchTask({ params: { id: task.id }, body: { status: 'in_progress' } });
    expect(sent.git).toMatchObject({ state: 'ready', worktreePath: join(fx.root, 'worktrees', 'API-1'), error: null });
    await completed(h, sent.conversationId!);
    expect(runsLogged(logFile).map((r) => r.cwd)).toEqual([join(fx.root, 'worktrees', 'API-1')]);
  });

  it("a teammate the assignee hands the task to works in the task's worktree too", async () => {
    const fx = gitRepos();
    const { h, logFile } = await start();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const task = await h.client.createTask({
      body: { title: 'Review me', description: 'FAKE:reply=[@reviewer: please review]', projectId: project.id, assigneeTeam: 'dev', status: 'in_progress' },
    });
    await completed(h, task.conversationId!);
    const wt = join(fx.root, 'worktrees', 'WEB-1');
    const runs = runsLogged(logFile);
    expect(runs.map((r) => [r.env.TINYAGI_RUN_ID !== undefined, r.cwd])).toEqual([
      [true, wt],
      [true, wt],
    ]);
    expect(runs[1]!.prompt).toContain('please review');
  });

  it('at start, the dispatch of a bound task a crash interrupted (before or inside the worktree step) is run again, once', async () => {
    const fx = gitRepos();
    const { h, logFile } = await start();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const plain = await h.client.createProject({ body: { name: 'Plain' } });
    // What a daemon killed mid-dispatch leaves: the status committed, and no step yet (one) or a step begun (two).
    const make = async (title: string, projectId: string) => {
      const t = await h!.client.createTask({ body: { title, projectId, assigneeAgent: 'coder', status: 'todo' } });
      return (await h!.stores.tasks.updateTask(t.id, { status: 'in_progress' })).after;
    };
    const one = await make('Before the step', project.id);
    const two = await make('Inside the step', project.id);
    await h.stores.tasks.setTaskGit(two.id, { state: 'creating', branch: null, worktreePath: null, headSha: null, error: null, updatedAt: Date.now() });
    const unbound = await make('Not bound', plain.id);

    expect(await h.app.tiny.taskFlow.sweep(true)).toBe(2);
    const resumed = await Promise.all([one, two].map((t) => h!.client.getTask({ params: { id: t.id } })));
    expect(resumed.map((t) => [t.id, t.git?.state, t.conversationId !== null])).toEqual([
      [one.id, 'ready', true],
      [two.id, 'ready', true],
    ]);
    for (const t of resumed) await completed(h, t.conversationId!);
    expect(
      runsLogged(logFile)
        .map((r) => r.cwd)
        .sort(),
    ).toEqual([join(fx.root, 'worktrees', 'WEB-1'), join(fx.root, 'worktrees', 'WEB-2')]);
    expect((await h.client.getTask({ params: { id: unbound.id } })).conversationId).toBeNull();
    // Recorded: nothing is left to resume.
    expect(await h.app.tiny.taskFlow.sweep(true)).toBe(0);
  });

  it('a request never moves a task into checking (the daemon does); one already there may stay', async () => {
    const { h } = await start();
    const task = await h.client.createTask({ body: { title: 'Plain', status: 'todo' } });
    const refusals = [
      await raw(h, 'POST', '/api/tasks', { body: JSON.stringify({ title: 'x', status: 'checking' }) }),
      await raw(h, 'PATCH', `/api/tasks/${task.id}`, { body: JSON.stringify({ status: 'checking' }) }),
      await raw(h, 'POST', '/api/tasks/reorder', { body: JSON.stringify({ columns: { checking: [task.id] } }) }),
    ];
    expect(refusals.map((r) => [r.status, (r.body as { error: { code: string } }).error.code])).toEqual([
      [409, 'INVALID_STATE'],
      [409, 'INVALID_STATE'],
      [409, 'INVALID_STATE'],
    ]);
    expect((await h.client.getTask({ params: { id: task.id } })).status).toBe('todo');
    expect(await h.client.listTasks({ query: {} })).toHaveLength(1);
    // The daemon's move (the store), then a reorder inside the column is fine.
    await h.stores.tasks.updateTask(task.id, { status: 'checking' });
    expect((await h.client.reorderTasks({ body: { columns: { checking: [task.id] } } })).map((t) => t.status)).toEqual(['checking']);
  });
});

/** The agent's `update_task` call as agent.sh makes it, its answer saved to `out`. */
const sayDoneStep = (status: string, out: string): string =>
  `curl -q -sS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"${status}"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > ${out}`;

const commitStep = (file: string, content: string): string =>
  `printf '%s\\n' '${content}' > ${file} && git add ${file} && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'change ${file}'`;

async function taskWhen(harness: ServerHarness, id: string, test: (t: Awaited<ReturnType<ServerHarness['client']['getTask']>>) => boolean, what: string) {
  return waitFor(
    async () => {
      const t = await harness.client.getTask({ params: { id } });
      return test(t) ? t : undefined;
    },
    30_000,
    what,
  );
}

/** The fake claude as the coder agent, told the server's URL (its `update_task` calls reach the routes). */
async function startScripted(): Promise<{ harness: ServerHarness; logFile: string }> {
  let apiUrl = '';
  const logFile = join(tempDir('tinyagi-git-log-'), 'fake.log');
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' } }, teams: {} });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, TINYAGI_API_URL: apiUrl } });
  const harness = await startHarness({ settings, invoke });
  h = harness;
  apiUrl = harness.url;
  return { harness, logFile };
}

describe('git-native tasks: done, checking and feedback', () => {
  it('the agent says done: no commits, then a failing check (its name and log tail reach the owner), the same failure again named without its log, then a fix: review; a review comment sent back, fixed, checked: review again', async () => {
    const fx = gitRepos();
    const { harness, logFile } = await startScripted();
    const check = ['sh', '-c', 'cat login.ts 2>&1; grep -q fixed login.ts 2>/dev/null || { echo "FAIL login.ts: expected the word fixed"; exit 2; }'];
    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [{ name: 'login', argv: check, timeoutMs: 10_000 }] } },
    });
    const agent = scriptedAgent([
      'true', // says done with nothing committed
      commitStep('login.ts', 'broken'),
      commitStep('notes.txt', 'tried'), // the same failure: named again, its log not sent twice
      commitStep('login.ts', 'fixed'),
      commitStep('login.ts', 'fixed: the session check'), // after a person's review comment
    ]);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const wt = join(fx.root, 'worktrees', 'WEB-1');

    // Round 1: no commits; round 2: the check fails; round 3: the same failure. Each is a message to the owner, which runs the next step.
    const reviewed = await taskWhen(harness, task.id, (t) => t.status === 'review', 'review');
    const feedback = await eventsOf(harness.stores, { types: ['task.feedback_sent'] });
    // Round 1 carries two failures (no commits; the check, login.ts missing); round 2 the check's new failure; round 3 none new.
    expect(feedback.map((e) => [e.data.round, e.data.fingerprints.length])).toEqual([
      [1, 2],
      [2, 1],
      [3, 0],
    ]);
    const checked = await eventsOf(harness.stores, { types: ['task.checked'] });
    expect(checked.map((e) => [e.data.passed, e.data.checks.map((c) => [c.name, c.exitCode])])).toEqual([
      [false, [['login', 2]]],
      [false, [['login', 2]]],
      [false, [['login', 2]]],
      [true, [['login', 0]]],
    ]);
    expect(checked[0]!.data.missing[0]).toContain('has no commits beyond main');
    expect(checked[3]!.data.missing).toEqual([]);
    for (const e of feedback) await completed(harness, e.data.conversationId);
    const prompts = runsLogged(logFile).map((r) => r.prompt);
    expect(prompts).toHaveLength(4);
    expect(prompts[1]).toContain('round 1 of 5');
    expect(prompts[1]).toContain(`No commits: the branch tinyagi/WEB-1-fix-login-fake-bash-sh`);
    expect(prompts[2]).toContain('round 2 of 5');
    expect(prompts[2]).toContain(`The check "login" (\`${check.join(' ')}\`) exited with code 2.`);
    expect(prompts[2]).toContain('FAIL login.ts: expected the word fixed');
    expect(prompts[2]).toContain('broken');
    expect(prompts[2]).not.toContain('No commits');
    // Round 3: the owner hears the task came back, the failure in one sentence, its log not again.
    expect(prompts[3]).toContain('round 3 of 5');
    expect(prompts[3]).toContain(`The same as in an earlier message of this task (its output is there): The check "login" (\`${check.join(' ')}\`) exited with code 2.`);
    expect(prompts[3]).not.toContain('The end of its output');
    expect(prompts[3]).not.toContain('broken');
    expect(runsLogged(logFile).map((r) => r.cwd)).toEqual([wt, wt, wt, wt]);
    // The recorded check: head, each check's argv, exit code, duration and log; each failure recorded as sent once.
    expect(reviewed.git).toMatchObject({
      rounds: 3,
      feedbackSent: [expect.any(String), expect.any(String), expect.any(String)],
      check: {
        state: 'passed',
        headSha: sh(wt, 'rev-parse', 'HEAD'),
        commits: 3,
        checks: [{ name: 'login', argv: check, exitCode: 0, timedOut: false, ok: true, durationMs: expect.any(Number), log: expect.stringContaining('fixed') }],
      },
    });
    expect(reviewed.conversationId).toBe(feedback[2]!.data.conversationId);
    expect(agent.stepsRun()).toBe(4);

    // A person's review: a comment on a line of the diff reaches the agent, which commits a fix; checked again, the task is back in review.
    const comment = await harness.client.addComment({ params: { id: task.id }, body: { content: 'Say what was fixed.', anchor: { path: 'login.ts', line: 1 } } });
    const asked = await harness.client.requestChanges({ params: { id: task.id }, body: {} });
    expect(asked.sent).toMatchObject({ round: 4, commentIds: [comment.id] });
    expect(asked.task.status).toBe('in_progress');
    const again = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.check?.headSha !== reviewed.git?.check?.headSha, 'review again');
    await completed(harness, asked.sent.conversationId);
    const reviewRun = runsLogged(logFile)[4]!;
    expect(reviewRun.cwd).toBe(wt);
    expect(reviewRun.prompt).toContain('asks for changes (round 4): one comment on its lines.');
    expect(reviewRun.prompt).toContain('1. login.ts:1, from user, on the line:\n> fixed\nSay what was fixed.');
    expect(again.git).toMatchObject({ rounds: 4, check: { state: 'passed', headSha: sh(wt, 'rev-parse', 'HEAD'), commits: 4 } });
    expect((await harness.client.listComments({ params: { id: task.id } })).map((c) => c.sentRound)).toEqual([4]);
    expect(agent.stepsRun()).toBe(5);
  });

  it("an agent's move to review on a task a person moved out of work meanwhile is refused: the person's move stands, nothing reaches Review unchecked", async () => {
    const fx = gitRepos();
    const { harness } = await startScripted();
    const project = await harness.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    // The run commits, then waits (as a run the daemon's restart carried on would) until the person has moved the task; then it says done.
    const dir = tempDir('tinyagi-git-moved-');
    const gate = join(dir, 'moved');
    const answer = join(dir, 'answer.json');
    const agent = scriptedAgent([`${commitStep('a.txt', 'one')} && while [ ! -e "${gate}" ]; do sleep 0.05; done && ${sayDoneStep('review', answer)}`]);
    const task = await harness.client.createTask({ body: { title: agent.title('Moved away'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    await waitFor(() => agent.stepsRun() === 1 || undefined, 30_000, 'the run started');
    await harness.client.patchTask({ params: { id: task.id }, body: { status: 'todo' } });
    writeFileSync(gate, '');
    await waitFor(() => (existsSync(answer) && readFileSync(answer, 'utf8').trim() !== '') || undefined, 30_000, "the agent's answer");
    expect(JSON.parse(readFileSync(answer, 'utf8'))).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('a person moved it') } });
    expect((await harness.client.getTask({ params: { id: task.id } })).status).toBe('todo');
  });

  it('a hanging check is killed at its timeout and reported as such; after maxRounds a person is asked, the task stays in checking', async () => {
    const fx = gitRepos();
    const { harness, logFile } = await startScripted();
    const project = await harness.client.createProject({
      body: {
        name: 'Web',
        repo: {
          path: fx.repoDir,
          worktreeRoot: join(fx.root, 'worktrees'),
          maxRounds: 1,
          checks: [{ name: 'e2e', argv: ['sh', '-c', 'echo waiting for the server; exec sleep 60'], timeoutMs: 1000 }],
        },
      },
    });
    // The first step says done itself, then tries to move the task on while its check runs (the check takes 1 s at least): refused.
    const refused = join(tempDir('tinyagi-git-refused-'), 'answer.json');
    const agent = scriptedAgent([`${commitStep('a.txt', 'one')} && ${sayDoneStep('review', '/dev/null')} && ${sayDoneStep('done', refused)}`, commitStep('a.txt', 'two')]);
    const task = await harness.client.createTask({ body: { title: agent.title('Hang'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    const asked = await taskWhen(harness, task.id, (t) => t.git?.check?.state === 'needs_person', 'a person asked');
    expect(asked.status).toBe('checking');
    expect(JSON.parse(readFileSync(refused, 'utf8'))).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('is being checked') } });
    expect(asked.git).toMatchObject({ rounds: 1, check: { checks: [{ name: 'e2e', timedOut: true, exitCode: null, ok: false, log: expect.stringContaining('waiting for the server') }] } });
    const [sent] = await eventsOf(harness.stores, { types: ['task.feedback_sent'] });
    await completed(harness, sent!.data.conversationId);
    expect(runsLogged(logFile)[1]!.prompt).toContain('The check "e2e" (`sh -c echo waiting for the server; exec sleep 60`) timed out after 1 s.');
    const exhausted = await eventsOf(harness.stores, { types: ['task.rounds_exhausted'] });
    expect(exhausted.map((e) => [e.data.identifier, e.data.rounds])).toEqual([['WEB-1', 1]]);
    expect(agent.stepsRun()).toBe(2);
    // Recorded as a person's to decide: a start finds nothing to resume.
    expect(await harness.app.tiny.taskFlow.sweep(true)).toBe(0);
  });

  it('with a remote, a commit not pushed is sent back as such; pushed (by ancestry), the task reaches review', async () => {
    const fx = gitRepos({ remote: true });
    const { harness, logFile } = await startScripted();
    const project = await harness.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', worktreeRoot: join(fx.root, 'worktrees') } } });
    const agent = scriptedAgent([commitStep('a.txt', 'one'), 'git push -q origin HEAD']);
    const task = await harness.client.createTask({ body: { title: agent.title('Push'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const reviewed = await taskWhen(harness, task.id, (t) => t.status === 'review', 'review');
    expect(reviewed.git).toMatchObject({ rounds: 1, check: { state: 'passed', pushed: true, commits: 1 } });
    const [sent] = await eventsOf(harness.stores, { types: ['task.feedback_sent'] });
    await completed(harness, sent!.data.conversationId);
    expect(runsLogged(logFile)[1]!.prompt).toContain('Not pushed:');
    expect(sh(fx.remoteDir!, 'rev-parse', reviewed.git!.branch!)).toBe(reviewed.git!.check!.headSha);
  });

  it('at start, a Checking a crash interrupted is run again (running), finished (recorded), and its feedback is not sent twice', async () => {
    const fx = gitRepos();
    const { h, logFile } = await start();
    const project = await h.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [{ name: 'lint', argv: ['sh', '-c', 'echo "lint: 3 problems"; exit 1'], timeoutMs: 10_000 }] } },
    });
    const task = await h.client.createTask({ body: { title: 'Crash', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    await completed(h, task.conversationId!);
    commitFile(task.git!.worktreePath!, 'a.txt', 'a\n');
    const ready = (await h.client.getTask({ params: { id: task.id } })).git!;
    // What a daemon killed inside the check leaves: the task in checking, its check running.
    const crashed = async (git: typeof ready) => {
      await h.stores.tasks.updateTask(task.id, { status: 'checking' });
      await h.stores.tasks.setTaskGit(task.id, git);
    };
    const running = { state: 'running' as const, headSha: null, startedAt: Date.now(), finishedAt: null, commits: 0, uncommitted: [], pushed: null, checks: [], missing: [], error: null };
    await crashed({ ...ready, check: running });
    expect(await h.app.tiny.taskFlow.sweep(true)).toBe(1);
    const first = await taskWhen(h, task.id, (t) => t.status === 'in_progress' && t.git?.rounds === 1, 'round 1');
    expect(first.git?.check).toMatchObject({ state: 'failed', checks: [{ name: 'lint', exitCode: 1 }] });

    // Killed after the message was sent, before it was recorded: the step runs again and the queue finds the message by its key.
    await crashed({ ...ready, check: running });
    await h.app.tiny.taskFlow.sweep(true);
    const again = await taskWhen(h, task.id, (t) => t.status === 'in_progress' && t.git?.check?.state === 'failed', 'checked again');
    expect(again.conversationId).toBe(first.conversationId);
    expect(await eventsOf(h.stores, { types: ['task.checked'] })).toHaveLength(2);
    expect(await eventsOf(h.stores, { types: ['task.feedback_sent'] })).toHaveLength(1);

    // Killed after the result was recorded, before the move: finished without running anything.
    await h.stores.tasks.updateTask(task.id, { status: 'checking' });
    expect(await h.app.tiny.taskFlow.sweep(true)).toBe(1);
    expect((await h.client.getTask({ params: { id: task.id } })).status).toBe('in_progress');
    expect(await eventsOf(h.stores, { types: ['task.checked'] })).toHaveLength(2);
    await completed(h, first.conversationId!);
    const prompts = runsLogged(logFile).map((r) => r.prompt);
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toContain('The check "lint" (`sh -c echo "lint: 3 problems"; exit 1`) exited with code 1.');
  });
});
