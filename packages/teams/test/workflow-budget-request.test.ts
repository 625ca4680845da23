import { afterEach, describe, expect, it } from 'vitest';
import { approvalOutcomeText } from '@tinyagi/client';
import { SettingsSchema, TinyError, type ApprovalRecord, type Settings } from '@tinyagi/core';
import type { StoreSet } from '@tinyagi/core/internal';
import { waitFor } from '@tinyagi/test-kit';
import { ApprovalDesk } from '../src/approvals/desk.ts';
import { carryOutBudgetAnswer, type Workflows } from '../src/index.ts';
import { requestBudgetApproval } from '../src/workflows/budget-request.ts';
import { runReaching, workflowEngine, writeProgram } from './workflow-helpers.ts';
import { closeAll, eventsOf, harness, type Harness } from './helpers.ts';

afterEach(closeAll);

const settings: Settings = {
  agents: { writer: { provider: 'mock', mock: { reply: 'wrote: {{message}}', usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.01 } } } },
};

/** Four steps of $0.01 and 15 tokens each, one after another. */
const FOUR_STEPS = `export default async (wf) => { const out = []; for (const n of [1, 2, 3, 4]) out.push(await wf.agent('writer', 'part ' + n)); return out; };`;

async function started(): Promise<{ h: Harness; w: Workflows; file: (name: string, source: string) => string }> {
  const h = await harness(settings);
  const w = workflowEngine(h);
  await w.start();
  const file = (name: string, source: string): string => writeProgram(h, name, source);
  return { h, w, file };
}

/** The run's pending `workflow_budget` requests (there is one once it paused). */
async function asked(h: Harness, runId: string): Promise<ApprovalRecord[]> {
  const pending = await h.stores.approvals.list({ status: 'pending', kind: 'workflow_budget' });
  return pending.filter((a) => (a.input as { workflowRunId?: string }).workflowRunId === runId);
}

/**
 * The run's one request, once its `approval.requested` is in the log: the request is made before
 * its event is appended, so a wait on the store alone could read the log between the two.
 */
async function oneAsk(h: Harness, runId: string): Promise<ApprovalRecord> {
  await waitFor(async () => (await requestsMade(h, runId)).length > 0, 10_000, `the budget request of ${runId}`);
  const [ask, ...more] = await asked(h, runId);
  expect(more).toEqual([]);
  return ask!;
}

/** The run's `approval.requested` events: one per request made. */
async function requestsMade(h: Harness, runId: string): Promise<string[]> {
  const events = await eventsOf(h.stores, { types: ['approval.requested'] });
  return events.filter((e) => (e.data.approval.input as { workflowRunId?: string }).workflowRunId === runId).map((e) => e.data.approval.id);
}

/** The stores of a node that dies between a run's pause and its request: the request is never made. */
function diesBeforeItAsks(stores: StoreSet): StoreSet {
  const bound = (target: object, prop: string | symbol): unknown => {
    const value = Reflect.get(target, prop, target) as unknown;
    return typeof value === 'function' ? value.bind(target) : value;
  };
  const approvals = new Proxy(stores.approvals, {
    get: (target, prop) => (prop === 'createOnce' ? () => Promise.reject(new Error('the node died')) : bound(target, prop)),
  });
  return new Proxy(stores, { get: (target, prop) => (prop === 'approvals' ? approvals : bound(target, prop)) });
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TinyError)) throw new Error(`expected a TinyError, got ${String(err)}`);
  return { code: err.code, message: err.message };
}

