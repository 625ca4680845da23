/**
 * A task's Checking as spans, against real OTLP receivers (HTTP/protobuf): core's real Checking
 * step (`runTaskChecking`) on a real git repository and worktree, its checks real processes, its
 * feedback sent through a real orchestrator (SQLite file, mock runtime) whose observers hear the
 * `taskChecked` notification the step emits, as the daemon's server wires it (`onChecked` →
 * `notifyTaskChecked`). Three Checkings of one task cover where the spans go:
 * - the agent's run said done: `check_task` is a child of that run's span, in its conversation's trace;
 * - resumed at start (no run): a root span in the trace of the conversation the task works in;
 * - a task in no conversation: a trace of its own.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Settings, TaskCheckedEvent } from '@tinyagi/core';
import type { TaskRecord, TaskStoreApi } from '@tinyagi/core/internal';
import { runTaskChecking, runTaskWorktreeStep } from '@tinyagi/git-tasks';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { checkingSpanIdOf, checkingTraceIdOf, createTraceObserver, runSpanIdOf, traceIdOf, type TraceExport } from '../src/index.ts';
import { exportOptions, harness, SECRET } from './harness.ts';
import { httpReceiver, type Receiver, type ReceivedSpan } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const settings: Settings = { agents: { dev: { name: 'Dev', provider: 'mock', mock: { reply: 'Done.' } } } };

async function exportTo(receiver: Receiver, captureContent: boolean): Promise<TraceExport> {
  cleanups.push(() => receiver.close());
  const exp = await createTraceObserver({ ...exportOptions(receiver, 'http/protobuf', settings), captureContent });
  cleanups.push(() => exp.shutdown());
  return exp;
}

function one(spans: ReceivedSpan[], name: string, where: (s: ReceivedSpan) => boolean = () => true): ReceivedSpan {
  const found = spans.filter((s) => s.name === name && where(s));
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

describe('a task Checking as spans', () => {
  it('check_task with an execute_check per check: attributes, real times, masked argv; in the trace of the run that said done, else the task conversation, else its own', async () => {
    const receiver = await httpReceiver();
    const contentReceiver = await httpReceiver();
    const exp = await exportTo(receiver, false);
    const withContent = await exportTo(contentReceiver, true);
    const h = await harness(settings, { observers: [exp.observer, withContent.observer] });
    cleanups.push(() => h.close());

    const { root, repoDir } = gitRepos();
    const failing = `test -f fixed || { echo "expected 2, got 3 with ${SECRET}"; exit 3; }`;
    const repo: NonNullable<Parameters<TaskStoreApi['createProject']>[0]['repo']> = {
      path: repoDir,
      baseRef: 'main',
      branchTemplate: 'tinyagi/{identifier}-{slug}',
      worktreeRoot: join(root, 'worktrees'),
      files: [],
      checks: [
        { name: 'lint', argv: ['sh', '-c', 'echo lint ok'], timeoutMs: 10_000 },
        { name: 'test', argv: ['sh', '-c', failing, `--api-key=${SECRET}`], timeoutMs: 10_000 },
      ],
      keepAbandonedDays: 14,
      checkout: 'auto',
      maxRounds: 5,
    };
    const project = await h.stores.tasks.createProject({ name: 'Web', prefix: 'WEB', repo });
    let task: TaskRecord = await h.stores.tasks.createTask({ title: 'Fix the sum', projectId: project.id, assigneeAgent: 'dev', status: 'in_progress' });
    const base = { events: h.stores.events, home: join(root, 'home'), projectId: project.id, repo, env: process.env, tasks: h.stores.tasks, approvals: h.stores.approvals };
    const made = await runTaskWorktreeStep({ ...base, task });
    if (!made.ok) throw new Error(`worktree step failed: ${made.message}`);
    const worktree = made.worktree.path;
    commitFile(worktree, 'sum.ts', 'export const sum = 3;\n');
    // What the server passes: the feedback through the orchestrator, the Checking to its observers.
    const told: TaskCheckedEvent[] = [];
    const checking = (extra: { saidBy?: { runId: string; conversationId: string } }) =>
      runTaskChecking({
        ...base,
        task,
        ...extra,
        onChecked: (event) => {
          told.push(event);
          h.orchestrator.notifyTaskChecked(event);
        },
        send: async (message, idempotencyKey, workdir) => {
          const r = await h.orchestrator.submitGrouped({ message, agent: 'dev', channel: 'tasks', sender: 'Tasks', senderId: `task:${task.id}`, idempotencyKey, workdir });
          return { conversationId: r.conversationId, messageId: r.messageId, created: r.created };
        },
      });

    // 1. The agent's run in the task's conversation says done; its check "test" fails.
    const said = await h.orchestrator.submit({ message: '@dev fix the sum', channel: 'api', sender: 'ana', senderId: 'u1' });
    await h.waitForConversation(said.conversationId);
    const [run] = await h.stores.runs.listRuns(said.conversationId);
    task = (await h.stores.tasks.updateTask(task.id, { status: 'checking', conversationId: said.conversationId })).after;
    const first = await checking({ saidBy: { runId: run!.id, conversationId: said.conversationId } });
    expect(first.outcome).toBe('failed');
    const feedback = first.sent!.conversationId;
    await h.waitForConversation(feedback);

    // 2. Fixed, and resumed at start (no run): the task's conversation is now the feedback's.
    commitFile(worktree, 'fixed', '');
    task = (await h.stores.tasks.updateTask(task.id, { status: 'checking' })).after;
    expect(task.conversationId).toBe(feedback);
    const second = await checking({});
    expect(second.outcome).toBe('passed');

    // 3. A task in no conversation.
    task = (await h.stores.tasks.updateTask(task.id, { status: 'checking', conversationId: null })).after;
    const third = await checking({});
    expect(third.outcome).toBe('passed');

    await Promise.all([exp.flush(), withContent.flush()]);
    await waitFor(() => receiver.spans.filter((s) => s.name === 'check_task WEB-1').length === 3 && receiver.spans.some((s) => s.name === 'invoke_agent Dev'), 10_000, 'the Checkings and the run');
    await waitFor(() => contentReceiver.spans.filter((s) => s.name === 'check_task WEB-1').length === 3, 10_000, 'the Checkings, with content');
    const spans = receiver.spans;
    expect(JSON.stringify(spans)).not.toContain(SECRET);
    expect(JSON.stringify(contentReceiver.spans)).not.toContain(SECRET);

    // 1: under the run that said done, in its conversation's trace; every time the recorded one.
    const c1 = first.task.git!.check!;
    const runSpan = one(spans, 'invoke_agent Dev', (s) => s.attributes['tinyagi.run.id'] === run!.id);
    const span1 = one(spans, 'check_task WEB-1', (s) => s.attributes['tinyagi.checking.outcome'] === 'failed');
    expect(span1.traceId).toBe(traceIdOf(said.conversationId));
    expect(span1.parentSpanId).toBe(runSpan.spanId);
    expect(runSpan.spanId).toBe(runSpanIdOf(run!.id));
    expect(span1.spanId).toBe(checkingSpanIdOf(task.id, c1.startedAt));
    expect([span1.startMs, span1.endMs]).toEqual([c1.startedAt, c1.finishedAt]);
    expect(span1.attributes).toEqual({
      'tinyagi.task.id': task.id,
      'tinyagi.task.identifier': 'WEB-1',
      'tinyagi.project.id': project.id,
      'tinyagi.task.round': 0,
      'tinyagi.checking.outcome': 'failed',
      'tinyagi.checking.missing': [expect.stringMatching(/^The check "test" \(`sh -c test -f fixed .*….* --api-key=…`\) exited with code 3\.$/)],
      'tinyagi.checking.commits': 1,
      'cicd.pipeline.result': 'failure',
      'vcs.ref.head.revision': c1.headSha,
      'vcs.ref.head.name': made.worktree.branch,
      'gen_ai.conversation.id': said.conversationId,
      'tinyagi.run.id': run!.id,
      'error.type': 'failed',
    });
    expect(c1.headSha).toBe(sh(worktree, 'rev-parse', 'HEAD~1'));
    expect(span1.status.code).toBe(2);
    expect(span1.status.message).toContain('The check "test"');

    const lint = one(spans, 'execute_check lint', (s) => s.parentSpanId === span1.spanId);
    const test = one(spans, 'execute_check test', (s) => s.parentSpanId === span1.spanId);
    expect([lint.traceId, test.traceId]).toEqual([span1.traceId, span1.traceId]);
    expect(lint.attributes).toEqual({
      'tinyagi.check.name': 'lint',
      'cicd.pipeline.task.name': 'lint',
      'process.command_args': ['sh', '-c', 'echo lint ok'],
      'process.exit.code': 0,
      'tinyagi.check.timed_out': false,
      'tinyagi.check.timeout_ms': 10_000,
      'cicd.pipeline.task.run.result': 'success',
    });
    expect(lint.status.code).toBe(0);
    expect(test.attributes).toEqual({
      'tinyagi.check.name': 'test',
      'cicd.pipeline.task.name': 'test',
      'process.command_args': ['sh', '-c', failing.replace(SECRET, '…'), '--api-key=…'],
      'process.exit.code': 3,
      'tinyagi.check.timed_out': false,
      'tinyagi.check.timeout_ms': 10_000,
      'cicd.pipeline.task.run.result': 'failure',
      'error.type': 'exit_code',
    });
    expect(test.status).toEqual({ code: 2, message: 'test exited with code 3' });
    // Each check from its process's start (as the step told it) for its recorded duration (the receiver has whole ms).
    expect(told).toHaveLength(3);
    const [lintResult, testResult] = c1.checks;
    expect([lint.startMs, test.startMs]).toEqual(told[0]!.checkStartedAt);
    expect(lint.startMs).toBeGreaterThanOrEqual(span1.startMs);
    expect(Math.abs(lint.endMs - lint.startMs - lintResult!.durationMs)).toBeLessThanOrEqual(1);
    expect(Math.abs(test.endMs - test.startMs - testResult!.durationMs)).toBeLessThanOrEqual(1);

    // The log's tail is output: only with capture_content, masked.
    for (const s of spans) expect(s.attributes).not.toHaveProperty('tinyagi.check.log_tail');
    const withLog = one(contentReceiver.spans, 'execute_check test', (s) => s.traceId === span1.traceId);
    expect(withLog.attributes['tinyagi.check.log_tail']).toBe('expected 2, got 3 with …\n');

    // 2: resumed at start, no run: a root span in the trace of the conversation the task works in.
    const c2 = second.task.git!.check!;
    const span2 = one(spans, 'check_task WEB-1', (s) => s.spanId === checkingSpanIdOf(task.id, c2.startedAt));
    expect(span2.traceId).toBe(traceIdOf(feedback));
    expect(span2.parentSpanId).toBe('');
    expect(span2.attributes).toMatchObject({
      'tinyagi.checking.outcome': 'passed',
      'tinyagi.task.round': 1,
      'cicd.pipeline.result': 'success',
      'gen_ai.conversation.id': feedback,
      'tinyagi.checking.missing': [],
    });
    expect(span2.attributes).not.toHaveProperty('tinyagi.run.id');
    expect(span2.attributes).not.toHaveProperty('error.type');
    expect(span2.status.code).toBe(0);
    expect(
      spans
        .filter((s) => s.parentSpanId === span2.spanId)
        .map((s) => [s.name, s.attributes['cicd.pipeline.task.run.result']])
        .sort(),
    ).toEqual([
      ['execute_check lint', 'success'],
      ['execute_check test', 'success'],
    ]);

    // 3: no conversation: a trace of its own, found from the task's record.
    const c3 = third.task.git!.check!;
    const span3 = one(spans, 'check_task WEB-1', (s) => s.traceId === checkingTraceIdOf(task.id, c3.startedAt));
    expect(span3.parentSpanId).toBe('');
    expect(span3.attributes).not.toHaveProperty('gen_ai.conversation.id');
    expect(spans.filter((s) => s.traceId === span3.traceId)).toHaveLength(3);
  });
});
