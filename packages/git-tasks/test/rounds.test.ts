/**
 * A task whose checks fail after all its rounds (docs/git-tasks.md, "When the rounds run out"): the
 * Checking asks a person once (a run-less `task_rounds` approval that never expires), a crash
 * between recording the request and making it leaves it to the next start (made once), and each
 * answer is carried out once: more rounds (the round's feedback to the owner, the limit raised),
 * take over (In progress, assigned to nobody), stop (back to Todo); the worktree kept. Real git,
 * a real SQLite file reopened as a restart reopens it; the owner's message is recorded by the
 * `send` the daemon would pass (its orchestrator is not core's).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProjectRepo } from '@tinyagi/client/contract';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApprovalRecord, newId } from '@tinyagi/core';
import { MIGRATIONS_FOLDER, openStores, type SqliteStores } from '@tinyagi/core/internal';
import { CHECK_NOT_STARTED, runTaskChecking } from '../src/checking-step.ts';
import { requestRoundsApproval, roundsApprovalId } from '../src/rounds-request.ts';
import { carryOutRoundsAnswer } from '../src/rounds-step.ts';
import { runTaskWorktreeStep } from '../src/task-step.ts';
import { commitFile, gitFixture } from './fixture.ts';

const open: SqliteStores[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  cleanupTemp();
});

function storesAt(path: string): SqliteStores {
  const stores = openStores({ dbPath: path });
  open.push(stores);
  return stores;
}

interface Sent {
  message: string;
  key: string;
}

/** A bound project whose one check fails, a task of it in Checking after its one round (maxRounds 1). */
async function exhaustedTask(stores: SqliteStores, root: string, repoDir: string, check = { name: 'test', argv: ['sh', '-c', 'echo "sum is wrong"; exit 2'], timeoutMs: 20_000 }, rounds = 1) {
  const repo: ProjectRepo = {
    path: repoDir,
    baseRef: 'main',
    branchTemplate: 'tinyagi/{identifier}-{slug}',
    worktreeRoot: join(root, 'worktrees'),
    files: [],
    checks: [check],
    keepAbandonedDays: 14,
    checkout: 'auto',
    maxRounds: 1,
  };
  const project = await stores.tasks.createProject({ name: 'Web', prefix: 'WEB', repo });
  const created = await stores.tasks.createTask({ title: 'Fix the sum', projectId: project.id, assigneeAgent: 'dev', status: 'in_progress' });
  const base = { events: stores.events, home: join(root, 'home'), projectId: project.id, repo, env: process.env };
  const made = await runTaskWorktreeStep({ ...base, task: created, tasks: stores.tasks });
  if (!made.ok) throw new Error(`worktree step failed: ${made.message}`);
  commitFile(made.worktree.path, 'sum.ts', 'export const sum = 3;\n');
  // One round already happened (its message went to the owner): the next failure is past the limit.
  await stores.tasks.setTaskGit(created.id, { ...made.task.git!, rounds, updatedAt: Date.now() });
  await stores.tasks.updateTask(created.id, { status: 'checking', conversationId: 'conv_task' });
  const sent: Sent[] = [];
  const send = async (message: string, key: string) => {
    sent.push({ message, key });
    return { conversationId: 'conv_feedback', messageId: `msg_${sent.length}`, created: true };
  };
  const task = await stores.tasks.mustGetTask(created.id);
  return { repo, project, base, task, worktree: made.worktree.path, sent, send };
}

async function eventsOf(stores: SqliteStores, type: 'approval.requested' | 'task.rounds_exhausted' | 'task.rounds_answered' | 'task.feedback_sent') {
  return stores.events.readSince(0, { types: [type] });
}

