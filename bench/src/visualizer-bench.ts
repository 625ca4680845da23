/**
 * B9: the terminal dashboard under a firehose. A real daemon server (@tinyagi/server over a
 * SQLite event log, in this process) publishes 1,000 events a second for 30 s: a team's run
 * lifecycle (queued, started, progress, handoff, completed) across 8 agents and rotating
 * conversations. The dashboard runs in its own process (b9-dashboard.ts), subscribed through
 * @tinyagi/client like `tinyagi visualize`, drawing on an 80x24 terminal stream. We read its
 * CPU, memory (after a forced GC every 5 s) and the frames Ink actually wrote.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores, type Settings } from '@tinyagi/core';
import { fileSettingsSource } from '@tinyagi/core/internal';
import { Orchestrator } from '@tinyagi/teams';
import { startServer } from '@tinyagi/server';

const CHILD = new URL('./b9-dashboard.ts', import.meta.url).pathname;
const AGENTS = ['lead', 'coder', 'tester', 'reviewer', 'writer', 'ops', 'design', 'data'];

interface Sample {
  cpuMs: number;
  rss: number;
  heapUsed: number;
  frames: number;
  writes: number;
  bytes: number;
  events: number;
  lastEventId: number;
  connection: string;
}

export async function benchB9(seconds = Number(process.env.B9_SECONDS ?? 30), rate = 1000): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'tinyagi-bench-vis-'));
  const settingsFile = join(home, 'settings.json');
  const settings = {
    workspace: { path: join(home, 'ws') },
    agents: Object.fromEntries(AGENTS.map((a) => [a, { name: a, provider: 'mock', model: 'bench' }])),
    teams: { bench: { name: 'bench', agents: AGENTS, leader_agent: 'lead' } },
  } as unknown as Settings;
  writeFileSync(settingsFile, JSON.stringify(settings));
  const stores = openStores({ dbPath: join(home, 'tinyagi.db') });
  const orchestrator = new Orchestrator({ stores, getSettings: () => settings });
  const token = 'bench-token-0123456789abcdef0123456789';
  const server = await startServer({
    stores,
    orchestrator,
    home,
    settingsFile,
    settings: fileSettingsSource({ file: settingsFile, watch: true }),
    token,
    version: 'bench',
    port: 0,
    host: '127.0.0.1',
    limits: { sseClientBuffer: 10_000 },
  });
  const child = fork(CHILD, [JSON.stringify({ url: server.url, token })], { execArgv: [...process.execArgv, '--expose-gc'] });
  const samples: Sample[] = [];
  const heaps: Array<{ t: number; heapUsed: number; rss: number }> = [];
  let heapWaiter: ((m: { heapUsed: number; rss: number }) => void) | undefined;
  child.on('message', (m: { type: string } & Sample & { heapUsed: number; rss: number }) => {
    if (m.type === 'sample') samples.push(m);
    if (m.type === 'heap') heapWaiter?.(m);
  });
  const heap = (): Promise<{ heapUsed: number; rss: number }> =>
    new Promise((resolve) => {
      heapWaiter = resolve;
      child.send({ type: 'gc' });
    });
  const until = async (check: () => boolean): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('B9: the dashboard did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  try {
    await until(() => samples.at(-1)?.connection === 'open');
    await new Promise((r) => setTimeout(r, 1000));
    heaps.push({ t: 0, ...(await heap()) });
    const start = samples.length;
    // 10 ms ticks of rate/100 events: one transaction each (EventLog.emit batches per tick).
    let sent = 0;
    let conv = 0;
    const began = Date.now();
    const perTick = rate / 100;
    let nextHeap = 5;
    while (Date.now() - began < seconds * 1000) {
      const due = Math.floor(((Date.now() - began) / 1000) * rate);
      while (sent < due) {
        for (let i = 0; i < perTick && sent < due; i++) emitOne(stores, sent++, () => conv++);
      }
      if ((Date.now() - began) / 1000 >= nextHeap) {
        heaps.push({ t: nextHeap, ...(await heap()) });
        nextHeap += 5;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    stores.events.flush();
    const lastId = stores.events.lastId();
    await until(() => (samples.at(-1)?.lastEventId ?? 0) >= lastId);
    heaps.push({ t: seconds, ...(await heap()) });
    const run = samples.slice(start);
    const cpuMs = run.reduce((a, s) => a + s.cpuMs, 0);
    const wall = run.length;
    const frames = (run.at(-1)?.frames ?? 0) - (samples[start - 1]?.frames ?? 0);
    const writes = (run.at(-1)?.writes ?? 0) - (samples[start - 1]?.writes ?? 0);
    const kib = ((run.at(-1)?.bytes ?? 0) - (samples[start - 1]?.bytes ?? 0)) / 1024;
    const events = (run.at(-1)?.events ?? 0) - (samples[start - 1]?.events ?? 0);
    const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
    const peakCpu = Math.max(...run.map((s) => s.cpuMs / 10));
    return [
      `| events published | events applied by the dashboard | wall | dashboard CPU (avg / peak 1 s) | frames drawn | frames/s | bytes to the terminal |`,
      '|---|---|---|---|---|---|---|',
      `| ${sent.toLocaleString('en')} (${rate}/s × ${seconds} s) | ${events.toLocaleString('en')} | ${wall} s | ${(cpuMs / wall / 10).toFixed(1)}% / ${peakCpu.toFixed(0)}% of one core | ${frames} (${writes} writes) | ${(frames / wall).toFixed(1)} (cap: 10 for events + the 1 s clock) | ${(kib / wall).toFixed(1)} KiB/s |`,
      '',
      `| t (s) | ${heaps.map((h) => h.t).join(' | ')} |`,
      `|---|${heaps.map(() => '---').join('|')}|`,
      `| heap used (MiB) | ${heaps.map((h) => mb(h.heapUsed)).join(' | ')} |`,
      `| RSS (MiB) | ${heaps.map((h) => mb(h.rss)).join(' | ')} |`,
    ].join('\n');
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
    await server.close();
    stores.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Event number `n` of a team's steady stream: each conversation is 12 events over three agents. */
