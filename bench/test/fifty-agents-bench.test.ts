/**
 * B26 (bench/src/fifty-agents-bench.ts) in a small cell: two warm sandboxed agents made as `agent
 * add` makes them, two git tasks started at once, 1 s idle windows. It proves the script runs to
 * the end with the built daemon (each stand-in commits after its request is answered, says done,
 * and the task reaches Review), tells the CLI's processes from the daemon's side, and that no Node
 * process but the daemon stays on the daemon's side (each agent's network is held by a `cat`). No
 * figure of time or memory is asserted: those go in docs/benchmarks.md. Needs bubblewrap and the
 * built bundle (`pnpm build`); about 6 s.
 */
import { describe, expect, it } from 'vitest';
import { formatB26, measureB26 } from '../src/fifty-agents-bench.ts';

describe('B26: fifty agents at once, in a cell of two', () => {
  it('runs two tasks to Review on two warm sandboxed agents and splits the tree into the daemon side and the CLIs', async () => {
    const opts = { agents: 2, idleSeconds: 1 };
    const r = await measureB26(opts);
    expect(r.tasks).toMatchObject({ approvals: 2, warmSessions: 2 });
    expect(r.tasks.events).toBeGreaterThan(0);
    expect(r.floor).toMatchObject({ processes: 1, cliProcesses: 0 });
    expect(r.warm.cliProcesses).toBe(2);
    expect(r.warm.names['network holder: cat']?.count).toBe(2);
    expect(r.warm.names['network holder: bwrap']?.count).toBe(4);
    expect(Object.keys(r.warm.names).filter((kind) => kind.includes('node'))).toEqual([]);
    const table = formatB26(r, opts);
    expect(table).toContain('| all in Review | ');
    expect(table).toContain('(2 of 2)');
  }, 180_000);
});
