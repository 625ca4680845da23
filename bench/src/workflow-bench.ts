/**
 * B29: a workflow of many agent steps (docs/workflows.md). The built daemon, started as
 * `tinyagi start`, with mock agents; in one run, side by side:
 * - the floor: the same number of messages sent through the API (`POST /api/messages`), the same
 *   number in flight at once, each followed to its conversation's end on the event stream: what
 *   the queue alone costs;
 * - the workflow: `wf.map` over the same steps at the same width, one run;
 * - a chain of sequential steps both ways, where each step waits for the one before.
 * Per step: (the workflow's wall − the floor's) / steps is the orchestration's overhead (the
 * journal, the replay scope, the step's events). The daemon's RSS before and after each.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '@tinyagi/client';
import { cleanupTemp, createDaemon, type TestDaemon } from '@tinyagi/test-kit';

export interface B29Options {
  steps: number;
  /** Steps in flight at once (the map's concurrency; the floor's). */
  width: number;
  /** Mock agents the steps go round. */
  agents: number;
  /** Steps of the sequential chain. */
  chain: number;
}

export interface B29Way {
  wallS: number;
  perStepMs: number;
  rssBeforeMb: number;
  rssAfterMb: number;
}

export interface B29Result {
  floor: B29Way;
  workflow: B29Way;
  chainFloor: B29Way;
  chainWorkflow: B29Way;
  journalSteps: number;
}

const progress = (line: string) => process.stderr.write(`B29: ${line}\n`);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * Sends `count` messages, at most `width` in flight, each followed to its conversation's end. The
 * stream starts from the log's last event before the first send: a conversation that ends before
 * the stream is connected is still seen (without it, the floor waited forever now and then).
 */
async function floorWay(api: ApiClient, agents: number, count: number, width: number, tag: string): Promise<number> {
  const waiting = new Map<string, () => void>();
  const ended = new Set<string>();
  const abort = new AbortController();
  const after = (await api.status()).lastEventId;
  const events = api.subscribe({ types: ['conversation.completed'], lastEventId: after, signal: abort.signal });
  const listening = (async () => {
    for await (const e of events) {
      if (!e.conversationId) continue;
      ended.add(e.conversationId);
      waiting.get(e.conversationId)?.();
    }
  })().catch(() => {});
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const sent = await api.sendMessage({ body: { agent: `a${i % agents}`, message: `${tag} ${i}`, channel: 'api', sender: 'bench', senderId: `bench-${tag}-${i}` } });
      if (!ended.has(sent.conversationId)) await new Promise<void>((resolve) => waiting.set(sent.conversationId, resolve));
      waiting.delete(sent.conversationId);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  const wall = (performance.now() - started) / 1000;
  abort.abort();
  await listening;
  return wall;
}

/** Starts the workflow and waits for its `workflow.changed` event out of `running` (as the floor waits on its events: no polling of the run and its steps meanwhile). */
async function workflowWay(daemon: TestDaemon, file: string, input: unknown): Promise<{ wallS: number; steps: number }> {
  const abort = new AbortController();
  const after = (await daemon.api.status()).lastEventId;
  const events = daemon.api.subscribe({ types: ['workflow.changed'], lastEventId: after, signal: abort.signal });
  const started = performance.now();
  const { run } = await daemon.api.startWorkflow({ body: { file, input } });
  let wallS = 0;
  for await (const e of events) {
    if (e.data.runId !== run.id || e.data.status === 'running') continue;
    wallS = (performance.now() - started) / 1000;
    break;
  }
  abort.abort();
  const done = await daemon.api.getWorkflowRun({ params: { id: run.id } });
  if (done.run.status !== 'completed') throw new Error(`B29: the workflow ${done.run.status}: ${done.run.reason}`);
  return { wallS, steps: done.steps.length };
}

