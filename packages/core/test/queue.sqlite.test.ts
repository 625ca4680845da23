import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@tinyagi/test-kit';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/storage/database.ts';
import { SqliteQueueStore } from '../src/queue/sqlite-store.ts';
import { classifyFailure, QueueWorker } from '../src/queue/worker.ts';
import { InvokeError } from '../src/invoker/invoke-error.ts';
import { EventLog } from '../src/events/sqlite-log.ts';
import { heldWorker, runQueueConformance } from './queue-conformance.ts';

function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-queue-'));
  const db = openDatabase({ path: join(dir, 'q.db') });
  return {
    db,
    dir,
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

runQueueConformance('sqlite', () => {
  const t = tempDb();
  return { store: new SqliteQueueStore(t.db), close: t.close };
});

describe('QueueWorker over SqliteQueueStore', () => {
  it('picks up an in-process enqueue without waiting for the sweep', async () => {
    const t = tempDb();
    const store = new SqliteQueueStore(t.db);
    const seen: string[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    // A sweep of one hour proves the pickup is event-driven.
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      handler: async (batch) => {
        seen.push(...batch.messages.map((m) => m.content));
        if (seen.length === 3) resolveDone();
      },
    });
    worker.start();
    await new Promise((r) => setImmediate(r));
    store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'one' });
    store.enqueue({ kind: 'user', agentId: 'b', conversationId: 'c', channel: 'api', content: 'two' });
    store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'three' });
    await done;
    await worker.stop();
    expect(seen.sort()).toEqual(['one', 'three', 'two']);
    expect(store.counts()).toMatchObject({ completed: 3, pending: 0, processing: 0 });
    t.close();
  });

  it('retries a thrown error with backoff, dead-letters after max attempts, and records events', async () => {
    const t = tempDb();
    const events = new EventLog(t.db);
    const store = new SqliteQueueStore(t.db, { events, backoff: { baseMs: 5, maxMs: 20, jitter: 0, maxRateLimitWaits: 3 } });
    let calls = 0;
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      handler: async () => {
        calls++;
        throw new Error(`crash ${calls}`);
      },
    });
    const dead = new Promise<void>((resolve) =>
      events.subscribe((e) => {
        if (e.type === 'queue.dead') resolve();
      }),
    );
    worker.start();
    const { id } = store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'x', maxAttempts: 3 });
    await dead;
    await worker.stop();
    expect(calls).toBe(3);
    expect(store.get(id)).toMatchObject({ status: 'dead', attempts: 3 });
    expect(events.readSince(0).map((e) => e.type)).toEqual(['message.enqueued', 'queue.retry', 'queue.retry', 'queue.dead']);
    // A plain error (no process behind it) is classified `failed`; each event says which attempt of how many.
    const attempts = events.readSince(0, { types: ['queue.retry', 'queue.dead'] }).map((e) => [e.data.attempts, e.data.maxAttempts, e.data.failure]);
    expect(attempts).toEqual([
      [1, 3, 'failed'],
      [2, 3, 'failed'],
      [3, 3, 'failed'],
    ]);
    expect(store.get(id)?.lastFailure).toBe('failed');
    t.close();
  });

  it('a permanent error (kind) is dead at once; a cancel aborts the handler signal', async () => {
    const t = tempDb();
    const store = new SqliteQueueStore(t.db);
    const started: string[] = [];
    let aborted = false;
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      leaseMs: 150,
      handler: async (batch, ctx) => {
        const m = batch.messages[0]!;
        started.push(m.content);
        if (m.content === 'perm') throw Object.assign(new Error('no such provider'), { kind: 'permanent' });
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          }),
        );
      },
    });
    worker.start();
    const perm = store.enqueue({ kind: 'user', agentId: 'p', conversationId: 'c', channel: 'api', content: 'perm' });
    const long = store.enqueue({ kind: 'user', agentId: 'l', conversationId: 'c', channel: 'api', content: 'long' });
    const deadline = Date.now() + 5000;
    while (started.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(store.cancel(long.id).state).toBe('cancelling');
    while (store.get(long.id)!.status !== 'cancelled' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();
    expect(aborted).toBe(true);
    expect(store.get(long.id)!.status).toBe('cancelled');
    expect(store.get(perm.id)).toMatchObject({ status: 'dead', lastError: 'no such provider' });
    t.close();
  });
});

