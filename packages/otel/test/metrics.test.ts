/**
 * Metrics over OTLP from a real conversation (the trace tests' scenario: a handoff, a sub-agent,
 * a retried failure): runs by status, failed attempts by class, tokens, cost, duration, runs in
 * progress and the queue's messages, decoded by a real receiver from protobuf and JSON over HTTP, and over gRPC;
 * from the sources and from the daemon's bundle (packages/cli/dist/otel).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import * as source from '../src/index.ts';
import { bundledOtel, closeAll, failWriterOnce, harness, settings } from './harness.ts';
import { grpcReceiver, httpReceiver, type ReceivedPoint } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeAll();
});

/** The sum of a metric's points whose attributes include `match`. */
function total(points: ReceivedPoint[], metric: string, match: Record<string, unknown>, field: 'value' | 'count' | 'sum' = 'value'): number {
  return points.filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + (p[field] ?? 0), 0);
}

describe('metrics', () => {
  for (const [protocol, bundled] of [
    ['http/protobuf', false],
    ['http/json', false],
    ['grpc', false],
    ['http/protobuf', true],
    ['grpc', true],
  ] as const) {
    it(`${protocol}${bundled ? ", the daemon's bundle" : ''}: runs, failures by class, tokens, cost, duration, active runs and queue depth by agent, runtime and model`, async () => {
      const receiver = protocol === 'grpc' ? await grpcReceiver() : await httpReceiver();
      cleanups.push(() => receiver.close());
      const otel = bundled ? await bundledOtel() : source;
      const metrics = await otel.createMetricsObserver({
        url: protocol === 'grpc' ? receiver.endpoint : `${receiver.endpoint}/v1/metrics`,
        protocol,
        describeAgent: otel.agentsFromSettings(() => settings),
        exportIntervalMillis: 60_000,
        queueCounts: async () => h.stores.queue.counts(),
      });
      cleanups.push(() => metrics.shutdown());
      // The traces alongside, as the daemon runs them: two observers on one orchestrator.
      const traces = await otel.createTraceObserver({ url: protocol === 'grpc' ? receiver.endpoint : `${receiver.endpoint}/v1/traces`, protocol });
      cleanups.push(() => traces.shutdown());
      const h = await harness(settings, { observers: [traces.observer, metrics.observer], invoke: failWriterOnce() });
      const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
      await h.waitForConversation(sent.conversationId);
      await metrics.flush();
      const points = await waitFor(() => receiver.points.length > 0 && receiver.points, 5000, 'metrics');

      const lead = { 'gen_ai.agent.id': 'lead', 'gen_ai.provider.name': 'mock', 'gen_ai.request.model': 'lead-model-1', 'tinyagi.agent.runtime': 'mock' };
      expect(total(points, 'tinyagi.runs', { ...lead, 'tinyagi.run.status': 'completed' })).toBe(1);
      expect(total(points, 'tinyagi.runs', { 'tinyagi.run.status': 'completed' })).toBe(3);
      expect(total(points, 'tinyagi.run.attempt_failures', { 'gen_ai.agent.id': 'writer' })).toBe(1);
      const failure = points.find((p) => p.metric === 'tinyagi.run.attempt_failures')!;
      expect(failure.attributes['error.type']).toEqual(expect.any(String));
      expect(total(points, 'gen_ai.client.token.usage', { ...lead, 'gen_ai.token.type': 'input' }, 'sum')).toBe(120);
      expect(total(points, 'gen_ai.client.token.usage', { ...lead, 'gen_ai.token.type': 'output' }, 'sum')).toBe(30);
      expect(total(points, 'gen_ai.client.token.usage', { 'gen_ai.token.type': 'input' }, 'sum')).toBe(120 + 10 + 50);
      expect(total(points, 'tinyagi.usage.cost', {})).toBeCloseTo(0.016, 6);
      expect(points.find((p) => p.metric === 'tinyagi.usage.cost')!.unit).toBe('USD');
      expect(total(points, 'gen_ai.client.operation.duration', {}, 'count')).toBe(3);
      expect(total(points, 'tinyagi.runs.active', {})).toBe(0);
      expect(total(points, 'tinyagi.queue.messages', { 'tinyagi.queue.state': 'pending' })).toBe(0);
      expect(points.some((p) => p.metric === 'tinyagi.queue.messages' && p.attributes['tinyagi.queue.state'] === 'dead')).toBe(true);
    });
  }
});