describe('the task_rounds approval', () => {
  it('the Checking past maxRounds asks a person once (also when two run it): a run-less request, no expiry, recorded on the task; nothing is sent to the owner', async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    const t = await exhaustedTask(stores, fx.root, fx.repoDir);

    const result = await runTaskChecking({ ...t.base, task: t.task, tasks: stores.tasks, approvals: stores.approvals, send: t.send });
    expect(result.outcome).toBe('needs_person');
    expect(t.sent).toEqual([]);
    const task = await stores.tasks.mustGetTask(t.task.id);
    expect(task.status).toBe('checking');
    expect(task.git?.check?.state).toBe('needs_person');
    const requests = await stores.approvals.list({ taskId: t.task.id });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      id: task.git?.roundsApproval?.id,
      kind: 'task_rounds',
      status: 'pending',
      agentId: 'dev',
      runId: null,
      sessionKey: null,
      conversationId: 'conv_task',
      taskId: t.task.id,
      expiresAt: null,
      input: { identifier: 'WEB-1', title: 'Fix the sum', rounds: 1, moreRounds: 1 },
    });
    expect(requests[0]!.summary).toMatch(/^WEB-1 Fix the sum: still not done after 1 round\. The check "test"/);
    // Another node resuming the same Checking (it read the task before this one recorded anything) names the same request: still one.
    expect((await runTaskChecking({ ...t.base, task: t.task, tasks: stores.tasks, approvals: stores.approvals, send: t.send })).outcome).toBe('needs_person');
    expect(await stores.approvals.list({ taskId: t.task.id })).toHaveLength(1);
    expect(await eventsOf(stores, 'approval.requested')).toHaveLength(1);
    expect((await eventsOf(stores, 'task.rounds_exhausted')).map((e) => e.data)).toEqual([expect.objectContaining({ taskId: t.task.id, rounds: 1, approvalId: requests[0]!.id })]);
  });

  it('a crash after the request was recorded on the task and before it was made: the restart makes it, once, and finds it after', async () => {
    const fx = gitFixture();
    const path = join(fx.root, 'tinyagi.db');
    let stores = storesAt(path);
    const t = await exhaustedTask(stores, fx.root, fx.repoDir);
    // The step's first write, then the crash: the task records the request's id, no request exists.
    const id = newId('apr');
    await stores.tasks.setTaskGit(t.task.id, { ...t.task.git!, check: { ...t.task.git!.check!, state: 'needs_person' }, roundsApproval: { id, requestedAt: 1 }, updatedAt: Date.now() });
    stores.close();
    open.length = 0;

    stores = storesAt(path);
    const deps = { approvals: stores.approvals, events: stores.events, projectId: t.project.id, repo: t.repo };
    const made = await requestRoundsApproval(deps, await stores.tasks.mustGetTask(t.task.id));
    expect(made).toMatchObject({ created: true, approval: { id, status: 'pending', requestedAt: 1 } });
    // Another start: the pending request is found, not made again, not lost.
    stores.close();
    open.length = 0;
    stores = storesAt(path);
    const again = await requestRoundsApproval({ ...deps, approvals: stores.approvals, events: stores.events }, await stores.tasks.mustGetTask(t.task.id));
    expect(again).toMatchObject({ created: false, approval: { id, status: 'pending' } });
    expect(await stores.approvals.list({ taskId: t.task.id })).toHaveLength(1);
    expect(await eventsOf(stores, 'approval.requested')).toHaveLength(1);
  });

  async function answered(stores: SqliteStores, t: Awaited<ReturnType<typeof exhaustedTask>>, decision: 'more_rounds' | 'take_over' | 'stop', answer: string | null = null): Promise<ApprovalRecord> {
    await runTaskChecking({ ...t.base, task: t.task, tasks: stores.tasks, approvals: stores.approvals, send: t.send });
    const [request] = await stores.approvals.list({ taskId: t.task.id, status: 'pending' });
    const decided = await stores.approvals.decide(request!.id, { status: 'answered', decision, decidedBy: 'cli', reason: null, answer, decidedAt: Date.now() });
    return decided!;
  }

  it('more rounds: the limit is the rounds plus those given, the round goes to the owner with what failed, back to In progress; carried out again, nothing twice', async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    const t = await exhaustedTask(stores, fx.root, fx.repoDir);
    const approval = await answered(stores, t, 'more_rounds', '2');
    const input = { tasks: stores.tasks, events: stores.events, home: t.base.home, projectId: t.project.id, repo: t.repo, approval, send: t.send };

    const first = await carryOutRoundsAnswer(input);
    expect(first.acted).toBe(true);
    expect(first.task).toMatchObject({ status: 'in_progress', assigneeAgent: 'dev', conversationId: 'conv_feedback' });
    expect(first.task.git).toMatchObject({ rounds: 2, roundsLimit: 3, roundsApproval: { id: approval.id, decision: 'more_rounds', decidedBy: 'cli' }, check: { state: 'failed' } });
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.message).toContain('is not done yet (round 2 of 3)');
    expect(t.sent[0]!.message).toContain('The check "test" (`sh -c echo "sum is wrong"; exit 2`) exited with code 2.');
    expect(t.sent[0]!.message).toContain('sum is wrong');
    expect(t.sent[0]!.key).toMatch(new RegExp(`^task:${t.task.id}:feedback:`));

    expect((await carryOutRoundsAnswer(input)).acted).toBe(false);
    expect(t.sent).toHaveLength(1);
    expect((await eventsOf(stores, 'task.rounds_answered')).map((e) => e.data)).toEqual([
      { taskId: t.task.id, identifier: 'WEB-1', projectId: t.project.id, approvalId: approval.id, decision: 'more_rounds', by: 'cli', rounds: 2, roundsLimit: 3, status: 'in_progress' },
    ]);
    expect(existsSync(t.worktree)).toBe(true);

    // The next failure is a round like any other (2 < 3), not a second request.
    await stores.tasks.updateTask(t.task.id, { status: 'checking' });
    const next = await runTaskChecking({ ...t.base, task: await stores.tasks.mustGetTask(t.task.id), tasks: stores.tasks, approvals: stores.approvals, send: t.send });
    expect(next.outcome).toBe('failed');
    expect(await stores.approvals.list({ taskId: t.task.id })).toHaveLength(1);
  });

  it('take over: In progress, assigned to nobody, nothing sent, the worktree kept', async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    const t = await exhaustedTask(stores, fx.root, fx.repoDir);
    const approval = await answered(stores, t, 'take_over');
    const { task, acted } = await carryOutRoundsAnswer({ tasks: stores.tasks, events: stores.events, home: t.base.home, projectId: t.project.id, repo: t.repo, approval, send: t.send });
    expect(acted).toBe(true);
    expect(task).toMatchObject({ status: 'in_progress', assigneeAgent: null, assigneeTeam: null });
    expect(task.git?.roundsApproval).toMatchObject({ decision: 'take_over', decidedBy: 'cli' });
    expect(t.sent).toEqual([]);
    expect(existsSync(t.worktree)).toBe(true);
    expect((await eventsOf(stores, 'task.rounds_answered')).map((e) => e.data)).toEqual([expect.objectContaining({ decision: 'take_over', status: 'in_progress' })]);
  });

  it('stop: back to Todo with its assignee, nothing sent, the worktree kept; carried out again, nothing twice', async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    const t = await exhaustedTask(stores, fx.root, fx.repoDir);
    const approval = await answered(stores, t, 'stop');
    const input = { tasks: stores.tasks, events: stores.events, home: t.base.home, projectId: t.project.id, repo: t.repo, approval, send: t.send };
    const { task, acted } = await carryOutRoundsAnswer(input);
    expect(acted).toBe(true);
    expect(task).toMatchObject({ status: 'todo', assigneeAgent: 'dev' });
    expect(t.sent).toEqual([]);
    expect(existsSync(t.worktree)).toBe(true);
    expect((await carryOutRoundsAnswer(input)).acted).toBe(false);
    expect(await eventsOf(stores, 'task.rounds_answered')).toHaveLength(1);
  });

  it("a task waiting in Review (its pull request's failed check runs, forge-step.ts): more rounds raises the limit only, carried out once; a later request's stop moves it to Todo", async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    const t = await exhaustedTask(stores, fx.root, fx.repoDir);
    const pullRequest = { number: 1, url: 'https://github.com/o/r/pull/1', headRef: 'b', baseRef: 'main', openedAt: 1 };
    const ask = async (previous: string | undefined) => {
      const current = await stores.tasks.mustGetTask(t.task.id);
      const id = roundsApprovalId(t.task.id, current.git!.rounds ?? 0, previous);
      const waiting = await stores.tasks.setTaskGit(t.task.id, { ...current.git!, pullRequest, roundsApproval: { id, requestedAt: Date.now() }, updatedAt: Date.now() });
      const made = await requestRoundsApproval({ approvals: stores.approvals, events: stores.events, projectId: t.project.id, repo: t.repo }, waiting, ['The check run "ci" on GitHub ended failure.']);
      expect(made?.approval.summary).toContain('The check run "ci" on GitHub ended failure.');
      return id;
    };
    await stores.tasks.updateTask(t.task.id, { status: 'review' });
    const first = await ask(undefined);
    const decided = await stores.approvals.decide(first, { status: 'answered', decision: 'more_rounds', decidedBy: 'cli', reason: null, answer: '2', decidedAt: Date.now() });
    const input = { tasks: stores.tasks, events: stores.events, home: t.base.home, projectId: t.project.id, repo: t.repo, approval: decided!, send: t.send };
    const more = await carryOutRoundsAnswer(input);
    expect(more).toMatchObject({ acted: true, task: { status: 'review', git: { rounds: 1, roundsLimit: 3, roundsApproval: { id: first, decision: 'more_rounds' } } } });
    expect(t.sent).toEqual([]);
    expect((await carryOutRoundsAnswer(input)).acted).toBe(false);

    const second = await ask(first);
    expect(second).not.toBe(first);
    const stopped = await stores.approvals.decide(second, { status: 'answered', decision: 'stop', decidedBy: 'cli', reason: null, answer: null, decidedAt: Date.now() });
    expect(await carryOutRoundsAnswer({ ...input, approval: stopped! })).toMatchObject({ acted: true, task: { status: 'todo', assigneeAgent: 'dev' } });
    expect((await eventsOf(stores, 'task.rounds_answered')).map((e) => e.data)).toEqual([
      expect.objectContaining({ decision: 'more_rounds', status: 'review' }),
      expect.objectContaining({ decision: 'stop', status: 'todo' }),
    ]);
  });
});

