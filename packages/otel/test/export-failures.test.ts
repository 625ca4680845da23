/**
 * A collector that is down, answers 500 or never answers costs the daemon nothing but counted
 * drops: the conversation completes as it would without export, the observer's hooks return at
 * once (they only start, annotate and end in-memory spans), and the queue stays bounded.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationHook, Observer } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, runConversation, setUp } from './harness.ts';
import { httpReceiver, type Receiver } from './receiver.ts';

afterEach(closeAll);

const SPANS = 7; // workflow, 3 runs, 3 tool calls (test/trace-export.test.ts has the tree)

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Wraps the observer's hooks to measure how long each call takes. */
function timed(observer: Observer): { observer: Observer; slowestMs: () => number; calls: () => number } {
  let slowest = 0;
  let calls = 0;
  const wrapped: Record<string, unknown> = { name: observer.name };
  for (const hook of ['claimed', 'runStarted', 'progress', 'attemptFailed', 'runEnded', 'committed'] as NotificationHook[]) {
    const fn = observer[hook] as ((e: unknown) => void) | undefined;
    if (!fn) continue;
    wrapped[hook] = (event: unknown) => {
      const t0 = performance.now();
      fn.call(observer, event);
      slowest = Math.max(slowest, performance.now() - t0);
      calls++;
    };
  }
  return { observer: wrapped as unknown as Observer, slowestMs: () => slowest, calls: () => calls };
}

describe('export failures never hurt the daemon', () => {
  it('collector down (connection refused): the conversation completes, every span is counted as dropped', async () => {
    const port = await closedPort();
    const receiver: Receiver = { endpoint: `http://127.0.0.1:${port}`, spans: [], points: [], logs: [], requests: [], mode: 200, close: async () => {} };
    const { h, exp } = await setUp(receiver, 'http/protobuf', { exportTimeoutMillis: 1000 });
    const { lead, writer } = await runConversation(h, receiver);
    expect([lead.status, writer.status]).toEqual(['completed', 'completed']);
    await waitFor(() => exp.counts().dropped === SPANS, 15_000, 'every span counted as dropped');
    expect(exp.counts()).toMatchObject({ exported: 0, dropped: SPANS, droppedQueueFull: 0 });
    expect(exp.counts().failedExports).toBeGreaterThanOrEqual(1);
    expect(exp.counts().lastError).toEqual(expect.any(String));
  });

  it('flush and shutdown with spans still queued for a collector that is down resolve (the loss is counted)', async () => {
    const port = await closedPort();
    const receiver: Receiver = { endpoint: `http://127.0.0.1:${port}`, spans: [], points: [], logs: [], requests: [], mode: 200, close: async () => {} };
    const { h, exp } = await setUp(receiver, 'http/protobuf', {
      exportTimeoutMillis: 500,
      batch: { maxQueueSize: 100, maxExportBatchSize: 100, scheduledDelayMillis: 60_000, exportTimeoutMillis: 1000 },
    });
    await runConversation(h, receiver);
    await waitFor(() => exp.counts().queued >= SPANS - 1, 10_000, 'the run spans queued');
    await expect(exp.flush()).resolves.toBeUndefined();
    await expect(exp.shutdown()).resolves.toBeUndefined();
    expect(exp.counts().exported).toBe(0);
    expect(exp.counts().dropped).toBe(exp.counts().queued);
  });

  it('collector answers 500: spans dropped and counted after the exporter gives up; the next export after it recovers gets through', async () => {
    const receiver = await httpReceiver();
    receiver.mode = 500;
    const { h, exp } = await setUp(receiver, 'http/protobuf', { exportTimeoutMillis: 1000 });
    const first = await runConversation(h, receiver);
    expect(first.writer.status).toBe('completed');
    await waitFor(() => exp.counts().dropped === SPANS, 15_000, 'every span counted as dropped');
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
    expect(receiver.requests.every((r) => r.status === 500)).toBe(true);
    expect(receiver.spans).toEqual([]);

    receiver.mode = 200;
    await runConversation(h, receiver);
    await waitFor(() => exp.counts().exported === SPANS, 15_000, 'the second conversation exported');
    expect(exp.counts()).toMatchObject({ exported: SPANS, dropped: SPANS });
  });

  it('collector never answers: hooks stay fast, the queue is bounded (spans beyond it dropped at once), the export times out and is counted', async () => {
    const receiver = await httpReceiver();
    receiver.mode = 'hang';
    const probe: { observer?: Observer } = {};
    const { h, exp } = await setUp(receiver, 'http/protobuf', {
      exportTimeoutMillis: 3000,
      batch: { maxQueueSize: 3, maxExportBatchSize: 3, scheduledDelayMillis: 20, exportTimeoutMillis: 3000 },
      wrapObserver: (observer) => {
        const t = timed(observer);
        probe.observer = t.observer;
        Object.assign(probe, t);
        return t.observer;
      },
    });
    const { writer } = await runConversation(h, receiver);
    expect(writer.status).toBe('completed');
    // Three spans wait on the hung export; the rest did not fit and were dropped as they ended.
    await waitFor(() => exp.counts().droppedQueueFull >= 1, 10_000, 'a span dropped because the queue was full');
    await waitFor(() => exp.counts().dropped === SPANS, 15_000, 'the hung export timed out and its spans counted');
    expect(exp.counts().exported).toBe(0);
    expect(exp.counts().queued + exp.counts().droppedQueueFull).toBe(SPANS);
    const t = probe as unknown as { slowestMs: () => number; calls: () => number };
    expect(t.calls()).toBeGreaterThan(10);
    expect(t.slowestMs()).toBeLessThan(50);
  });
});