export async function measureB29(opts: B29Options): Promise<B29Result> {
  const agents = Object.fromEntries(Array.from({ length: opts.agents }, (_, i) => [`a${i}`, { provider: 'mock', mock: { reply: 'done: {{message}}' } }]));
  const daemon = await createDaemon({
    prefix: 'tinyagi-b29-',
    settings: ({ root }) => ({ workspace: { path: join(root, 'workspace') }, agents, teams: {}, channels: { enabled: [] } }),
  });
  try {
    await daemon.start();
    const wide = join(daemon.root, 'wide.mjs');
    writeFileSync(
      wide,
      "export default async (wf, input) => (await wf.map(Array.from({ length: input.steps }, (_, i) => i), (i) => wf.agent('a' + (i % input.agents), 'wf ' + i), { concurrency: input.width })).length;\n",
    );
    const chain = join(daemon.root, 'chain.mjs');
    writeFileSync(chain, "export default async (wf, input) => { let last = ''; for (let i = 0; i < input.steps; i++) last = await wf.agent('a' + (i % input.agents), 'chain ' + i); return last; };\n");
    const way = async (work: () => Promise<number>, steps: number): Promise<B29Way> => {
      const rssBeforeMb = rssMb(daemon.pid);
      const wallS = await work();
      return { wallS, perStepMs: (wallS * 1000) / steps, rssBeforeMb, rssAfterMb: rssMb(daemon.pid) };
    };
    // One unmeasured round each way first (the daemon's first messages warm its code).
    await floorWay(daemon.api, opts.agents, opts.width, opts.width, 'warm');
    await workflowWay(daemon, wide, { steps: opts.width, width: opts.width, agents: opts.agents });
    progress(`floor: ${opts.steps} messages, ${opts.width} at once`);
    const floor = await way(() => floorWay(daemon.api, opts.agents, opts.steps, opts.width, 'floor'), opts.steps);
    progress(`workflow: ${opts.steps} steps, ${opts.width} at once`);
    let journalSteps = 0;
    const workflow = await way(async () => {
      const r = await workflowWay(daemon, wide, { steps: opts.steps, width: opts.width, agents: opts.agents });
      journalSteps = r.steps;
      return r.wallS;
    }, opts.steps);
    progress(`chains of ${opts.chain}`);
    const chainFloor = await way(() => floorWay(daemon.api, opts.agents, opts.chain, 1, 'chain'), opts.chain);
    const chainWorkflow = await way(async () => (await workflowWay(daemon, chain, { steps: opts.chain, agents: opts.agents })).wallS, opts.chain);
    return { floor, workflow, chainFloor, chainWorkflow, journalSteps };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${daemon.logs()}`);
  } finally {
    await daemon.cleanup();
    cleanupTemp();
  }
}

export async function benchB29(opts: B29Options): Promise<string> {
  const r = await measureB29(opts);
  process.stderr.write(`B29: ${JSON.stringify(r)}\n`);
  return formatB29(r, opts);
}

export function formatB29(r: B29Result, opts: B29Options): string {
  const f1 = (v: number) => v.toFixed(1);
  const f2 = (v: number) => v.toFixed(2);
  const row = (name: string, w: B29Way) => `| ${name} | ${f1(w.wallS)} s | ${f2(w.perStepMs)} ms | ${f1(w.rssBeforeMb)} → ${f1(w.rssAfterMb)} MB |`;
  return [
    `| ${opts.agents} mock agents | wall | per step | the daemon's RSS before → after |`,
    '| --- | --- | --- | --- |',
    row(`floor: ${opts.steps} messages through the API, ${opts.width} at once`, r.floor),
    row(`**workflow: \`wf.map\` of ${opts.steps} agent steps, ${opts.width} at once**`, r.workflow),
    row(`floor: a chain of ${opts.chain} messages, one after another`, r.chainFloor),
    row(`**workflow: a chain of ${opts.chain} agent steps**`, r.chainWorkflow),
    '',
    `The workflow's overhead per step: **${f2(r.workflow.perStepMs - r.floor.perStepMs)} ms** at ${opts.width} at once, **${f2(r.chainWorkflow.perStepMs - r.chainFloor.perStepMs)} ms** in a chain (the workflow's per step minus the floor's). Its journal held ${r.journalSteps} steps.`,
  ].join('\n');
}