describe('a check that could not start', () => {
  it('is no round: the task waits for a person in Checking with the reason (the check’s environment), nothing is sent, no rounds request', async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    // The shell runs, the command it names is not there: exit 127.
    const t = await exhaustedTask(stores, fx.root, fx.repoDir, { name: 'test', argv: ['sh', '-c', 'tinyagi-no-such-tool --run'], timeoutMs: 20_000 }, 0);

    const result = await runTaskChecking({ ...t.base, task: t.task, tasks: stores.tasks, approvals: stores.approvals, send: t.send });
    expect(result.outcome).toBe('needs_person');
    expect(t.sent).toEqual([]);
    const task = await stores.tasks.mustGetTask(t.task.id);
    expect(task.status).toBe('checking');
    expect(task.git?.rounds).toBe(0);
    expect(task.git?.roundsApproval).toBeUndefined();
    expect(task.git?.check).toMatchObject({ state: 'needs_person', error: { code: CHECK_NOT_STARTED } });
    const message = task.git!.check!.error!.message;
    expect(message).toContain('The check "test" (`sh -c tinyagi-no-such-tool --run`) could not start (exit 127: command not found)');
    expect(message).toContain('tinyagi-no-such-tool');
    expect(message).toContain("the check's environment, not the agent's work");
    expect(message).toContain('No round was counted');
    expect(message).toContain('tinyagi task check WEB-1');
    expect(await stores.approvals.list({ taskId: t.task.id })).toEqual([]);
    expect(await eventsOf(stores, 'task.feedback_sent')).toEqual([]);
  });

  it('a command that cannot be spawned at all (ENOENT) is the same, and a confined check says the sandbox', async () => {
    const fx = gitFixture();
    const stores = storesAt(join(fx.root, 'tinyagi.db'));
    const t = await exhaustedTask(stores, fx.root, fx.repoDir, { name: 'lint', argv: ['tinyagi-no-such-linter'], timeoutMs: 20_000 }, 0);
    // A wrap that changes nothing stands for the agent's boundary: the check ran confined.
    const wrap = async (spawn: { command: string; args: string[]; env: NodeJS.ProcessEnv }) => ({ command: spawn.command, args: spawn.args, env: spawn.env });
    const result = await runTaskChecking({ ...t.base, wrap, task: t.task, tasks: stores.tasks, approvals: stores.approvals, send: t.send });
    expect(result.outcome).toBe('needs_person');
    const check = (await stores.tasks.mustGetTask(t.task.id)).git!.check!;
    expect(check.error?.message).toMatch(/The check "lint" \(`tinyagi-no-such-linter`\) could not start \(spawn tinyagi-no-such-linter ENOENT\)/);
    expect(check.error?.message).toContain("inside the agent's sandbox");
    expect(t.sent).toEqual([]);
  });
});

