import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { openDatabase } from '../src/storage/database.ts';
import { SqliteQueueStore } from '../src/queue/sqlite-store.ts';

const FIXTURE = new URL('./fixtures/queue-proc.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanupTemp();
});

function startWorker(config: Record<string, unknown>): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = fork(FIXTURE, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

function logLines(path: string): Array<{ id: string; pid: number }> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, pid] = line.split(' ');
      return { id: id!, pid: Number(pid) };
    });
}

describe('queue across OS processes', () => {
  it('two processes contending on one file process 10,000 messages exactly once', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'q.db');
    const log = join(dir, 'handled.log');
    const parent = openDatabase({ path: dbPath });
    const store = new SqliteQueueStore(parent);
    // Half pre-enqueued here, the other half enqueued by the two workers while they run.
    for (let i = 0; i < 5000; i += 500) {
      store.enqueueMany(Array.from({ length: 500 }, (_, k) => ({ kind: 'job' as const, agentId: `agent-${(i + k) % 40}`, conversationId: `pre-${i + k}`, channel: 'test', content: `pre-${i + k}` })));
    }
    const common = { db: dbPath, log, leaseMs: 30_000, sweepMs: 25, exitWhenIdle: true };
    const a = startWorker({ ...common, enqueue: { count: 2500, prefix: 'a', agents: 40 } });
    const b = startWorker({ ...common, enqueue: { count: 2500, prefix: 'b', agents: 40 } });
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect(ea.code).toBe(0);
    expect(eb.code).toBe(0);
    const lines = logLines(log);
    expect(lines).toHaveLength(10_000);
    expect(new Set(lines.map((l) => l.id)).size).toBe(10_000);
    // Both processes really did work.
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
    expect(store.counts()).toMatchObject({ completed: 10_000, pending: 0, processing: 0, dead: 0 });
    parent.close();
  }, 180_000);

  it('after SIGKILL with leases held, a restarted worker completes everything; attempts are counted', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'q.db');
    const log = join(dir, 'handled.log');
    const parent = openDatabase({ path: dbPath });
    const store = new SqliteQueueStore(parent);
    // Each of the 10 agents has 10 quick messages, then ones the first worker never finishes.
    store.enqueueMany(
      Array.from({ length: 200 }, (_, k) => ({ kind: 'job' as const, agentId: `agent-${k % 10}`, conversationId: `c-${k}`, channel: 'test', content: k < 100 ? `m-${k}` : `hang-${k}` })),
    );
    // A 1.5 s lease (renewed every 0.5 s) outlasts a loaded machine's stalls, so the 10 held messages
    // stay held between the wait below and the kill; the second worker reclaims them once it expires.
    const first = startWorker({ db: dbPath, log, leaseMs: 1500, sweepMs: 50, concurrency: 10, policy: 'sequential', hangPrefix: 'hang-' });
    // Killed while it holds leases, and only then: once every agent is stuck on its first
    // never-finishing message, the worker holds exactly 10 (renewed) and makes no more progress.
    // (Killing after a progress count raced group commits: between a group's commit and the next
    // claims it holds none. Ten held with 100 handled is not yet that state either: an agent's last
    // quick message, handled but its completion not yet committed, is held beside nine stuck ones.)
    await waitFor(() => logLines(log).length === 100 && store.listProcessing().filter((m) => m.content.startsWith('hang-')).length === 10, 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const held = store.listProcessing();
    expect(held).toHaveLength(10);
    expect(held.every((m) => m.content.startsWith('hang-'))).toBe(true);
    // Usually 1; a machine too loaded for the worker to renew its lease in time lets its own sweeper
    // reclaim the message first (attempt 2), which is the lease doing its job. What the restart
    // must do is count one more attempt than the killed worker left.
    expect(held.every((m) => m.attempts >= 1)).toBe(true);

    const second = startWorker({ db: dbPath, log, leaseMs: 300, sweepMs: 50, exitWhenIdle: true });
    expect((await second.exited).code).toBe(0);
    expect(store.counts()).toMatchObject({ completed: 200, pending: 0, processing: 0, dead: 0 });
    for (const m of held) expect(store.get(m.id)!.attempts).toBe(m.attempts + 1);
    // At-least-once: only messages whose handler ran but whose completion was lost in the kill can repeat.
    const ids = logLines(log).map((l) => l.id);
    expect(new Set(ids).size).toBe(200);
    parent.close();
  }, 60_000);

  it('a message that always kills its worker ends dead after max attempts, and the others complete', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'q.db');
    const log = join(dir, 'handled.log');
    const parent = openDatabase({ path: dbPath });
    const store = new SqliteQueueStore(parent);
    const poison = store.enqueue({ kind: 'job', agentId: 'p', conversationId: 'c', channel: 'test', content: 'poison', maxAttempts: 3 });
    store.enqueueMany(Array.from({ length: 20 }, (_, k) => ({ kind: 'job' as const, agentId: `ok-${k % 4}`, conversationId: `c-${k}`, channel: 'test', content: `m-${k}` })));
    let restarts = 0;
    while (store.get(poison.id)!.status !== 'dead') {
      expect(restarts).toBeLessThan(10);
      const w = startWorker({ db: dbPath, log, leaseMs: 150, sweepMs: 30, exitWhenIdle: true });
      const exit = await w.exited;
      if (exit.signal === 'SIGKILL') restarts++;
      else expect(exit.code).toBe(0);
    }
    expect(restarts).toBe(3);
    const dead = store.get(poison.id)!;
    expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
    expect(dead.lastError).toMatch(/lease expired/);
    const final = startWorker({ db: dbPath, log, leaseMs: 150, sweepMs: 30, exitWhenIdle: true });
    expect((await final.exited).code).toBe(0);
    expect(store.counts()).toMatchObject({ completed: 20, dead: 1, pending: 0, processing: 0 });
    parent.close();
  }, 60_000);
});
