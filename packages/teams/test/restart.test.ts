/**
 * A restart in the middle of a fan-out: a real child process runs the orchestrator and is killed
 * with SIGKILL while both members are working; a new process takes over (expired leases are
 * recovered) and the conversation completes without any reply to the human stored twice.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { tempDir, waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, testStores } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/orchestrator-proc.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await closeAll();
});

function startOrchestrator(config: Record<string, unknown>): { child: ChildProcess; first: Promise<Record<string, unknown>>; exited: Promise<unknown> } {
  const child = fork(FIXTURE, [JSON.stringify(config)], { execArgv: ['--conditions=tinyagi-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const first = new Promise<Record<string, unknown>>((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, first, exited };
}

/** The replacement process, loaded now (next to the first) and started by `start()`: then it opens the stores and starts its orchestrator. */
function loadOrchestrator(config: Record<string, unknown>): { exited: Promise<unknown>; kill(signal: NodeJS.Signals): void; start(): Promise<Record<string, unknown>> } {
  const held = startOrchestrator({ ...config, held: true });
  return {
    exited: held.exited,
    kill: (signal) => held.child.kill(signal),
    async start() {
      await held.first;
      const ready = new Promise<Record<string, unknown>>((resolve) => held.child.once('message', (m) => resolve(m as Record<string, unknown>)));
      held.child.send({ start: true });
      return ready;
    },
  };
}

describe('restart in the middle of a fan-out', () => {
  it('resumes after SIGKILL and completes without duplicating replies to the human', async () => {
    const dir = tempDir();
    const db = join(dir, 'tinyagi.db');
    const gates = join(dir, 'gates');
    const settings: Settings = {
      workspace: { path: join(dir, 'ws') },
      agents: {
        lead: { provider: 'mock', mock: { reply: 'Fanning out. [@a: part one] [@b: part two]' } },
        // The members work until the test opens their gate (after the kill): the first process dies while both run.
        a: { provider: 'mock', mock: { gate_dir: gates, replies: [{ match: 'part one', gate: 'members', reply: 'a finished' }] } },
        b: { provider: 'mock', mock: { gate_dir: gates, replies: [{ match: 'part two', gate: 'members', reply: 'b finished' }] } },
      },
      teams: { squad: { agents: ['lead', 'a', 'b'], leader_agent: 'lead' } },
    };
    const opened = await testStores(db);
    const stores = opened.stores;
    const common = { db, ...(opened.pg ? { pg: opened.pg } : {}), settings, leaseMs: 600, sweepMs: 100 };

    const first = startOrchestrator({ ...common, submit: { message: '@squad go', channel: 'telegram', senderId: 'u1' } });
    const second = loadOrchestrator(common);
    const { conversationId } = (await first.first) as { conversationId: string };
    const startedAgents = async () => new Set((await eventsOf(stores, { conversationId, types: ['run.started'] })).map((e) => e.agentId));
    await waitFor(
      async () => {
        const started = await startedAgents();
        return (started.has('a') && started.has('b')) || undefined;
      },
      15_000,
      'both members to start',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await eventsOf(stores, { conversationId, types: ['conversation.completed'] })).toHaveLength(0);
    const beforeRestart = await stores.outbox.list({ conversationId });
    expect(beforeRestart.map((r) => r.agentId)).toEqual(['lead']);

    mkdirSync(gates, { recursive: true });
    writeFileSync(join(gates, 'members'), '');
    await second.start();
    await waitFor(async () => (await eventsOf(stores, { conversationId, types: ['conversation.completed'] }))[0], 20_000, 'the conversation to complete');
    second.kill('SIGTERM');
    await second.exited;

    const replies = await stores.outbox.list({ conversationId });
    expect(replies.map((r) => r.text).sort()).toEqual(['Fanning out.\n→ @a: part one\n→ @b: part two\n\n— @lead', 'a finished\n\n— @a', 'b finished\n\n— @b']);
    // Each human-facing reply is stored exactly once per run and per idempotency key.
    expect(new Set(replies.map((r) => r.runId)).size).toBe(replies.length);
    expect(new Set(replies.map((r) => r.idempotencyKey)).size).toBe(replies.length);
    // The members really ran twice (the first attempt died with the process) ...
    const runs = await stores.runs.listRuns(conversationId);
    expect(runs.map((r) => [r.agentId, r.status])).toEqual([
      ['lead', 'completed'],
      ['a', 'completed'],
      ['b', 'completed'],
    ]);
    for (const run of runs.filter((r) => r.agentId !== 'lead')) expect((await stores.queue.get(run.messageIds[0]!))!.attempts).toBe(2);
    // ... and every run still has exactly one terminal event.
    const terminal = await eventsOf(stores, { conversationId, types: ['run.completed', 'run.failed', 'run.cancelled'] });
    expect(terminal.map((e) => e.runId).sort()).toEqual(runs.map((r) => r.id).sort());
    await opened.close();
  });
});