describe("a stall of the worker's own event loop", () => {
  it('longer than the lease loses no run in flight: the worker keeps its leases, the run completes on its first attempt', async () => {
    const t = tempDb();
    const events = new EventLog(t.db);
    const store = new SqliteQueueStore(t.db, { events });
    const { worker, running, release, calls } = heldWorker(store, 300);
    worker.start();
    const { id } = store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'x', maxAttempts: 1 });
    await running;
    // Right after a renewal (so the next sweep is due before the next renewal, as with the default
    // 1 s sweep and 20 s renewal), the loop blocks (a long synchronous parse, say) until the lease
    // has run out in the database.
    const claimed = store.get(id)!.leaseExpiresAt!;
    const expiry = await waitFor(() => (store.get(id)!.leaseExpiresAt! > claimed ? store.get(id)!.leaseExpiresAt! : undefined), 20_000, 'a renewal', 1);
    while (Date.now() <= expiry + 30) {
      /* busy: no timer, renewal or sweep can run */
    }
    // Back: the sweeps run; the lease is either kept (renewed into the future) or was taken over.
    await waitFor(() => {
      const m = store.get(id)!;
      return m.status !== 'processing' || m.leaseExpiresAt! > Date.now() + 100;
    });
    expect(store.get(id)).toMatchObject({ status: 'processing', attempts: 1, leaseOwner: worker.owner });
    release();
    await waitFor(() => store.get(id)!.status !== 'processing');
    await worker.stop();
    expect(store.get(id)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(calls()).toBe(1);
    expect(events.readSince(0).map((e) => e.type)).not.toContain('queue.dead');
    t.close();
  });
});

describe('live concurrency', () => {
  it('reads a concurrency function at every claim: raising it starts more batches without a restart', async () => {
    const t = tempDb();
    const store = new SqliteQueueStore(t.db);
    let limit = 1;
    const release: Array<() => void> = [];
    const worker = new QueueWorker({ store, sweepMs: 50, concurrency: () => limit, handler: () => new Promise<void>((r) => release.push(r)) });
    store.enqueueMany(['a', 'b', 'c'].map((agentId) => ({ kind: 'user' as const, agentId, conversationId: 'c', channel: 'api', content: agentId })));
    worker.start();
    const until = async (ok: () => boolean) => {
      while (!ok()) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => worker.activeCount === 1);
    await new Promise((r) => setTimeout(r, 150)); // several sweeps: still one at a time
    expect(worker.activeCount).toBe(1);
    limit = 3;
    await until(() => worker.activeCount === 3);
    for (const r of release.splice(0)) r();
    await until(() => store.counts().completed === 3);
    await worker.stop();
    t.close();
  });
  it('passes over the agents whose batch it runs without asking the store, and claims their next messages once the batch settles', async () => {
    const t = tempDb();
    // The real store, with each claim's options recorded.
    const claims: Array<{ skip: string[]; busy: string[] }> = [];
    class RecordingStore extends SqliteQueueStore {
      override claim(options: Parameters<SqliteQueueStore['claim']>[0]) {
        claims.push({ skip: [...(options.skipAgents ?? [])], busy: [...(options.busyAgents ?? [])] });
        return super.claim(options);
      }
    }
    const store = new RecordingStore(t.db);
    const release = new Map<string, () => void>();
    const ran: string[] = [];
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      skipAgents: () => new Set(['paused']),
      handler: (batch) => {
        ran.push(...batch.messages.map((m) => m.content));
        return new Promise<void>((r) => release.set(batch.messages[0]!.content, r));
      },
    });
    worker.start();
    store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c1', channel: 'api', content: 'a0' });
    await waitFor(() => ran.includes('a0'), 10_000, 'a0 to run');
    claims.length = 0;
    store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c2', channel: 'api', content: 'a1' });
    store.enqueue({ kind: 'user', agentId: 'b', conversationId: 'c3', channel: 'api', content: 'b0' });
    store.enqueue({ kind: 'user', agentId: 'paused', conversationId: 'c4', channel: 'api', content: 'p0' });
    await waitFor(() => ran.includes('b0'), 10_000, 'b0 to run');
    // Every claim while a0 ran passed over 'paused' (the option) and named 'a' busy (running here).
    expect(claims.length).toBeGreaterThan(0);
    for (const { skip, busy } of claims) {
      expect(skip).toEqual(['paused']);
      expect(busy).toContain('a');
    }
    expect(ran).not.toContain('a1');
    release.get('a0')!();
    await waitFor(() => ran.includes('a1'), 10_000, 'a1 to run once a0 settled');
    release.get('a1')!();
    release.get('b0')!();
    await waitFor(() => store.counts().completed === 3, 10_000, 'three completions');
    expect(ran).not.toContain('p0');
    expect(store.counts()).toMatchObject({ pending: 1, processing: 0 });
    await worker.stop();
    t.close();
  });
});

