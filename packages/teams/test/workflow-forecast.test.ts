import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { PLAN_STEPS_MAX } from '../src/workflows/forecast.ts';
import { workflowEngine, writeProgram } from './workflow-helpers.ts';
import { closeAll, countRows, harness } from './helpers.ts';

afterEach(closeAll);

const usage = (cost: number) => ({ input_tokens: 100, output_tokens: Math.round(cost * 1000), cost_usd: cost });

// The writer costs $0.01 for a short prompt and $0.50 for a long one; `other` runs the same
// provider on another model, so the writer's runs do not price it.
const settings: Settings = {
  agents: {
    writer: {
      provider: 'mock',
      mock: { replies: [{ match: 'LONG', reply: 'long', usage: usage(0.5) }], reply: 'ok', usage: usage(0.01) },
    },
    other: { provider: 'mock', model: 'other-model', mock: { reply: 'other' } },
  },
};

const REVIEW = `export default async (wf, input) => {
  const files = await wf.step('list', () => input.files, { readOnly: true });
  const notes = await wf.map(files, (f) => wf.agent('writer', 'review ' + f));
  const summary = await wf.agent('other', 'sum up ' + notes.length);
  return { notes, summary };
};`;

describe('workflow forecast', () => {
  it('plans without running an agent, and prices the steps from runs of the same provider and model', async () => {
    const h = await harness(settings);
    const w = workflowEngine(h);
    await w.start();
    const file = writeProgram(h, 'review', REVIEW);
    const input = { files: ['a.ts', 'b.ts', 'c.ts'] };

    const first = await w.forecast({ file, input });
    expect(first).toMatchObject({ steps: 4, unpriced: 4, complete: true, note: null, pastRuns: null, costUsd: { low: 0, high: 0 } });
    expect(first.agents.map((a) => [a.agentId, a.provider, a.model, a.steps, a.samples])).toEqual([
      ['writer', 'mock', null, 3, 0],
      ['other', 'mock', 'other-model', 1, 0],
    ]);
    // Nothing ran and nothing was recorded.
    expect(await countRows(h.stores, 'messages')).toBe(0);
    expect(await w.listRuns()).toEqual([]);

    // History: one run of the workflow (three short writer prompts), and one long writer prompt.
    const { id } = await w.startRun({ file, input });
    await waitFor(async () => ((await w.getRun(id)).run.status === 'completed' ? true : undefined), 20_000, 'the run to complete');
    const long = writeProgram(h, 'long', `export default async (wf) => wf.agent('writer', 'LONG ' + 'x'.repeat(2000));`);
    const { id: longId } = await w.startRun({ file: long });
    await waitFor(async () => ((await w.getRun(longId)).run.status === 'completed' ? true : undefined), 20_000, 'the long run to complete');

    const second = await w.forecast({ file, input: { files: ['a.ts', 'b.ts', 'c.ts', 'd.ts'] } });
    expect(second).toMatchObject({ steps: 5, complete: true });
    const writer = second.agents.find((a) => a.agentId === 'writer')!;
    // Four writer runs so far; fewer than five of a similar prompt length, so all four price it: $0.01 to $0.50 a step.
    expect(writer).toMatchObject({ steps: 4, samples: 4 });
    expect(writer.costUsd.low).toBeCloseTo(0.04, 6);
    expect(writer.costUsd.high).toBeCloseTo(2, 6);
    expect(second.costUsd).toEqual(writer.costUsd);
    // `other` ran once, on its own model: priced from that run alone.
    expect(second.agents.find((a) => a.agentId === 'other')).toMatchObject({ steps: 1, samples: 1 });
    expect(second.unpriced).toBe(0);
    expect(second.pastRuns).toMatchObject({ runs: 1 });
    expect(second.pastRuns!.costUsd.low).toBeCloseTo(0.03, 6);
    await w.stop();
  });

  it('says where the plan stopped: on a step it does not run, or a loop on a stand-in reply cut at the limit', async () => {
    const h = await harness(settings);
    const w = workflowEngine(h);
    await w.start();
    const unmarked = writeProgram(h, 'unmarked', REVIEW.replace(', { readOnly: true }', ''));
    const stopped = await w.forecast({ file: unmarked, input: { files: ['a.ts'] } });
    expect(stopped).toMatchObject({ steps: 0, complete: false });
    expect(stopped.note).toContain('readOnly: true');

    const loop = writeProgram(h, 'loop', `export default async (wf) => { let r = ''; while (r !== 'DONE') r = await wf.agent('writer', 'again'); };`);
    const cut = await w.forecast({ file: loop });
    expect(cut).toMatchObject({ steps: PLAN_STEPS_MAX, complete: false });
    expect(cut.note).toContain(`cut at ${PLAN_STEPS_MAX}`);

    const best = writeProgram(h, 'best', `export default async (wf) => wf.bestOf({ project: 'web', title: 'fix it', agents: ['writer', 'other'], judge: { agent: 'writer' } });`);
    const planned = await w.forecast({ file: best });
    // Two task steps, then the judge's agent step.
    expect(planned).toMatchObject({ steps: 3, complete: true });
    expect(planned.agents.map((a) => [a.agentId, a.steps])).toEqual([
      ['writer', 2],
      ['other', 1],
    ]);
    expect(await countRows(h.stores, 'messages')).toBe(0);
    await w.stop();
  });
});
