/**
 * Replay and step identity as properties (docs/workflows.md, "Step ids" and "Replay"), over
 * random programs of agent calls, task steps, steps, parallel groups, maps and pipelines nested in each other,
 * on the real SQLite journal. The agent is a scripted host (its answer a function of the prompt,
 * after a random number of turns of the event loop), so branches finish in random orders:
 * - the step ids of a program are unique and the same whatever order its branches finish in;
 * - a program replayed on its finished journal gives the same result without starting anything;
 * - a run cut off after any number of started steps (a crash: what was running never journaled)
 *   and replayed gives the undisturbed run's result, with every step id started once.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '@tinyagi/core/internal';
import { cleanupTemp, tempDir } from '@tinyagi/test-kit';
import type { WorkflowContext } from '@tinyagi/client';
import { ProgramContext, type StepHost } from '../src/workflows/program-context.ts';

type Node =
  | { t: 'agent'; p: string }
  | { t: 'task'; title: string }
  | { t: 'step'; name: string }
  | { t: 'par'; kids: Node[][] }
  | { t: 'map'; n: number; body: Node[] }
  | { t: 'pipe'; stages: Node[][] };

const node: fc.Memo<Node> = fc.memo((depth) =>
  depth <= 1
    ? fc.oneof(
        fc.record({ t: fc.constant('agent' as const), p: fc.string({ minLength: 1, maxLength: 6 }) }),
        fc.record({ t: fc.constant('task' as const), title: fc.constantFrom('fix it', 'add it') }),
        fc.record({ t: fc.constant('step' as const), name: fc.constantFrom('fetch', 'sum', 'pick') }),
      )
    : fc.oneof(
        { weight: 3, arbitrary: node(1) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('par' as const), kids: fc.array(fc.array(node(depth - 1), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }) }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('map' as const), n: fc.integer({ min: 1, max: 4 }), body: fc.array(node(depth - 1), { minLength: 1, maxLength: 2 }) }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('pipe' as const), stages: fc.array(fc.array(node(depth - 1), { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 3 }) }) },
      ),
);
const programArb = fc.array(node(3), { minLength: 1, maxLength: 5 });

/** Runs a program's nodes in order; every value depends on where it was made and what came before. */
async function exec(seq: Node[], wf: WorkflowContext, at: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const n of seq) {
    const prev = JSON.stringify(out.at(-1) ?? null).slice(0, 20);
    switch (n.t) {
      case 'agent':
        out.push(await wf.agent('a', `${n.p}@${at}<${prev}`));
        break;
      case 'task':
        out.push((await wf.task({ project: 'P', title: `${n.title}@${at}<${prev}`, agent: 'a' })).identifier);
        break;
      case 'step':
        out.push(await wf.step(n.name, () => `${n.name}@${at}`));
        break;
      case 'par':
        out.push(await wf.parallel(n.kids.map((kid, i) => () => exec(kid, wf, `${at}.p${i}`))));
        break;
      case 'map':
        out.push(
          await wf.map(
            Array.from({ length: n.n }, (_, i) => i),
            (i) => exec(n.body, wf, `${at}.m${i}`),
            { concurrency: 2 },
          ),
        );
        break;
      case 'pipe':
        out.push(
          await wf.pipeline(
            at,
            n.stages.map((stage, i) => (v: unknown) => exec(stage, wf, `${at}.s${i}:${JSON.stringify(v).slice(0, 10)}`)),
          ),
        );
        break;
    }
  }
  return out;
}

/** A seeded generator of turns to wait (xorshift). */
function turns(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return Math.abs(x) % 4;
  };
}

const tick = (n: number) => new Promise<void>((resolve) => (n === 0 ? queueMicrotask(resolve) : setTimeout(resolve, 0)));

interface Host extends StepHost {
  started: string[];
  sent: string[];
}

function host(stores: SqliteStores, runId: string, seed: number, crashAfter = Number.POSITIVE_INFINITY): Host {
  const wait = turns(seed);
  const abort = new AbortController();
  const started: string[] = [];
  const sent: string[] = [];
  return {
    runId,
    signal: abort.signal,
    journal: stores.workflows,
    started,
    sent,
    async beforeNewStep() {
      if (started.length >= crashAfter) {
        abort.abort(new Error('crash'));
        throw new Error('crash');
      }
      started.push('');
    },
    async runAgent(step, prompt) {
      sent.push(step.stepId);
      for (let i = wait(); i > 0; i--) await tick(wait());
      if (abort.signal.aborted) throw abort.signal.reason;
      return { output: `<${prompt}>`, costUsd: 0, tokens: 0 };
    },
    async runTask(step, spec) {
      sent.push(step.stepId);
      for (let i = wait(); i > 0; i--) await tick(wait());
      if (abort.signal.aborted) throw abort.signal.reason;
      const outcome = { taskId: step.stepId, identifier: `T-${spec.title}`, agent: spec.agent, outcome: 'passed', reason: null, branch: null, headSha: null, additions: 1, deletions: 0 };
      return { output: outcome, costUsd: 0, tokens: 0 };
    },
    async runStep(fn) {
      return fn();
    },
    async diffs() {
      return [];
    },
    async setAside() {},
    async merge() {
      return { merged: false, error: null };
    },
    stepChanged() {},
    log() {},
  };
}

async function run(program: Node[], h: Host): Promise<unknown> {
  const context = new ProgramContext(h);
  return context.run(() => exec(program, context.api(), 'root'));
}

let stores: SqliteStores;
afterEach(() => {
  stores?.close();
  cleanupTemp();
});

describe('workflow replay (properties)', () => {
  it('step ids are unique and the same whatever order the branches finish in; a finished journal replays without starting anything', async () => {
    stores = openStores({ dbPath: join(tempDir('tinyagi-wf-prop-'), 'wf.db') });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(programArb, fc.integer(), fc.integer(), async (program, seedA, seedB) => {
        const a = `run-a-${++n}`;
        const b = `run-b-${n}`;
        const first = await run(program, host(stores, a, seedA));
        const second = await run(program, host(stores, b, seedB));
        expect(second).toEqual(first);
        const ids = (await stores.workflows.steps(a)).map((s) => s.stepId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set((await stores.workflows.steps(b)).map((s) => s.stepId))).toEqual(new Set(ids));
        // Replayed on its journal: the same result, nothing started or sent.
        const again = host(stores, a, seedB, 0);
        expect(await run(program, again)).toEqual(first);
        expect(again.sent).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('a run cut off after any number of started steps, then replayed, gives the undisturbed result with every step started once', async () => {
    stores = openStores({ dbPath: join(tempDir('tinyagi-wf-prop-'), 'wf.db') });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(programArb, fc.integer(), fc.integer({ min: 0, max: 30 }), async (program, seed, crashAfter) => {
        const clean = `clean-${++n}`;
        const cut = `cut-${n}`;
        const expected = await run(program, host(stores, clean, seed));
        const crashed = host(stores, cut, seed, crashAfter);
        await run(program, crashed).catch(() => {});
        const resumed = host(stores, cut, seed ^ 0x5bd1e995);
        expect(await run(program, resumed)).toEqual(expected);
        const steps = await stores.workflows.steps(cut);
        expect(steps.map((s) => s.stepId).sort()).toEqual((await stores.workflows.steps(clean)).map((s) => s.stepId).sort());
        // Started once: what the crash started is not started again.
        expect(crashed.started.length + resumed.started.length).toBe(steps.length);
        expect(steps.every((s) => s.status === 'completed' && s.attempt === 1)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
