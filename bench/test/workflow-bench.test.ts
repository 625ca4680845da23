/**
 * B29 (bench/src/workflow-bench.ts) in a small cell: 20 steps, 5 at once, on 2 mock agents, and a
 * chain of 5. It proves the script runs to the end with the built daemon: both ways finish, the
 * workflow's journal holds every step, and the table is made. No figure of time or memory is
 * asserted: those go in docs/benchmarks.md. Needs the built bundle (`pnpm build`).
 */
import { describe, expect, it } from 'vitest';
import { formatB29, measureB29 } from '../src/workflow-bench.ts';

describe('B29: a workflow of many agent steps, in a small cell', () => {
  it('runs the floor and the workflow, wide and in a chain, and journals every step', async () => {
    const opts = { steps: 20, width: 5, agents: 2, chain: 5 };
    const r = await measureB29(opts);
    expect(r.journalSteps).toBe(20);
    for (const way of [r.floor, r.workflow, r.chainFloor, r.chainWorkflow]) expect(way.wallS).toBeGreaterThan(0);
    expect(formatB29(r, opts)).toContain("The workflow's overhead per step:");
  }, 180_000);
});
