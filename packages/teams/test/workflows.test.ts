/**
 * The workflow engine on a real orchestrator with mock agents (SQLite here; the PostgreSQL run
 * takes it too): a program's steps journaled and replayed, identity across parallel branches,
 * the determinism check, budgets, cancel and resume, a second engine taking over a run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { runReaching, workflowEngine, writeProgram } from './workflow-helpers.ts';
import { closeAll, countRows, eventsOf, gates, harness } from './helpers.ts';

afterEach(closeAll);

const agents = (gateDir?: string): Settings => ({
  agents: {
    writer: { provider: 'mock', mock: { reply: 'wrote: {{message}}', usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.01 } } },
    judge: {
      provider: 'mock',
      mock: {
        ...(gateDir ? { gate_dir: gateDir } : {}),
        replies: [
          { match: 'hold', gate: 'release', reply: 'released' },
          { match: 'score', reply: '```json\n{"score": 7}\n```' },
        ],
        reply: 'judged: {{message}}',
      },
    },
  },
});

describe('workflows', () => {
  it('runs a program: parallel branches, a map, a pipeline and a schema; each step journaled once with its conversation and cost', async () => {
    const h = await harness(agents());
    const w = workflowEngine(h);
    await w.start();
    const file = writeProgram(
      h,
      'review',
      `export default async (wf, input) => {
        const drafts = await wf.parallel([() => wf.agent('writer', 'draft a'), () => wf.agent('writer', 'draft b')]);
        const judged = await wf.map(input.files, (f) => wf.agent('judge', 'look at ' + f), { concurrency: 2 });
        const piped = await wf.pipeline('x', [(v) => wf.agent('writer', 'first ' + v), (v) => wf.step('upper', () => v.toUpperCase())]);
        const score = await wf.agent('judge', 'score it', { schema: { safeParse: (v) => (typeof v?.score === 'number' ? { success: true, data: v.score } : { success: false, error: new Error('no score') }) } });
        return { drafts, judged, piped, score };
      };`,
    );
    const started = await w.startRun({ file, input: { files: ['a.ts', 'b.ts', 'c.ts'] } });
    expect(started).toMatchObject({ status: 'running', name: 'review' });
    const { run, steps } = await runReaching(w, started.id);
    expect(run.result).toEqual({
      drafts: ['wrote: draft a', 'wrote: draft b'],
      judged: ['judged: look at a.ts', 'judged: look at b.ts', 'judged: look at c.ts'],
      piped: 'WROTE: FIRST X',
      score: 7,
    });
    expect(steps.map((s) => s.stepId).sort()).toEqual(
      ['1:parallel[0]/1:agent', '1:parallel[1]/1:agent', '2:map[0]/1:agent', '2:map[1]/1:agent', '2:map[2]/1:agent', '3:pipeline[0]/1:agent', '3:pipeline[1]/upper', '4:agent'].sort(),
    );
    expect(steps.every((s) => s.status === 'completed')).toBe(true);
    expect(steps.filter((s) => s.kind === 'agent').every((s) => s.conversationId !== null)).toBe(true);
    // Three writer steps at $0.01 each (the judge's usage is estimated, free).
    expect(run.costUsd).toBeCloseTo(0.03, 5);
    expect(run.steps).toEqual({ total: 8, running: 0, completed: 8, failed: 0 });
    // One message per agent step, never two.
    expect(await countRows(h.stores, 'messages')).toBe(7);
    const changes = await eventsOf(h.stores, { types: ['workflow.changed'] });
    expect(changes.map((e) => e.data.status)).toEqual(['running', 'completed']);
    await w.stop();
  });

  it('a second engine replays a run the first left (its node stopped mid-run): finished steps are not sent again, the rest run once', async () => {
    const g = gates();
    const h = await harness(agents(g.dir));
    const first = workflowEngine(h, { node: 'a' });
    await first.start();
    const file = writeProgram(h, 'relay', `export default async (wf) => [await wf.agent('writer', 'one'), await wf.agent('judge', 'hold on'), await wf.agent('writer', 'three')];`);
    const { id } = await first.startRun({ file });
    await waitFor(async () => (await first.getRun(id)).steps.find((s) => s.stepId === '2:agent' && s.conversationId), 10_000, 'the second step sent');
    await first.stop();
    // The held step finishes while nobody drives the run.
    g.open('release');
    const second = workflowEngine(h, { node: 'b', leaseMs: 1 });
    await second.start();
    const { run, steps } = await runReaching(second, id);
    expect(run.result).toEqual(['wrote: one', 'released', 'wrote: three']);
    expect(steps.map((s) => [s.stepId, s.status])).toEqual([
      ['1:agent', 'completed'],
      ['2:agent', 'completed'],
      ['3:agent', 'completed'],
    ]);
    expect(await countRows(h.stores, 'messages')).toBe(3);
    await second.stop();
  });

  it('a run started before the engine starts (the API answers before the node starts its engine) is driven at the start', async () => {
    const h = await harness(agents());
    const w = workflowEngine(h, { sweepMs: 60_000 });
    const file = writeProgram(h, 'early', `export default async (wf) => wf.agent('writer', 'early')`);
    const { id } = await w.startRun({ file });
    await w.start();
    expect((await runReaching(w, id)).run.result).toBe('wrote: early');
    await w.stop();
  });

  it('a program that no longer matches its journal fails the run naming the step; fixed and resumed, it completes', async () => {
    const h = await harness(agents());
    const w = workflowEngine(h);
    await w.start();
    const file = writeProgram(h, 'drift', `export default async (wf) => { await wf.agent('writer', 'one'); throw new Error('stop here'); };`);
    const { id } = await w.startRun({ file });
    const failed = await runReaching(w, id, 'failed');
    expect(failed.run.reason).toContain('stop here');
    // Edited: the first call now asks something else.
    writeFileSync(file, `export default async (wf) => wf.agent('writer', 'uno');`);
    await w.resumeRun(id);
    const drifted = await runReaching(w, id, 'failed');
    expect(drifted.run.reason).toMatch(/no longer matches its journal at step 1:agent: it was agent to writer "one", and is now agent to writer "uno"/);
    writeFileSync(file, `export default async (wf) => [await wf.agent('writer', 'one'), await wf.agent('writer', 'two')];`);
    await w.resumeRun(id);
    expect((await runReaching(w, id)).run.result).toEqual(['wrote: one', 'wrote: two']);
    expect(await countRows(h.stores, 'messages')).toBe(2);
    await w.stop();
  });

  it('a failed step rejects in the program, which may go on; resumed after the run failed, the step runs again as a new attempt', async () => {
    const h = await harness(agents());
    const w = workflowEngine(h);
    await w.start();
    const file = writeProgram(
      h,
      'missing',
      `export default async (wf) => {
        const caught = await wf.agent('nobody', 'hi').catch((e) => e.name + ': ' + e.message);
        return [caught, await wf.agent('ghost', 'boo')];
      };`,
    );
    const { id } = await w.startRun({ file });
    const failed = await runReaching(w, id, 'failed');
    expect(failed.steps.map((s) => [s.stepId, s.status, s.error])).toEqual([
      ['1:agent', 'failed', 'No agent "nobody" in the settings.'],
      ['2:agent', 'failed', 'No agent "ghost" in the settings.'],
    ]);
    expect(failed.run.reason).toContain('Step 2:agent failed: No agent "ghost" in the settings.');
    h.setSettings({ agents: { ...agents().agents, nobody: { provider: 'mock', mock: { reply: 'here' } }, ghost: { provider: 'mock', mock: { reply: 'boo to you' } } } });
    await w.resumeRun(id);
    expect((await runReaching(w, id)).run.result).toEqual(['here', 'boo to you']);
    await w.stop();
  });

  it('a budget pauses the run before a new step; resumed with more, it finishes; the pause is refused when the budget is still spent', async () => {
    const h = await harness(agents());
    const w = workflowEngine(h);
    await w.start();
    const file = writeProgram(h, 'spend', `export default async (wf) => { const out = []; for (const n of [1, 2, 3, 4]) out.push(await wf.agent('writer', 'part ' + n)); return out; };`);
    const { id } = await w.startRun({ file, budgetUsd: 0.02 });
    const paused = await runReaching(w, id, 'paused');
    expect(paused.run.reason).toMatch(/^Paused at its budget: spent \$0\.0200 of \$0\.02/);
    expect(paused.steps).toHaveLength(2);
    await expect(w.resumeRun(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await w.resumeRun(id, { budgetUsd: 1 });
    const done = await runReaching(w, id);
    expect(done.run.result).toEqual(['wrote: part 1', 'wrote: part 2', 'wrote: part 3', 'wrote: part 4']);
    expect(done.run.budget).toEqual({ usd: 1, tokens: null });
    await w.stop();
  });

  it('cancel ends a run: its running step is cancelled with its conversation, and no new step starts', async () => {
    const g = gates();
    const h = await harness(agents(g.dir));
    const w = workflowEngine(h);
    await w.start();
    const file = writeProgram(h, 'held', `export default async (wf) => [await wf.agent('judge', 'hold it'), await wf.agent('writer', 'never')];`);
    const { id } = await w.startRun({ file });
    const sent = await waitFor(async () => (await w.getRun(id)).steps.find((s) => s.conversationId)?.conversationId ?? undefined, 10_000, 'the step sent');
    const cancelled = await w.cancelRun(id);
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'Cancelled by a person.' });
    const { steps } = await w.getRun(id);
    expect(steps.map((s) => [s.stepId, s.status, s.error])).toEqual([['1:agent', 'failed', 'cancelled with its run']]);
    await waitFor(async () => ((await h.stores.runs.getConversation(sent))?.status === 'cancelled' ? true : undefined), 10_000, 'the conversation cancelled');
    await expect(w.cancelRun(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(w.resumeRun(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await w.stop();
  });

  it('refuses what it cannot run: a relative path, another extension, a missing file, no default function, a module that does not load; an unknown run', async () => {
    const h = await harness(agents());
    const w = workflowEngine(h);
    await w.start();
    await expect(w.startRun({ file: 'flow.mjs' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('absolute path') });
    await expect(w.startRun({ file: join(h.dir, 'flow.json') })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('.ts, .mts, .js or .mjs') });
    await expect(w.startRun({ file: join(h.dir, 'none.mjs') })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('No workflow file') });
    await expect(w.startRun({ file: writeProgram(h, 'named', 'export const x = 1;') })).rejects.toMatchObject({ message: expect.stringContaining('no default export that is a function') });
    await expect(w.startRun({ file: writeProgram(h, 'broken', 'export default async (wf => {') })).rejects.toMatchObject({ message: expect.stringContaining('could not be loaded') });
    await expect(w.getRun('wf_nope')).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' });
    expect(await w.listRuns()).toEqual([]);
    await w.stop();
  });
});
