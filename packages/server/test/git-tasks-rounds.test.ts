/**
 * A task whose checks fail after all its rounds asks a person (docs/git-tasks.md, "When the
 * rounds run out"): one `task_rounds` approval, listed by task, never expiring, found again (not made again)
 * by a start; answered through the decision route: more rounds (the round's feedback reaches the
 * owner's run in the worktree), take over (assigned to nobody, nobody sent anything); an answer
 * the desk recorded but a crash did not carry out is carried out at start. Real git, the routes on
 * loopback, the real orchestrator with the fake claude; waits on states and events.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { commitFile, fakeCli, gitRepos, tempDir, waitFor } from '@tinyagi/test-kit';
import { refuseAgentMoveOfTakenOverTask } from '@tinyagi/teams/internal';
import { baseSettings, eventsOf, raw, type ServerHarness, startHarness } from './harness.ts';
import { prompts } from './git-harness.ts';

let h: ServerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(): Promise<{ h: ServerHarness; logFile: string }> {
  const logFile = join(tempDir('tinyagi-rounds-log-'), 'fake.log');
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' } }, teams: {} });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile } });
  h = await startHarness({ settings, invoke });
  return { h, logFile };
}

async function completed(harness: ServerHarness, conversationId: string): Promise<void> {
  await waitFor(async () => (await eventsOf(harness.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, `conversation ${conversationId} completed`);
}

/** A task of the project past its one round: dispatched, committed, then its Checking (run as a start runs it) fails the lint. */
async function exhausted(harness: ServerHarness, projectId: string, title: string) {
  const task = await harness.client.createTask({ body: { title, projectId, assigneeAgent: 'coder', status: 'in_progress' } });
  await completed(harness, task.conversationId!);
  commitFile(task.git!.worktreePath!, 'a.txt', 'a\n');
  const git = (await harness.client.getTask({ params: { id: task.id } })).git!;
  await harness.stores.tasks.updateTask(task.id, { status: 'checking' });
  const running = { state: 'running' as const, headSha: null, startedAt: Date.now(), finishedAt: null, commits: 0, uncommitted: [], pushed: null, checks: [], missing: [], error: null };
  await harness.stores.tasks.setTaskGit(task.id, { ...git, rounds: 1, check: running });
  expect(await harness.app.tiny.taskFlow.sweep(true)).toBe(1);
  const [approval] = await waitFor(
    async () => {
      const list = await harness.client.listApprovals({ query: { taskId: task.id } });
      return list.length > 0 ? list : undefined;
    },
    30_000,
    `${title}: a person asked`,
  );
  return { task, approval: approval! };
}

async function project(harness: ServerHarness) {
  const fx = gitRepos();
  return harness.client.createProject({
    body: {
      name: 'Web',
      repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), maxRounds: 1, checks: [{ name: 'lint', argv: ['sh', '-c', 'echo "lint: 3 problems"; exit 1'], timeoutMs: 10_000 }] },
    },
  });
}

it('after maxRounds one request waits for a person (a start finds it); a wrong answer is refused; more rounds sends the round to the owner; a second answer is too late', async () => {
  const { h, logFile } = await start();
  const p = await project(h);
  const { task, approval } = await exhausted(h, p.id, 'Fix lint');
  expect(approval).toMatchObject({
    kind: 'task_rounds',
    status: 'pending',
    agentId: 'coder',
    runId: null,
    sessionKey: null,
    taskId: task.id,
    expiresAt: null,
    input: { identifier: 'WEB-1', rounds: 1, moreRounds: 1 },
  });
  expect((await h.client.getTask({ params: { id: task.id } })).git).toMatchObject({ check: { state: 'needs_person' }, roundsApproval: { id: approval.id } });
  expect((await eventsOf(h.stores, { types: ['task.rounds_exhausted'] })).map((e) => e.data.approvalId)).toEqual([approval.id]);

  // A start: the request is found, neither made again nor cancelled.
  expect(await h.app.tiny.taskFlow.sweep(true)).toBe(0);
  expect(await h.client.listApprovals({ query: { kind: 'task_rounds' } })).toEqual([approval]);

  const path = `/api/approvals/${approval.id}/decision`;
  const wrong = await raw(h, 'POST', path, { body: JSON.stringify({ decision: 'allow_once' }) });
  expect(wrong.status).toBe(400);
  expect(wrong.body).toMatchObject({ error: { code: 'APPROVAL_DECISION_INVALID' } });
  expect((await raw(h, 'POST', path, { body: JSON.stringify({ decision: 'stop', rounds: 2 }) })).status).toBe(400);

  const decided = await h.client.decideApproval({ params: { id: approval.id }, body: { decision: 'more_rounds', rounds: 2 } });
  expect(decided).toMatchObject({ status: 'answered', decision: 'more_rounds', answer: '2' });
  const back = await h.client.getTask({ params: { id: task.id } });
  expect(back).toMatchObject({ status: 'in_progress', assigneeAgent: 'coder' });
  expect(back.git).toMatchObject({ rounds: 2, roundsLimit: 3, roundsApproval: { id: approval.id, decision: 'more_rounds' }, check: { state: 'failed' } });
  await completed(h, back.conversationId!);
  const told = prompts(logFile).at(-1)!;
  expect(told).toContain('is not done yet (round 2 of 3)');
  expect(told).toContain('The check "lint" (`sh -c echo "lint: 3 problems"; exit 1`) exited with code 1.');

  const late = await raw(h, 'POST', path, { body: JSON.stringify({ decision: 'stop' }) });
  expect(late.status).toBe(409);
  expect(late.body).toMatchObject({ error: { code: 'APPROVAL_DECIDED' } });
  expect((await eventsOf(h.stores, { types: ['task.rounds_answered'] })).map((e) => [e.data.decision, e.data.status, e.data.roundsLimit])).toEqual([['more_rounds', 'in_progress', 3]]);
});

