/**
 * The workflow routes over the server's own engine, through real HTTP with the typed client: a
 * module in a temp dir started, followed on the event stream to its end, read back with its
 * steps and their conversations, cancelled while an agent step works, resumed after it failed;
 * the refusals (a relative, foreign or missing file, an unknown run, an ended run) and the
 * scope: an agent's own run token, live and valid elsewhere, may not start, read, cancel or
 * resume a workflow.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type TinyEvent } from '@tinyagi/client';
import type { WorkflowRunStatus } from '@tinyagi/client/contract';
import { mintRunToken } from '../src/internal.ts';
import { startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let dir: string;

beforeAll(async () => {
  h = await startHarness();
  dir = join(h.home, 'workflows');
  mkdirSync(dir);
});
afterAll(() => h?.close());

function module(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** The refusal a call answered (the test fails when it was answered 2xx). */
async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; message: string; details: unknown }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${err === undefined ? 'a success' : String(err)}`);
  return { status: err.status, code: err.code, message: err.message, details: err.details };
}

/** The first event after `after` of these types that `match` accepts, read from the event stream. */
async function nextEvent<E extends TinyEvent>(after: number, types: Array<E['type']>, match: (e: TinyEvent) => e is E): Promise<E> {
  const sub = h.client.subscribe({ types, lastEventId: after });
  try {
    for await (const event of sub) if (match(event)) return event;
  } finally {
    sub.close();
  }
  throw new Error(`the event stream closed before a ${types.join(' or ')} event came`);
}

type WorkflowChanged = Extract<TinyEvent, { type: 'workflow.changed' }>;

/** The run's next `workflow.changed` to one of `statuses`, after event `after`. */
function runReaches(after: number, runId: string, statuses: WorkflowRunStatus[]): Promise<WorkflowChanged> {
  return nextEvent(after, ['workflow.changed'], (e): e is WorkflowChanged => e.type === 'workflow.changed' && e.data.runId === runId && statuses.includes(e.data.status));
}

const ENDED: WorkflowRunStatus[] = ['completed', 'failed', 'cancelled'];

describe('workflow routes', () => {
  it('start a workflow, follow it to completed on the event stream, read its steps and list it', async () => {
    const file = module(
      'greet.mjs',
      `export default async (wf, input) => {
        const replies = await wf.parallel([() => wf.agent('coder', 'hello'), () => wf.agent('coder', 'hello')]);
        return { replies, input };
      };`,
    );
    const after = await h.stores.events.lastId();
    const { run } = await h.client.startWorkflow({ body: { file, input: { who: 'test' } } });
    expect(run).toMatchObject({ name: 'greet', file, input: { who: 'test' }, status: 'running', result: null, endedAt: null });

    const end = await runReaches(after, run.id, ENDED);
    expect(end.data).toEqual({ runId: run.id, name: 'greet', status: 'completed' });

    const detail = await h.client.getWorkflowRun({ params: { id: run.id } });
    expect(detail.run).toMatchObject({ status: 'completed', result: { replies: ['coder done: hello', 'coder done: hello'], input: { who: 'test' } }, reason: null });
    expect(detail.run.steps).toEqual({ total: 2, running: 0, completed: 2, failed: 0 });
    expect(detail.steps.map((s) => s.stepId).sort()).toEqual(['1:parallel[0]/1:agent', '1:parallel[1]/1:agent']);
    for (const step of detail.steps) {
      expect(step).toMatchObject({ runId: run.id, kind: 'agent', agentId: 'coder', status: 'completed', output: 'coder done: hello', error: null });
      expect(step.conversationId).toEqual(expect.any(String));
      // Each step's conversation is a real one of the daemon, ended with the step.
      const tree = await h.client.getConversation({ params: { id: step.conversationId! } });
      expect(tree.conversation.status).toBe('completed');
    }
    expect(new Set(detail.steps.map((s) => s.conversationId)).size).toBe(2);

    const listed = await h.client.listWorkflowRuns();
    expect(listed.runs.find((r) => r.id === run.id)).toMatchObject({ status: 'completed', steps: { total: 2, completed: 2 } });
    const running = await h.client.listWorkflowRuns({ query: { status: 'running' } });
    expect(running.runs.map((r) => r.id)).not.toContain(run.id);

    // An ended run is neither cancelled nor resumed.
    expect(await refusal(h.client.cancelWorkflowRun({ params: { id: run.id } }))).toMatchObject({ status: 409, code: 'INVALID_STATE' });
    expect(await refusal(h.client.resumeWorkflowRun({ params: { id: run.id }, body: {} }))).toMatchObject({ status: 409, code: 'INVALID_STATE' });
  });

  it('an unknown run is 404 WORKFLOW_NOT_FOUND on every route that names one', async () => {
    for (const call of [
      h.client.getWorkflowRun({ params: { id: 'wf_nobody' } }),
      h.client.cancelWorkflowRun({ params: { id: 'wf_nobody' } }),
      h.client.resumeWorkflowRun({ params: { id: 'wf_nobody' }, body: {} }),
    ]) {
      expect(await refusal(call)).toMatchObject({ status: 404, code: 'WORKFLOW_NOT_FOUND' });
    }
  });

  it('refuses a relative path, another extension, a missing file and a folder with a 400 naming body.file, and records no run', async () => {
    const before = (await h.client.listWorkflowRuns()).runs.length;
    module('notes.txt', 'export default async () => 1;');
    mkdirSync(join(dir, 'folder.mjs'));
    for (const [file, says] of [
      ['workflows/greet.mjs', 'is not an absolute path'],
      [join(dir, 'notes.txt'), 'is not a .ts, .mts, .js or .mjs module'],
      [join(dir, 'missing.mjs'), 'is not a file'],
      [join(dir, 'folder.mjs'), 'is not a file'],
    ] as const) {
      const answer = await refusal(h.client.startWorkflow({ body: { file } }));
      expect(answer).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { issues: [{ path: 'body.file' }] } });
      expect(answer.message).toContain('file');
      expect(answer.message).toContain(says);
    }
    // The engine's own check of the module: a default export that is not a function.
    const noDefault = module('no-default.mjs', 'export const steps = 1;');
    const answer = await refusal(h.client.startWorkflow({ body: { file: noDefault } }));
    expect(answer).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(answer.message).toContain('no default export that is a function');
    expect((await h.client.listWorkflowRuns()).runs.length).toBe(before);
  });

  it("cancel a run while its agent step works; the agent's own run token may not start, read, cancel or resume workflows", async () => {
    const file = module('slow.mjs', `export default async (wf) => wf.agent('coder', 'slow work');`);
    const after = await h.stores.events.lastId();
    const { run } = await h.client.startWorkflow({ body: { file } });
    type StepSent = Extract<TinyEvent, { type: 'workflow.step' }>;
    const sent = await nextEvent(after, ['workflow.step'], (e): e is StepSent => e.type === 'workflow.step' && e.data.runId === run.id && e.conversationId !== null && e.conversationId !== undefined);
    const conversationId = sent.conversationId!;
    type RunStarted = Extract<TinyEvent, { type: 'run.started' }>;
    const started = await nextEvent(after, ['run.started'], (e): e is RunStarted => e.type === 'run.started' && e.conversationId === conversationId);

    // The step's agent, working now, holds a valid run token: it opens the agent's own conversation and no workflow route.
    const agent = createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, started.runId!, conversationId) });
    expect((await agent.getConversation({ params: { id: conversationId } })).conversation.id).toBe(conversationId);
    for (const call of [
      agent.startWorkflow({ body: { file } }),
      agent.listWorkflowRuns(),
      agent.getWorkflowRun({ params: { id: run.id } }),
      agent.cancelWorkflowRun({ params: { id: run.id } }),
      agent.resumeWorkflowRun({ params: { id: run.id }, body: {} }),
    ]) {
      expect(await refusal(call)).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    }
    expect((await h.client.listWorkflowRuns()).runs.filter((r) => r.name === 'slow')).toHaveLength(1);

    const { run: cancelled } = await h.client.cancelWorkflowRun({ params: { id: run.id } });
    expect(cancelled).toMatchObject({ id: run.id, status: 'cancelled', reason: expect.any(String) });
    const detail = await h.client.getWorkflowRun({ params: { id: run.id } });
    expect(detail.steps).toMatchObject([{ kind: 'agent', status: 'failed', conversationId }]);
    expect((await h.client.getConversation({ params: { id: conversationId } })).conversation.status).toBe('cancelled');
    expect(await refusal(h.client.cancelWorkflowRun({ params: { id: run.id } }))).toMatchObject({ status: 409, code: 'INVALID_STATE' });
  });

  it('resume a failed run: its finished agent step gives its journaled reply and the program ends', async () => {
    const flag = join(dir, 'ready');
    const file = module(
      'until-ready.mjs',
      `import { existsSync } from 'node:fs';
      export default async (wf) => {
        const reply = await wf.agent('reviewer', 'look');
        if (!existsSync(${JSON.stringify(flag)})) throw new Error('not ready yet');
        return reply;
      };`,
    );
    const after = await h.stores.events.lastId();
    const { run } = await h.client.startWorkflow({ body: { file } });
    const failed = await runReaches(after, run.id, ENDED);
    expect(failed.data).toMatchObject({ status: 'failed', reason: expect.stringContaining('not ready yet') });
    const first = await h.client.getWorkflowRun({ params: { id: run.id } });

    writeFileSync(flag, '');
    const resumedAt = await h.stores.events.lastId();
    const { run: resumed } = await h.client.resumeWorkflowRun({ params: { id: run.id }, body: { budgetTokens: 1_000_000 } });
    expect(resumed).toMatchObject({ status: 'running', reason: null, budget: { tokens: 1_000_000 } });
    expect((await runReaches(resumedAt, run.id, ENDED)).data.status).toBe('completed');
    const detail = await h.client.getWorkflowRun({ params: { id: run.id } });
    expect(detail.run.result).toBe('reviewed');
    // The agent was not asked again: the same one step, with its first conversation.
    expect(detail.steps).toEqual(first.steps);
  });
});