describe('a workflow run paused at its budget asks a person (workflow_budget)', () => {
  it('asks once per pause, run-less and never expiring; raise_budget (the same again) resumes it and it completes; answered again, nothing happens', async () => {
    const { h, w, file } = await started();
    const { id } = await w.startRun({ file: file('spend', FOUR_STEPS), budgetUsd: 0.02 });
    await runReaching(w, id, 'paused');
    const ask = await oneAsk(h, id);
    expect(ask).toMatchObject({
      kind: 'workflow_budget',
      status: 'pending',
      agentId: 'person',
      runId: null,
      conversationId: null,
      sessionKey: null,
      expiresAt: null,
      tool: 'workflow_budget',
      summary: 'Workflow spend paused at its budget: spent $0.0200 of $0.02',
      input: { workflowRunId: id, name: 'spend', spent: { usd: 0.02, tokens: 30 }, budget: { usd: 0.02, tokens: null } },
      groupKey: 'Workflow runs paused at their budget',
    });
    // The pause found again (a replay, another node) makes no second request.
    const again = await requestBudgetApproval(h.stores, (await h.stores.workflows.getRun(id))!, { costUsd: 0.02, tokens: 30 });
    expect(again).toMatchObject({ created: false, approval: { id: ask.id } });
    expect((await eventsOf(h.stores, { types: ['approval.requested'] })).map((e) => e.data.approval.id)).toEqual([ask.id]);

    // Only its own answers; a budget the run had spent is refused.
    expect((await refusal(h.facets.approvals.decide(ask.id, 'allow_once', 'cli'))).code).toBe('APPROVAL_DECISION_INVALID');
    expect(await refusal(h.facets.approvals.decide(ask.id, 'raise_budget', 'cli', undefined, '$0.01'))).toEqual({
      code: 'APPROVAL_DECISION_INVALID',
      message: `Workflow run ${id} would pause again at once with $0.01 (spent $0.0200 of $0.01): give a larger budget, or none for the same again.`,
    });
    expect((await refusal(h.facets.approvals.decide(ask.id, 'raise_budget', 'cli', undefined, 'lots'))).message).toContain('not "lots"');

    const decided = await h.facets.approvals.decide(ask.id, 'raise_budget', 'cli');
    expect(decided).toMatchObject({ status: 'answered', decision: 'raise_budget', answer: null, decidedBy: 'cli' });
    expect(approvalOutcomeText(decided)).toBe('Budget raised by cli: the same again');
    expect(await carryOutBudgetAnswer(w, decided)).toMatchObject({ status: 'running', budget: { usd: 0.04, tokens: null } });
    const done = await runReaching(w, id, 'completed');
    expect(done.run.result).toEqual(['wrote: part 1', 'wrote: part 2', 'wrote: part 3', 'wrote: part 4']);
    expect(await carryOutBudgetAnswer(w, decided)).toBeUndefined();
    expect(await asked(h, id)).toEqual([]);
    await w.stop();
  });

  it('steps that reach the pause together ask once; raise_budget with a budget given resumes it with that budget', async () => {
    const { h, w, file } = await started();
    const fanOut = `export default async (wf) => { await wf.agent('writer', 'first'); return wf.parallel([() => wf.agent('writer', 'a'), () => wf.agent('writer', 'b'), () => wf.agent('writer', 'c')]); };`;
    const { id } = await w.startRun({ file: file('fan', fanOut), budgetUsd: 0.01, budgetTokens: 1000 });
    const paused = await runReaching(w, id, 'paused');
    expect(paused.steps).toHaveLength(1);
    const ask = await oneAsk(h, id);
    expect((await eventsOf(h.stores, { types: ['approval.requested'] })).map((e) => e.data.approval.id)).toEqual([ask.id]);
    const decided = await h.facets.approvals.decide(ask.id, 'raise_budget', 'tinyoffice', undefined, '$1');
    expect(approvalOutcomeText(decided)).toBe('Budget raised by tinyoffice: to $1');
    await carryOutBudgetAnswer(w, decided);
    const done = await runReaching(w, id, 'completed');
    expect(done.run.result).toEqual(['wrote: a', 'wrote: b', 'wrote: c']);
    expect(done.run.budget).toEqual({ usd: 1, tokens: 1000 });
    await w.stop();
  });

  it('stop cancels the run; a resume or cancel by hand closes the pending request; a restart leaves it pending', async () => {
    const { h, w, file } = await started();
    const module = file('spend', FOUR_STEPS);
    const stopped = (await w.startRun({ file: module, budgetUsd: 0.01 })).id;
    const resumed = (await w.startRun({ file: module, budgetTokens: 15 })).id;
    const cancelled = (await w.startRun({ file: module, budgetUsd: 0.01 })).id;
    for (const id of [stopped, resumed, cancelled]) await runReaching(w, id, 'paused');
    const [stopAsk, resumeAsk, cancelAsk] = [await oneAsk(h, stopped), await oneAsk(h, resumed), await oneAsk(h, cancelled)];
    expect(resumeAsk.summary).toBe('Workflow spend paused at its budget: used 15 of 15 tokens');

    // The next start's recovery cancels the requests of runs a stopped daemon left, not these.
    await new ApprovalDesk({ stores: h.stores, getSettings: () => SettingsSchema.parse({}), env: {} }).recover();
    expect((await h.stores.approvals.list({ status: 'pending', kind: 'workflow_budget' })).length).toBe(3);

    const stop = await h.facets.approvals.decide(stopAsk.id, 'stop', 'telegram:1', 'too dear');
    expect(await carryOutBudgetAnswer(w, stop)).toMatchObject({ status: 'cancelled' });
    expect(approvalOutcomeText((await h.stores.approvals.get(stopAsk.id))!)).toBe('Stopped by telegram:1: too dear');

    await w.resumeRun(resumed, { budgetTokens: 1000 });
    await runReaching(w, resumed, 'completed');
    expect(await h.stores.approvals.get(resumeAsk.id)).toMatchObject({ status: 'cancelled', decision: null, decidedBy: 'resume', reason: 'the run was resumed by hand' });

    await w.cancelRun(cancelled);
    expect(await h.stores.approvals.get(cancelAsk.id)).toMatchObject({ status: 'cancelled', decidedBy: 'cancel', reason: 'the run was cancelled by hand' });
    // Closed, it cannot be answered, and an answer recorded before the cancel does nothing now.
    expect((await refusal(h.facets.approvals.decide(cancelAsk.id, 'raise_budget', 'cli'))).code).toBe('APPROVAL_DECIDED');
    expect(await carryOutBudgetAnswer(w, { ...cancelAsk, status: 'answered', decision: 'raise_budget' })).toBeUndefined();

    const closed = (await eventsOf(h.stores, { types: ['approval.decided'] })).map((e) => [e.data.approval.id, e.data.approval.decidedBy]);
    expect(closed).toEqual([
      [stopAsk.id, 'telegram:1'],
      [resumeAsk.id, 'resume'],
      [cancelAsk.id, 'cancel'],
    ]);
    await w.stop();
  });

  it('a start asks about a run paused but never asked, once however many nodes start', async () => {
    const h = await harness(settings);
    const dying = workflowEngine({ ...h, stores: diesBeforeItAsks(h.stores) });
    await dying.start();
    const { id } = await dying.startRun({ file: writeProgram(h, 'spend', FOUR_STEPS), budgetUsd: 0.02 });
    await runReaching(dying, id, 'paused');
    await dying.stop();
    expect(await asked(h, id)).toEqual([]);

    const daemon = workflowEngine(h);
    await daemon.start();
    const ask = await oneAsk(h, id);
    expect(ask).toMatchObject({ status: 'pending', input: { workflowRunId: id, spent: { usd: 0.02, tokens: 30 }, budget: { usd: 0.02, tokens: null } } });
    // The daemon again, and two workers at once: the request is made already.
    await daemon.stop();
    await daemon.start();
    const workers = [workflowEngine(h, { node: 'worker-1' }), workflowEngine(h, { node: 'worker-2' })];
    await Promise.all(workers.map((w) => w.start()));
    expect(await requestsMade(h, id)).toEqual([ask.id]);
    expect((await daemon.getRun(id)).run.status).toBe('paused');

    const decided = await h.facets.approvals.decide(ask.id, 'raise_budget', 'cli');
    await carryOutBudgetAnswer(daemon, decided);
    expect((await runReaching(daemon, id, 'completed')).run.result).toHaveLength(4);
    await Promise.all([daemon, ...workers].map((w) => w.stop()));
  });

  it('an answer recorded but not carried out before a crash is carried out at the next start, by nodes starting together too', async () => {
    const { h, w, file } = await started();
    const { id } = await w.startRun({ file: file('spend', FOUR_STEPS), budgetUsd: 0.02 });
    await runReaching(w, id, 'paused');
    const ask = await oneAsk(h, id);
    // Recorded (the desk's), the node gone before the route carried it out.
    await h.facets.approvals.decide(ask.id, 'raise_budget', 'cli', undefined, '$1');
    await w.stop();
    expect((await w.getRun(id)).run.status).toBe('paused');

    // The daemon and a worker start together: one of them resumes it (the other's resume is refused, or finds it running).
    const nodes = [workflowEngine(h), workflowEngine(h, { node: 'worker' })];
    await Promise.all(nodes.map((n) => n.start()));
    const done = await runReaching(nodes[0]!, id, 'completed');
    const statuses = (await eventsOf(h.stores, { types: ['workflow.changed'] })).filter((e) => e.data.runId === id).map((e) => e.data.status);
    expect(statuses).toEqual(['running', 'paused', 'running', 'completed']);
    expect(done.run.budget).toEqual({ usd: 1, tokens: null });
    expect(done.run.result).toEqual(['wrote: part 1', 'wrote: part 2', 'wrote: part 3', 'wrote: part 4']);
    expect(done.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(await h.stores.approvals.get(ask.id)).toMatchObject({ status: 'answered', decision: 'raise_budget', answer: '$1' });
    expect(await requestsMade(h, id)).toEqual([ask.id]);
    await Promise.all(nodes.map((n) => n.stop()));
  });
});