it('take over: assigned to nobody, nothing sent; stop recorded at the desk but not carried out (a crash) is carried out at start, once; a waiting task moved by hand, or by its agent out of Review, withdraws its request', async () => {
  const { h, logFile } = await start();
  const p = await project(h);
  const first = await exhausted(h, p.id, 'Take it');
  const runs = prompts(logFile).length;
  await h.client.decideApproval({ params: { id: first.approval.id }, body: { decision: 'take_over' } });
  const taken = await h.client.getTask({ params: { id: first.task.id } });
  expect(taken).toMatchObject({ status: 'in_progress', assigneeAgent: null, assigneeTeam: null });
  expect(existsSync(taken.git!.worktreePath!)).toBe(true);
  // An agent's run of the task's older conversations may still say done: refused (it is the person's now), a comment aside.
  expect(() => refuseAgentMoveOfTakenOverTask(taken, 'review')).toThrow(/was taken over by api: an agent no longer moves it/);
  expect(() => refuseAgentMoveOfTakenOverTask(taken, undefined)).not.toThrow();

  const second = await exhausted(h, p.id, 'Stop it');
  await h.stores.approvals.decide(second.approval.id, { status: 'answered', decision: 'stop', decidedBy: 'cli', reason: null, decidedAt: Date.now() });
  expect((await h.client.getTask({ params: { id: second.task.id } })).status).toBe('checking');
  expect(await h.app.tiny.taskFlow.sweep(true)).toBe(1);
  expect((await h.client.getTask({ params: { id: second.task.id } })).status).toBe('todo');
  expect(await h.app.tiny.taskFlow.sweep(true)).toBe(0);
  expect((await eventsOf(h.stores, { types: ['task.rounds_answered'] })).map((e) => [e.data.identifier, e.data.decision, e.data.status])).toEqual([
    ['WEB-1', 'take_over', 'in_progress'],
    ['WEB-2', 'stop', 'todo'],
  ]);
  // Only the second task's dispatch ran since the take-over: nothing was sent for either answer.
  expect(prompts(logFile)).toHaveLength(runs + 1);

  // A person moves a waiting task by hand: its request has nothing left to decide and is withdrawn, settled everywhere.
  const third = await exhausted(h, p.id, 'Move it');
  await h.client.patchTask({ params: { id: third.task.id }, body: { status: 'backlog' } });
  expect(await h.client.getApproval({ params: { id: third.approval.id } })).toMatchObject({ status: 'cancelled', decidedBy: 'tasks', reason: 'the task was moved to backlog by hand' });
  expect((await eventsOf(h.stores, { types: ['approval.decided'] })).map((e) => e.data.approval.id)).toContain(third.approval.id);

  // In Review, its pull request's failed check runs waiting for a person: the agent's own move back to work withdraws the request too.
  const fourth = await exhausted(h, p.id, 'Agent moves it');
  const waiting = await h.stores.tasks.mustGetTask(fourth.task.id);
  await h.stores.tasks.updateTask(waiting.id, { status: 'review' });
  const inReview = await h.stores.tasks.setTaskGit(waiting.id, {
    ...waiting.git!,
    pullRequest: { number: 7, url: 'https://example.com/pr/7', headRef: waiting.git!.branch!, baseRef: 'main', openedAt: Date.now() },
  });
  expect((await h.app.tiny.taskFlow.agentMove(inReview, 'in_progress')).status).toBe('in_progress');
  expect(await h.client.getApproval({ params: { id: fourth.approval.id } })).toMatchObject({ status: 'cancelled', decidedBy: 'tasks', reason: 'the agent moved the task to in_progress' });
});
