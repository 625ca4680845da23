/**
 * The queue's pickup latency and the session pool as metrics, against a real OTLP receiver
 * (HTTP/protobuf) and a real orchestrator (SQLite file): every claimed message records the time
 * from becoming claimable to its claim (a retried one again, after its backoff); an agent that
 * runs warm (a registered runtime with test-kit's fake-warm driver: a real process per session,
 * core's real session pool) shows as an idle warm session with its resident memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerRuntime, sessionPool, type WarmDriver, type RuntimeImpl, type Settings } from '@tinyagi/core';
import { fakeWarmDriver, fakeWarmOnce } from '@tinyagi/test-kit/fake-warm-driver';
import { waitFor } from '@tinyagi/test-kit';
import { agentsFromSettings, createMetricsObserver } from '../src/index.ts';
import { failWriterOnce, harness, settings as teamSettings } from './harness.ts';
import { httpReceiver, type ReceivedPoint } from './receiver.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinyagi-otel-warm-'));
let unregister: () => void = () => {};
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  unregister = registerRuntime(
    {
      family: 'runtime',
      name: 'fake-warm-otel',
      aliases: [],
      title: 'Fake live (telemetry test)',
      description: 'test-kit bin/fake-warm',
      command: null,
      installHint: null,
      passthroughEnv: [],
      capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: false, usesTools: false },
      instructionFiles: [],
      modelAliases: {},
      modelsBlock: null,
      customProvider: null,
      retry: 'resume-at',
      steerPoint: null,
    },
    {
      invoke: (req) => fakeWarmOnce(req, { FAKE_WARM_STATE: dir }),
      target: () => ({}),
      warm: fakeWarmDriver({ env: { FAKE_WARM_STATE: dir } }) as unknown as WarmDriver,
    } satisfies RuntimeImpl,
  );
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(async () => {
  await sessionPool.closeAll();
  unregister();
  rmSync(dir, { recursive: true, force: true });
});

const points = (all: ReceivedPoint[], metric: string, match: Record<string, unknown> = {}) => all.filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v));
const sum = (list: ReceivedPoint[], field: 'value' | 'count' | 'sum') => list.reduce((n, p) => n + (p[field] ?? 0), 0);

describe('queue and session pool metrics', () => {
  it('pickup latency per claimed message, by agent (a retried message is picked up twice)', async () => {
    const receiver = await httpReceiver();
    cleanups.push(() => receiver.close());
    const metrics = await createMetricsObserver({
      url: `${receiver.endpoint}/v1/metrics`,
      protocol: 'http/protobuf',
      describeAgent: agentsFromSettings(() => teamSettings),
      exportIntervalMillis: 60_000,
    });
    cleanups.push(() => metrics.shutdown());
    const h = await harness(teamSettings, { observers: [metrics.observer], invoke: failWriterOnce() });
    cleanups.push(() => h.close());
    const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
    await h.waitForConversation(sent.conversationId);
    await metrics.flush();
    const all = await waitFor(() => receiver.points.some((p) => p.metric === 'tinyagi.queue.pickup_latency') && receiver.points, 10_000, 'the pickup latency');
    const lead = points(all, 'tinyagi.queue.pickup_latency', { 'gen_ai.agent.id': 'lead', 'gen_ai.request.model': 'lead-model-1', 'tinyagi.agent.runtime': 'mock' });
    expect(sum(lead, 'count')).toBe(1);
    // The writer's handoff message: its first attempt failed, the retry is claimed after the backoff.
    expect(sum(points(all, 'tinyagi.queue.pickup_latency', { 'gen_ai.agent.id': 'writer' }), 'count')).toBe(2);
    // The sub-agent is not queued: no pickup.
    expect(points(all, 'tinyagi.queue.pickup_latency', { 'gen_ai.agent.id': 'scout' })).toEqual([]);
    const latency = sum(points(all, 'tinyagi.queue.pickup_latency'), 'sum');
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(60);
    expect(lead[0]!.unit).toBe('s');
  });

  it('warm sessions by state and their resident memory, from the session pool', async () => {
    const settings: Settings = { agents: { warm: { provider: 'fake-warm-otel', process: 'warm' } } };
    const receiver = await httpReceiver();
    cleanups.push(() => receiver.close());
    const metrics = await createMetricsObserver({
      url: `${receiver.endpoint}/v1/metrics`,
      protocol: 'http/protobuf',
      describeAgent: agentsFromSettings(() => settings),
      exportIntervalMillis: 60_000,
      sessionPool: () => sessionPool.stats(),
    });
    cleanups.push(() => metrics.shutdown());
    const h = await harness(settings, { observers: [metrics.observer] });
    cleanups.push(() => h.close());
    const sent = await h.orchestrator.submit({ message: '@warm hello', channel: 'api', sender: 'ana', senderId: 'u1' });
    await h.waitForConversation(sent.conversationId);
    // The run is over; its process stays warm (idle) in the pool.
    await waitFor(() => sessionPool.list().some((s) => s.agentId === 'warm' && !s.busy), 15_000, 'the warm session to be idle');
    await metrics.flush();
    const all = await waitFor(() => receiver.points.some((p) => p.metric === 'tinyagi.sessions') && receiver.points, 10_000, 'the session metrics');
    expect(sum(points(all, 'tinyagi.sessions', { 'tinyagi.session.state': 'idle' }), 'value')).toBe(1);
    expect(sum(points(all, 'tinyagi.sessions', { 'tinyagi.session.state': 'busy' }), 'value')).toBe(0);
    const memory = points(all, 'tinyagi.sessions.memory');
    expect(memory).toHaveLength(1);
    expect(memory[0]!.unit).toBe('By');
    // A real node process: some megabytes resident (read from /proc by the driver).
    expect(memory[0]!.value).toBeGreaterThan(1024 * 1024);
  });
});