function emitOne(stores: ReturnType<typeof openStores>, n: number, newConversation: () => number): void {
  const step = n % 12;
  const c = Math.floor(n / 12);
  if (step === 0) newConversation();
  const conversationId = `conv_bench_${c}`;
  const a = AGENTS[c % AGENTS.length]!;
  const b = AGENTS[(c + 1) % AGENTS.length]!;
  const root = { conversationId, runId: `run_${c}_a`, parentRunId: null, depth: 0, agentId: a };
  const child = { conversationId, runId: `run_${c}_b`, parentRunId: `run_${c}_a`, depth: 0, agentId: b };
  const totals = { inputTokens: 1200, outputTokens: 80, costUsd: 0.004 };
  const e = stores.events;
  switch (step) {
    case 0:
      e.emit({ type: 'conversation.started', conversationId, agentId: a, data: { channel: 'cli', sender: 'bench', teamId: 'bench' } });
      return;
    case 1:
      e.emit({ type: 'message.enqueued', ...root, data: { messageId: `m_${c}_a`, kind: 'user', channel: 'cli', teamId: 'bench' } });
      return;
    case 2:
      e.emit({ type: 'run.started', ...root, data: { cause: 'user', messageIds: [`m_${c}_a`] } });
      return;
    case 3:
    case 4:
    case 5:
      e.emit({ type: 'run.progress', ...root, data: step === 4 ? { type: 'tool', name: 'bash', turn: 1 } : { type: 'text', text: `working on step ${n} of the plan`, turn: 1 } });
      return;
    case 6:
      e.emit({ type: 'agent.mention', ...root, data: { teamId: 'bench', fromAgent: a, toAgent: b, hop: 1, messageId: `m_${c}_b`, childRunId: `run_${c}_b` } });
      return;
    case 7:
      e.emit({ type: 'run.completed', ...root, data: { cause: 'user', ...totals } });
      return;
    case 8:
      e.emit({ type: 'run.started', ...child, data: { cause: 'mention', messageIds: [`m_${c}_b`] } });
      return;
    case 9:
      e.emit({ type: 'run.progress', ...child, data: { type: 'status', message: 'reviewing', turn: 1 } });
      return;
    case 10:
      e.emit({ type: 'run.completed', ...child, data: { cause: 'mention', ...totals } });
      return;
    default:
      e.emit({
        type: 'conversation.completed',
        conversationId,
        agentId: a,
        data: { status: 'completed', replyMode: 'each', hops: 1, messages: 1, spawns: 0, inputTokens: 2400, outputTokens: 160, costUsd: 0.008 },
      });
      return;
  }
}