describe('group commit', () => {
  it('a failed item of completeMany rolls back its own follow-ups and events, and its events are never published', async () => {
    const t = tempDb();
    const events = new EventLog(t.db);
    const store = new SqliteQueueStore(t.db, { events });
    const published: string[] = [];
    events.subscribe((e) => {
      if (e.type === 'system.notice') published.push(String(e.data['note']));
    });
    const a = store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'a' });
    const b = store.enqueue({ kind: 'user', agentId: 'b', conversationId: 'c', channel: 'api', content: 'b' });
    store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 2 });
    const followUp = (from: string) => () => {
      store.enqueue({ kind: 'teammate', agentId: 'z', conversationId: 'c', channel: 'api', content: `after ${from}` });
      events.append({ type: 'system.notice', conversationId: 'c', data: { note: from } });
      if (from === 'b') throw new Error('b broke');
    };
    const results = store.completeMany([
      { owner: 'w', ids: [a.id], effects: followUp('a') },
      { owner: 'w', ids: [b.id], effects: followUp('b') },
    ]);
    expect(results.map((r) => r?.message)).toEqual([undefined, 'b broke']);
    await t.db.whenDurable();
    expect(published).toEqual(['a']);
    expect(events.readSince(0, { types: ['system.notice'] }).map((e) => e.data['note'])).toEqual(['a']);
    // The follow-up of the failed item was never enqueued: only a's has its message.enqueued.
    expect(events.readSince(0, { types: ['message.enqueued'] }).filter((e) => e.agentId === 'z')).toHaveLength(1);
    const contents = t.db.sqlite.prepare("SELECT content FROM messages WHERE agent_id = 'z'").pluck().all();
    expect(contents).toEqual(['after a']);
    expect(store.get(b.id)!.status).toBe('processing');
    t.close();
  });

  it('the worker commits completions of one event-loop turn in one transaction', async () => {
    const t = tempDb();
    const store = new SqliteQueueStore(t.db);
    // A second connection sees only committed data: if each batch committed on its own, the
    // later batches' effects would see the earlier completions there.
    const observer = openDatabase({ path: t.db.path });
    const committedCompletions = observer.sqlite.prepare("SELECT COUNT(*) FROM messages WHERE status = 'completed'").pluck();
    const seen: number[] = [];
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const worker = new QueueWorker({
      store,
      concurrency: 8,
      sweepMs: 3_600_000,
      policy: () => 'sequential',
      handler: async () => ({
        effects: () => {
          seen.push(committedCompletions.get() as number);
          if (seen.length === 8) finished();
        },
      }),
    });
    store.enqueueMany(Array.from({ length: 8 }, (_, i) => ({ kind: 'user' as const, agentId: `agent-${i}`, conversationId: 'c', channel: 'api', content: String(i) })));
    worker.start();
    await done;
    await worker.stop();
    expect(seen).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(store.counts()).toMatchObject({ completed: 8, processing: 0 });
    observer.close();
    t.close();
  });
});

describe('classifyFailure', () => {
  it('names how an attempt failed: rate limited, timed out, crashed, cannot run, failed', () => {
    expect(classifyFailure(new InvokeError('rate_limited', 'slow down', { retryAfterMs: 2000 }))).toEqual({ kind: 'rate_limited', reason: 'rate_limited', error: 'slow down', retryAfterMs: 2000 });
    expect(classifyFailure(new InvokeError('timeout', 'too slow'))).toMatchObject({ kind: 'retryable', reason: 'timed_out' });
    expect(classifyFailure(new InvokeError('retryable', 'exit 1', { exitCode: 1 }))).toMatchObject({ kind: 'retryable', reason: 'crashed' });
    expect(classifyFailure(new InvokeError('retryable', 'killed', { signal: 'SIGSEGV' }))).toMatchObject({ kind: 'retryable', reason: 'crashed' });
    expect(classifyFailure(new InvokeError('retryable', 'HTTP 503'))).toMatchObject({ kind: 'retryable', reason: 'failed' });
    expect(classifyFailure(new InvokeError('permanent', 'no such CLI'))).toMatchObject({ kind: 'permanent', reason: 'cannot_run' });
    expect(classifyFailure(new Error('boom'))).toMatchObject({ kind: 'retryable', reason: 'failed' });
  });
});