it('migration 0020 keeps the approvals of before (their run, session and expiry) and takes run-less ones', async () => {
  const fx = gitFixture();
  const path = join(fx.root, 'old.db');
  const old = new Database(path);
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  old.exec('CREATE TABLE "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)');
  for (const entry of journal.entries.filter((e) => e.tag < '0020')) {
    const text = readFileSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), 'utf8');
    for (const statement of text.split('--> statement-breakpoint')) if (statement.trim()) old.exec(statement);
    old.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(createHash('sha256').update(text).digest('hex'), entry.when);
  }
  old
    .prepare(
      "INSERT INTO approvals (id, kind, status, agent_id, run_id, conversation_id, session_key, tool, input, summary, requested_at, expires_at) VALUES ('apr_old', 'permission', 'pending', 'a', 'run_1', 'conv_1', 'k', 'Bash', '{}', 'Bash: ls', 1, 600001)",
    )
    .run();
  old.close();

  const stores = storesAt(path);
  const kept = await stores.approvals.get('apr_old');
  expect(kept).toMatchObject({ kind: 'permission', runId: 'run_1', conversationId: 'conv_1', sessionKey: 'k', expiresAt: 600_001 });
  expect(kept).not.toHaveProperty('taskId');
  const made = await stores.approvals.createOnce({
    id: 'apr_new',
    kind: 'task_rounds',
    agentId: 'a',
    runId: null,
    conversationId: null,
    sessionKey: null,
    taskId: 'task_1',
    tool: 'task_rounds',
    input: {},
    summary: 's',
    requestedAt: 2,
    expiresAt: null,
  });
  expect(made.record).toMatchObject({ taskId: 'task_1', expiresAt: null, runId: null });
  expect((await stores.approvals.list({ status: 'pending' })).map((a) => a.id)).toEqual(['apr_new', 'apr_old']);
});
