/**
 * Git-native tasks with a forge (docs/git-tasks.md, "With a GitHub forge"), end to end
 * through test-kit's GitHub stand-in (written from GitHub's OpenAPI description), whose bare
 * repository is the project's remote: the agent (the fake claude running a script in its
 * worktree) commits, pushes and says done; the Checking passes and the pull request is opened; a
 * failed check run and then a review comment on GitHub reach the owner through
 * `POST /api/tasks/:id/forge/sync`, each once; the person's merge is made on GitHub, proved by
 * ancestry after a fetch, and the worktree is removed. Real git, real HTTP, nothing of ours mocked.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { fakeCli, gitRepos, sh, tempDir, waitFor } from '@tinyagi/test-kit';
import { githubExchangeProblems } from '@tinyagi/test-kit/github-openapi';
import { type GitHubStandIn, startGitHubStandIn } from '@tinyagi/test-kit/github-standin';
import { afterEach, describe, expect, it } from 'vitest';
import { baseSettings, eventsOf, raw, type ServerHarness, startHarness } from './harness.ts';
import { prompts, scriptedAgent } from './git-harness.ts';

let h: ServerHarness | undefined;
let gh: GitHubStandIn | undefined;
afterEach(async () => {
  await h?.close();
  await gh?.close();
  h = undefined;
  gh = undefined;
});

const commitAndPush = (content: string): string =>
  `printf '%s\\n' '${content}' > login.ts && git add login.ts && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'login: ${content}' && git push -q origin HEAD`;

async function start(env: Record<string, string>): Promise<{ harness: ServerHarness; logFile: string }> {
  let apiUrl = '';
  const logFile = join(tempDir('tinyagi-forge-log-'), 'fake.log');
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' } }, teams: {} });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, TINYAGI_API_URL: apiUrl } });
  const harness = await startHarness({ settings, invoke, env });
  h = harness;
  apiUrl = harness.url;
  return { harness, logFile };
}

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

describe('git-native tasks with a GitHub forge', () => {
  it('checks pass and the branch is pushed: a pull request opens; a failed check run, then a review comment, reach the owner once each; the merge is made on GitHub and the worktree removed', async () => {
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web', token: 'ghp_forgeTestToken0123456789abcdefghijklm' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const { harness, logFile } = await start({ TINYAGI_TEST_GH_TOKEN: gh.token });

    // A forge needs a remote: refused without one. Read on request only here (`pollSeconds: 0`): the poll has its own test.
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 0 };
    const noRemote = await raw(harness, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Web', repo: { path: fx.repoDir, forge } }) });
    expect(noRemote.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('A forge needs the remote') } });

    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } },
    });
    expect(project.repo?.forge).toEqual(forge);
    const agent = scriptedAgent([commitAndPush('v1'), commitAndPush('v2 fixed'), commitAndPush('v3 const')]);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

    // Round 0: committed, pushed, checked: Review, and the pull request is opened for the branch.
    const opened = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.pullRequest !== undefined, 'review with a pull request');
    const branch = opened.git!.branch!;
    expect(opened.git!.pullRequest).toEqual({ number: 1, url: expect.stringContaining('/octo-org/web/pull/1'), headRef: branch, baseRef: 'main', openedAt: expect.any(Number) });
    const [openedEvent] = await eventsOf(harness.stores, { types: ['task.pull_request_opened'] });
    expect(openedEvent?.data).toMatchObject({ identifier: 'WEB-1', number: 1, headRef: branch, baseRef: 'main', created: true });
    const v1 = opened.git!.check!.headSha!;
    expect(sh(gh.barePath, 'rev-parse', branch)).toBe(v1);

    // Nothing on GitHub yet: a sync sends nothing.
    const quiet = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(quiet).toMatchObject({ sent: null, headSha: v1, checkRuns: [], newComments: 0, newFailedChecks: 0, task: { status: 'review' } });

    // CI fails on GitHub: the sync sends it to the owner (round 1), who fixes, pushes and says done.
    await gh.addCheckRun({ headSha: v1, name: 'ci', conclusion: 'failure', output: { title: '1 test failed', summary: 'login.test.ts', text: 'FAIL login.test.ts: expected "fixed"' } });
    await gh.addCheckRun({ headSha: v1, name: 'lint', conclusion: 'success' });
    const failedCi = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(failedCi).toMatchObject({ newFailedChecks: 1, sent: { round: 1 }, task: { status: 'in_progress' } });
    expect(failedCi.checkRuns.map((r) => [r.name, r.conclusion])).toEqual([
      ['ci', 'failure'],
      ['lint', 'success'],
    ]);
    const second = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.check?.headSha !== v1, 'review after the CI fix');
    const v2 = second.git!.check!.headSha!;
    expect(second.git).toMatchObject({ rounds: 1, pullRequest: { number: 1 }, forgeSent: [expect.stringMatching(/^check:\d+$/)] });
    expect(prompts(logFile)[1]).toContain('Its pull request #1 on GitHub asks for changes (round 1): a failed check run.');
    expect(prompts(logFile)[1]).toContain('The check run "ci" on GitHub ended failure: 1 test failed.');
    expect(prompts(logFile)[1]).toContain('FAIL login.test.ts: expected "fixed"');
    // The same failed run is not sent again (and is no longer the head's).
    expect(await harness.client.syncTaskForge({ params: { id: task.id } })).toMatchObject({ sent: null, headSha: v2 });

    // A reviewer comments on a line on GitHub: stored as the task's review comment and sent (round 2).
    await gh.addReviewComment({ pullNumber: 1, path: 'login.ts', line: 1, body: 'Make it a constant.', login: 'ann' });
    await gh.addReview({ pullNumber: 1, state: 'CHANGES_REQUESTED', body: 'Close; see the line comment.', login: 'ann' });
    await gh.addReview({ pullNumber: 1, state: 'APPROVED', body: 'Fine by me.', login: 'bob' });
    const commented = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(commented).toMatchObject({ newComments: 1, newReviews: 1, sent: { round: 2 }, task: { status: 'in_progress' } });
    const stored = await harness.client.listComments({ params: { id: task.id } });
    // The failed check and the review's body went as their round's summary, kept as comments on the task; the review comment anchored on its line.
    expect(stored.map((c) => [c.author, c.content.split('\n')[0], c.anchor?.path, c.anchor?.line, c.anchor?.side, c.anchor?.commitSha, c.sentRound])).toEqual([
      ['github', `From the pull request ${second.git!.pullRequest!.url} (it follows the branch: push what you commit):`, undefined, undefined, undefined, undefined, 1],
      ['github:ann', 'Make it a constant.', 'login.ts', 1, 'new', v2, 2],
      ['github', `From the pull request ${second.git!.pullRequest!.url} (it follows the branch: push what you commit):`, undefined, undefined, undefined, undefined, 2],
    ]);
    const third = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.check?.headSha !== v2, 'review after the comment');
    const v3 = third.git!.check!.headSha!;
    expect(prompts(logFile)[2]).toContain('Its pull request #1 on GitHub asks for changes (round 2): a review and a review comment.');
    expect(prompts(logFile)[2]).toContain('ann requested changes on GitHub');
    expect(prompts(logFile)[2]).toContain('Close; see the line comment.');
    expect(prompts(logFile)[2]).not.toContain('Fine by me.');
    expect(prompts(logFile)[2]).toContain('login.ts:1, from github:ann');
    expect(prompts(logFile)[2]).toContain('Make it a constant.');
    expect(await harness.client.syncTaskForge({ params: { id: task.id } })).toMatchObject({ sent: null, newComments: 0, newReviews: 0, headSha: v3 });
    expect(await eventsOf(harness.stores, { types: ['task.pull_request_opened'] })).toHaveLength(1);

    // The person's merge: made on GitHub with the checked head, the base fetched and proved, the worktree gone.
    const mainBefore = sh(gh.barePath, 'rev-parse', 'main');
    // A stray file in the worktree: refused before GitHub is asked, as a local merge is.
    writeFileSync(join(third.git!.worktreePath!, 'stray.txt'), 'not committed\n');
    const stray = await raw(harness, 'POST', `/api/tasks/${task.id}/merge`, { body: '{}' });
    expect(stray.body).toMatchObject({ error: { code: 'WORKTREE_UNSAFE', message: expect.stringContaining('stray.txt') } });
    expect(sh(gh.barePath, 'rev-parse', 'main')).toBe(mainBefore);
    rmSync(join(third.git!.worktreePath!, 'stray.txt'));
    const ff = await raw(harness, 'POST', `/api/tasks/${task.id}/merge`, { body: '{"method":"ff"}' });
    expect(ff.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('merged on GitHub with a merge commit') } });
    const merged = await harness.client.mergeTask({ params: { id: task.id }, body: {} });
    expect(merged.task.status).toBe('done');
    expect(merged.merge).toMatchObject({ method: 'merge', branch, baseRef: 'origin/main', tip: v3, commit: sh(gh.barePath, 'rev-parse', 'main'), created: true });
    expect(sh(gh.barePath, 'rev-list', '--parents', '-n', '1', 'main').split(' ').slice(1)).toEqual([mainBefore, v3]);
    expect(merged.worktree).toEqual({ removed: true, branchDeleted: true });
    expect(existsSync(third.git!.worktreePath!)).toBe(false);
    expect(sh(fx.repoDir, 'rev-parse', 'origin/main')).toBe(merged.merge.commit);
    expect((await eventsOf(harness.stores, { types: ['task.merged'] })).map((e) => e.data.commit)).toEqual([merged.merge.commit]);

    // Every exchange with the stand-in matches GitHub's description; the token was never answered.
    expect(gh.exchanges.flatMap(githubExchangeProblems)).toEqual([]);
    const everything = JSON.stringify([await harness.client.getTask({ params: { id: task.id } }), await harness.client.getProject({ params: { id: project.id } }), await eventsOf(harness.stores, {})]);
    expect(everything).not.toContain(gh.token);
  });

  it('refuses a merge when the branch moved on GitHub after the checks passed, and a forge without its token', async () => {
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const { harness } = await start({ TINYAGI_TEST_GH_TOKEN: gh.token });
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN' };
    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } },
    });
    const agent = scriptedAgent([commitAndPush('v1')]);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const reviewed = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.pullRequest !== undefined, 'review with a pull request');

    // A co-worker pushes to the branch on GitHub: the checked commit is no longer the head.
    const other = join(fx.root, 'other');
    sh(fx.root, 'clone', '--quiet', gh.barePath, other);
    sh(other, 'checkout', '--quiet', reviewed.git!.branch!);
    writeFileSync(join(other, 'extra.txt'), 'unchecked\n');
    sh(other, 'add', 'extra.txt');
    sh(other, 'commit', '--quiet', '-m', 'unchecked');
    sh(other, 'push', '--quiet', 'origin', 'HEAD');
    const mainBefore = sh(gh.barePath, 'rev-parse', 'main');
    const stale = await raw(harness, 'POST', `/api/tasks/${task.id}/merge`, { body: '{}' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('Head branch was modified') } });
    expect(sh(gh.barePath, 'rev-parse', 'main')).toBe(mainBefore);
    expect((await harness.client.getTask({ params: { id: task.id } })).status).toBe('review');
    expect(existsSync(reviewed.git!.worktreePath!)).toBe(true);

    // Without the token in the daemon's environment: refused, naming the variable, not a value.
    await h!.close();
    h = undefined;
    const bare = await start({});
    const orphan = await bare.harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees2'), forge } },
    });
    const t2 = await bare.harness.client.createTask({ body: { title: 'x', projectId: orphan.id, status: 'todo' } });
    await bare.harness.stores.tasks.setTaskGit(t2.id, { ...reviewed.git!, worktreePath: null });
    const noToken = await raw(bare.harness, 'POST', `/api/tasks/${t2.id}/forge/sync`, {});
    expect(noToken.status).toBe(409);
    expect(noToken.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('has no TINYAGI_TEST_GH_TOKEN') } });
  });

  it('the daemon polls a task in review (pollSeconds): its pull request opened once GitHub is back, a failed check run reaches the owner without a sync', async () => {
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const { harness, logFile } = await start({ TINYAGI_TEST_GH_TOKEN: gh.token });
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 1 };
    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } },
    });
    const agent = scriptedAgent([commitAndPush('v1'), commitAndPush('v2 fixed')]);
    // GitHub is down when the Checking passes: the task reaches Review without its pull request, and the poll opens it once GitHub is back.
    gh.outage(true);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const passed = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.check?.state === 'passed', 'review');
    await waitFor(() => gh!.exchanges.some((e) => e.status === 503), 30_000, 'the pull request tried while GitHub is down');
    expect((await harness.client.getTask({ params: { id: task.id } })).git?.pullRequest).toBeUndefined();
    expect(passed.git?.pullRequest).toBeUndefined();
    gh.outage(false);
    const reviewed = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.pullRequest !== undefined, 'review with a pull request');
    const v1 = reviewed.git!.check!.headSha!;
    await gh.addCheckRun({ headSha: v1, name: 'ci', conclusion: 'timed_out', output: { title: 'The job ran out of time' } });
    // Nobody asks: the poll finds the failed run, the owner fixes and pushes, and the task is back in Review on the new head.
    const again = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.check?.headSha !== v1, 'review after the polled feedback');
    expect(again.git).toMatchObject({ rounds: 1, forgeSent: [expect.stringMatching(/^check:\d+$/)] });
    expect(prompts(logFile)[1]).toContain('The check run "ci" on GitHub ended timed_out: The job ran out of time.');
    expect((await eventsOf(harness.stores, { types: ['task.review_sent'] })).map((e) => e.data.round)).toEqual([1]);
  });

  it("a pull request's check run that keeps failing counts its rounds: past maxRounds a person is asked once and nothing is sent; more rounds sends it on; a person's review is sent past the limit", async () => {
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const { harness, logFile } = await start({ TINYAGI_TEST_GH_TOKEN: gh.token });
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 0 };
    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), maxRounds: 1, forge } },
    });
    const agent = scriptedAgent([commitAndPush('v1'), commitAndPush('v2'), commitAndPush('v3'), commitAndPush('v4')]);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const failOn = async (label: string, before: string | null): Promise<string> => {
      const t = await taskWhen(harness, task.id, (x) => x.status === 'review' && x.git?.pullRequest !== undefined && x.git.check?.headSha !== before, `review (${label})`);
      const head = t.git!.check!.headSha!;
      await gh!.addCheckRun({ headSha: head, name: 'ci', conclusion: 'failure', output: { title: `ci fails on ${label}` } });
      return head;
    };

    // Round 1 is within maxRounds. Its send fails first (the owner unknown to the daemon, as a crash before the send would leave it):
    // the failure is recorded as taken with its summary stored, so the next read sends that round, once, and never reads the run as new again.
    const v1 = await failOn('v1', null);
    await gh.addReviewComment({ pullNumber: 1, path: 'login.ts', line: 1, body: 'Name it.', login: 'ann' });
    await harness.stores.tasks.updateTask(task.id, { assigneeAgent: 'nobody' });
    const unsent = await raw(harness, 'POST', `/api/tasks/${task.id}/forge/sync`, {});
    expect(unsent.status).toBeGreaterThanOrEqual(400);
    expect((await harness.client.getTask({ params: { id: task.id } })).git).toMatchObject({ forgeSent: [expect.stringMatching(/^comment:\d+$/), expect.stringMatching(/^check:\d+$/)] });
    await harness.stores.tasks.updateTask(task.id, { assigneeAgent: 'coder' });
    expect(await harness.client.syncTaskForge({ params: { id: task.id } })).toMatchObject({ newFailedChecks: 0, newComments: 0, sent: { round: 1 }, task: { status: 'in_progress' } });
    expect((await harness.client.listComments({ params: { id: task.id } })).map((c) => [c.author, c.sentRound])).toEqual([
      ['github:ann', 1],
      ['github', 1],
    ]);
    // The fix fails again on GitHub: the limit is reached, so a person is asked and nothing goes to the owner.
    const v2 = await failOn('v2', v1);
    const held = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(held).toMatchObject({ newFailedChecks: 1, sent: null, roundsApprovalId: expect.stringMatching(/^apr_/), waiting: expect.stringContaining('limit of 1 rounds'), task: { status: 'review' } });
    const again = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(again).toMatchObject({ sent: null, roundsApprovalId: held.roundsApprovalId, task: { status: 'review', git: { rounds: 1, roundsApproval: { id: held.roundsApprovalId } } } });
    const asked = await harness.client.listApprovals({ query: { taskId: task.id } });
    expect(asked.map((a) => [a.id, a.kind, a.status, a.summary])).toEqual([[held.roundsApprovalId, 'task_rounds', 'pending', expect.stringContaining('The check run "ci" on GitHub ended failure.')]]);
    expect(await eventsOf(harness.stores, { types: ['task.rounds_exhausted'] })).toHaveLength(1);
    expect(prompts(logFile).some((p) => p.includes('ci fails on v2'))).toBe(false);

    // More rounds: the held-back run goes to the owner at once (round 2), who pushes v3.
    await harness.client.decideApproval({ params: { id: held.roundsApprovalId! }, body: { decision: 'more_rounds', rounds: 1 } });
    const v3task = await taskWhen(harness, task.id, (x) => x.status === 'review' && x.git?.check?.headSha !== v2, 'review after more rounds');
    expect(v3task.git).toMatchObject({ rounds: 2, roundsLimit: 2, roundsApproval: { id: held.roundsApprovalId, decision: 'more_rounds' } });
    expect(prompts(logFile).filter((p) => p.includes('ci fails on v2'))).toHaveLength(1);
    expect(prompts(logFile).find((p) => p.includes('ci fails on v2'))).toContain('asks for changes (round 2)');

    // At the limit again, a person's review on GitHub is a person's decision: sent and counted, never stopped.
    await gh.addReview({ pullNumber: 1, state: 'CHANGES_REQUESTED', body: 'Rename it.', login: 'ann' });
    expect(await harness.client.syncTaskForge({ params: { id: task.id } })).toMatchObject({ newReviews: 1, sent: { round: 3 }, task: { status: 'in_progress' } });
    const v4task = await taskWhen(harness, task.id, (x) => x.status === 'review' && x.git?.check?.headSha !== v3task.git!.check!.headSha, 'review after the review');
    expect((await eventsOf(harness.stores, { types: ['task.review_sent'] })).map((e) => e.data.round)).toEqual([1, 2, 3]);
    expect((await harness.client.listApprovals({ query: { taskId: task.id } })).map((a) => a.status)).toEqual(['answered']);

    // CI fails once more: a new request (the first was answered). Its more rounds is recorded at the desk and a crash stops the
    // daemon before carrying it out: the start carries it out (the held-back run sent, round 4), once.
    const v4 = v4task.git!.check!.headSha!;
    await gh.addCheckRun({ headSha: v4, name: 'ci', conclusion: 'failure', output: { title: 'ci fails on v4' } });
    const heldAgain = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(heldAgain).toMatchObject({ sent: null, roundsApprovalId: expect.stringMatching(/^apr_/) });
    expect(heldAgain.roundsApprovalId).not.toBe(held.roundsApprovalId);
    await harness.stores.approvals.decide(heldAgain.roundsApprovalId!, { status: 'answered', decision: 'more_rounds', decidedBy: 'cli', reason: null, answer: '1', decidedAt: Date.now() });
    expect(await harness.app.tiny.taskFlow.sweep(true)).toBe(1);
    expect(await harness.app.tiny.taskFlow.sweep(true)).toBe(0);
    await taskWhen(harness, task.id, (x) => x.status === 'review' && x.git?.rounds === 4, 'review after round 4');
    expect(prompts(logFile).filter((p) => p.includes('ci fails on v4'))).toHaveLength(1);
    expect((await eventsOf(harness.stores, { types: ['task.review_sent'] })).map((e) => e.data.round)).toEqual([1, 2, 3, 4]);

    // Failing again at the new limit: a third request; a person merges the task anyway, which withdraws it.
    await gh.addCheckRun({ headSha: v4, name: 'e2e', conclusion: 'failure', output: { title: 'e2e fails on v4' } });
    const third = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(third).toMatchObject({ sent: null, roundsApprovalId: expect.stringMatching(/^apr_/) });
    expect(await harness.client.mergeTask({ params: { id: task.id }, body: {} })).toMatchObject({ task: { status: 'done' } });
    const settled = await harness.client.listApprovals({ query: { taskId: task.id } });
    expect(settled.find((a) => a.id === third.roundsApprovalId)).toMatchObject({ status: 'cancelled', reason: 'the task was merged' });
    expect(settled).toHaveLength(3);
  });

  it('a pull request a person merged on GitHub is proved by ancestry and finished: created false, the worktree removed, the task done', async () => {
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const { harness } = await start({ TINYAGI_TEST_GH_TOKEN: gh.token });
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 0 };
    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } },
    });
    const agent = scriptedAgent([commitAndPush('v1')]);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const reviewed = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.pullRequest !== undefined, 'review with a pull request');
    // Merged on GitHub's page by a person, not through TinyAGI.
    const byHand = await fetch(`${gh.url}/repos/${gh.owner}/${gh.repo}/pulls/1/merge`, { method: 'PUT', headers: { authorization: `token ${gh.token}` }, body: '{}' });
    expect(byHand.status).toBe(200);
    const mergedOnGitHub = sh(gh.barePath, 'rev-parse', 'main');
    const finished = await harness.client.mergeTask({ params: { id: task.id }, body: {} });
    expect(finished).toMatchObject({
      task: { status: 'done' },
      merge: { created: false, tip: reviewed.git!.check!.headSha, commit: mergedOnGitHub, baseRef: 'origin/main' },
      worktree: { removed: true, branchDeleted: true },
    });
    expect(sh(gh.barePath, 'rev-parse', 'main')).toBe(mergedOnGitHub);
    expect(existsSync(reviewed.git!.worktreePath!)).toBe(false);
    expect((await eventsOf(harness.stores, { types: ['task.merged'] })).map((e) => e.data.created)).toEqual([false]);
  });
  it("autoMerge approved: a passed task waits for its pull request's check runs and an approval, then the rule merges it on GitHub (by: rule)", async () => {
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web', token: 'ghp_forgeRuleToken0123456789abcdefghijklm' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const { harness } = await start({ TINYAGI_TEST_GH_TOKEN: gh.token });
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 0 };
    const project = await harness.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge, autoMerge: { when: 'approved' } } },
    });
    const agent = scriptedAgent([commitAndPush('v1')]);
    const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const opened = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.pullRequest !== undefined, 'review with a pull request');
    const tip = opened.git!.check!.headSha!;

    // CI still running, then passing without an approval: the rule waits.
    await gh.addCheckRun({ headSha: tip, name: 'ci', status: 'in_progress' });
    expect((await harness.client.syncTaskForge({ params: { id: task.id } })).task.status).toBe('review');
    await gh.addCheckRun({ headSha: tip, name: 'ci', conclusion: 'success' });
    expect((await harness.client.syncTaskForge({ params: { id: task.id } })).task.status).toBe('review');

    // An approval: the next read merges it on GitHub, as the rule's.
    await gh.addReview({ pullNumber: 1, state: 'APPROVED', body: 'Ship it.', login: 'ann' });
    const synced = await harness.client.syncTaskForge({ params: { id: task.id } });
    expect(synced.task).toMatchObject({ status: 'done', git: { merge: { by: 'auto_merge', tip } } });
    expect(sh(gh.barePath, 'log', '-1', '--format=%P', 'main').split(' ')).toContain(tip);
    expect(existsSync(opened.git!.worktreePath!)).toBe(false);
    expect((await eventsOf(harness.stores, { types: ['task.merged'] })).map((e) => [e.data.identifier, e.data.by])).toEqual([['WEB-1', 'auto_merge']]);
  });
});