/** A run record as the orchestrator hands it to observers (only what the metrics read matters). */
function runRecord(id: string, agentId: string, startedAt: number): RunRecord {
  return {
    id,
    conversationId: `c-${id}`,
    parentRunId: null,
    depth: 0,
    maxDepth: 5,
    agentId,
    teamId: null,
    channel: 'api',
    cause: 'user',
    status: 'running',
    messageIds: [],
    input: null,
    output: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    error: null,
    createdAt: startedAt,
    startedAt,
    endedAt: null,
  };
}

describe('per-run histograms', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`${protocol}: explicit buckets (upper bounds inclusive), min and max, and each export says only what happened since the last (delta)`, async () => {
      const receiver = await httpReceiver();
      cleanups.push(() => receiver.close());
      const metrics = await source.createMetricsObserver({ url: `${receiver.endpoint}/v1/metrics`, protocol, describeAgent: source.agentsFromSettings(() => settings), exportIntervalMillis: 60_000 });
      cleanups.push(() => metrics.shutdown());
      const end = (id: string, inputTokens: number, status: 'completed' | 'failed' = 'completed') =>
        metrics.observer.runEnded?.({
          run: runRecord(id, 'lead', Date.now() - 1500),
          status,
          usage: { inputTokens, outputTokens: 0 },
          costUsd: undefined,
          totals: { inputTokens, outputTokens: 0, costUsd: 0 },
          error: null,
        });
      // Token buckets 1, 4, 16, 64, …, 262144, …: 1 and 4 sit on their bounds, 5 is above 4, 100 000 is in (65536, 262144].
      for (const [i, tokens] of [1, 4, 5, 100_000].entries()) end(`r${i}`, tokens);
      end('r-failed', 7, 'failed');
      await metrics.flush();
      const first = await waitFor(() => receiver.points.some((p) => p.metric === 'gen_ai.client.token.usage') && [...receiver.points], 5000, 'the first export');
      const input = first.filter((p) => p.metric === 'gen_ai.client.token.usage' && p.attributes['gen_ai.token.type'] === 'input');
      expect(input).toHaveLength(1);
      expect(input[0]).toMatchObject({ count: 5, sum: 100_017, min: 1, max: 100_000, attributes: { 'gen_ai.agent.id': 'lead', 'gen_ai.request.model': 'lead-model-1' } });
      expect(input[0]!.bounds!.slice(0, 4)).toEqual([1, 4, 16, 64]);
      expect(input[0]!.bucketCounts).toEqual([1, 1, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
      expect(input[0]!.temporality).toBe(1);
      const durations = first.filter((p) => p.metric === 'gen_ai.client.operation.duration');
      expect(durations.map((p) => [p.attributes['error.type'], p.count])).toEqual(
        expect.arrayContaining([
          [undefined, 4],
          ['failed', 1],
        ]),
      );
      expect(durations[0]!.unit).toBe('s');
      expect(durations[0]!.min).toBeGreaterThanOrEqual(1.5);

      const seen = receiver.points.length;
      end('r-later', 20);
      await metrics.flush();
      const second = await waitFor(() => receiver.points.length > seen && receiver.points.slice(seen), 5000, 'the second export');
      const later = second.filter((p) => p.metric === 'gen_ai.client.token.usage');
      expect(later.map((p) => [p.attributes['gen_ai.token.type'], p.count, p.sum])).toEqual([['input', 1, 20]]);
      expect(later[0]!.bucketCounts![3]).toBe(1);
    });
  }
});
