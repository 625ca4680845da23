/**
 * A workflow run paused at its budget asks a person (docs/workflows.md#budgets), answered through
 * the API as every surface answers (real HTTP, the typed client, the server's own engine):
 * `raise_budget` with a budget resumes the run and it completes, `stop` cancels it, a resume by
 * the API closes the pending request; a budget the run spent, or one given with `stop`, is refused.
 * A run an agent started asks in the conversation of the agent's run too (where its chat is).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type Approval } from '@tinyagi/client';
import type { WorkflowRunStatus } from '@tinyagi/client/contract';
import { waitFor } from '@tinyagi/test-kit';
import { liveRunClient, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let file: string;

beforeAll(async () => {
  h = await startHarness();
  const dir = join(h.home, 'workflows');
  mkdirSync(dir);
  file = join(dir, 'two.mjs');
  writeFileSync(file, `export default async (wf) => [await wf.agent('coder', 'one'), await wf.agent('coder', 'two')];`);
});
afterAll(() => h?.close());

async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${err === undefined ? 'a success' : String(err)}`);
  return { status: err.status, code: err.code, message: err.message };
}

function reaches(id: string, status: WorkflowRunStatus) {
  return waitFor(async () => ((await h.client.getWorkflowRun({ params: { id } })).run.status === status ? true : undefined), 20_000, `workflow run ${id} ${status}`);
}

/** A run of the two steps that pauses after its first (any tokens pass a budget of 1), and its request. */
async function pausedRun(): Promise<{ id: string; ask: Approval }> {
  const { run } = await h.client.startWorkflow({ body: { file, budgetTokens: 1 } });
  await reaches(run.id, 'paused');
  const asks = await h.client.listApprovals({ query: { status: 'pending', kind: 'workflow_budget' } });
  const mine = asks.filter((a) => (a.input as { workflowRunId?: string }).workflowRunId === run.id);
  expect(mine).toHaveLength(1);
  return { id: run.id, ask: mine[0]! };
}

describe('a workflow run paused at its budget, answered through the API', () => {
  it('raise_budget with a budget resumes the run with it and it completes; a budget it spent is refused', async () => {
    const { id, ask } = await pausedRun();
    expect(ask).toMatchObject({
      kind: 'workflow_budget',
      agentId: 'person',
      runId: null,
      conversationId: null,
      expiresAt: null,
      summary: expect.stringMatching(/^Workflow two paused at its budget: used \d+ of 1 tokens$/),
    });
    expect(await refusal(h.client.decideApproval({ params: { id: ask.id }, body: { decision: 'raise_budget', budgetTokens: 1, by: 'cli' } }))).toMatchObject({ code: 'APPROVAL_DECISION_INVALID' });
    const decided = await h.client.decideApproval({ params: { id: ask.id }, body: { decision: 'raise_budget', budgetTokens: 1_000_000, by: 'cli' } });
    expect(decided).toMatchObject({ status: 'answered', decision: 'raise_budget', answer: '1000000 tokens', decidedBy: 'cli' });
    await reaches(id, 'completed');
    const { run } = await h.client.getWorkflowRun({ params: { id } });
    expect(run).toMatchObject({ result: ['coder done: one', 'coder done: two'], budget: { usd: null, tokens: 1_000_000 } });
  });

  it('stop cancels the run; a budget goes with raise_budget only', async () => {
    const { id, ask } = await pausedRun();
    expect(await refusal(h.client.decideApproval({ params: { id: ask.id }, body: { decision: 'stop', budgetUsd: 5, by: 'cli' } }))).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('"budgetUsd" and "budgetTokens" go with decision "raise_budget" only'),
    });
    await h.client.decideApproval({ params: { id: ask.id }, body: { decision: 'stop', by: 'cli' } });
    expect((await h.client.getWorkflowRun({ params: { id } })).run.status).toBe('cancelled');
  });

  it('a resume through the API while the request waits closes it: cancelled, by the resume', async () => {
    const { id, ask } = await pausedRun();
    await h.client.resumeWorkflowRun({ params: { id }, body: { budgetTokens: 1_000_000 } });
    expect(await h.client.getApproval({ params: { id: ask.id } })).toMatchObject({ status: 'cancelled', decidedBy: 'resume', reason: 'the run was resumed by hand' });
    await reaches(id, 'completed');
    expect(await refusal(h.client.decideApproval({ params: { id: ask.id }, body: { decision: 'raise_budget', by: 'cli' } }))).toMatchObject({ status: 409, code: 'APPROVAL_DECIDED' });
  });

  it("a run an agent started asks in that agent's conversation too", async () => {
    writeFileSync(join(h.home, 'workflows', 'reviews.mjs'), `export default async (wf) => [await wf.agent('reviewer', 'one'), await wf.agent('reviewer', 'two')];`);
    await h.client.patchSettings({ body: { workflows: { reviews: { file: 'reviews.mjs', agents: ['coder'] } } } });
    const { client: coder, conversationId } = await liveRunClient(h);
    const { run } = await coder.startWorkflow({ body: { workflow: 'reviews', budgetTokens: 1 } });
    await reaches(run.id, 'paused');
    const asks = (await h.client.listApprovals({ query: { status: 'pending', kind: 'workflow_budget' } })).filter((a) => (a.input as { workflowRunId?: string }).workflowRunId === run.id);
    expect(asks).toMatchObject([{ agentId: 'coder', runId: null, conversationId }]);
    await h.client.cancelWorkflowRun({ params: { id: run.id } });
    expect(await h.client.getApproval({ params: { id: asks[0]!.id } })).toMatchObject({ status: 'cancelled', decidedBy: 'cancel' });
  });
});
