/**
 * The export's own CPU per run, measured apart from everything else the daemon does: the trace
 * and metrics observers of @tinyagi/otel told of N runs (claimed, started, TRACEPARENT for its
 * CLI, a text and a usage report, ended) as the orchestrator tells them, exporting OTLP/protobuf
 * to a collector on loopback that discards what it gets (the last batch flushed inside the
 * window). Run it with the daemon's V8 flags to see what the daemon pays (its optimising
 * compilers are off), and with N large enough that the first uses' compiling is spread thin:
 *
 *   node --no-maglev --no-turbofan --max-semi-space-size=1 --conditions=tinyagi-source packages/otel/bench/per-run.ts   # N=5000 MODE=both|traces|metrics
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observer, RunRecord } from '@tinyagi/core';
import { createMetricsObserver, createTraceObserver } from '../src/index.ts';

const N = Number(process.env['N'] ?? 5000);
const MODE = process.env['MODE'] ?? 'both';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const describeAgent = () => ({ name: 'a1', runtime: 'claude-code' });
const trace = MODE === 'metrics' ? undefined : await createTraceObserver({ url: `${endpoint}/v1/traces`, describeAgent });
const metrics = MODE === 'traces' ? undefined : await createMetricsObserver({ url: `${endpoint}/v1/metrics`, describeAgent });
const observers: Observer[] = [trace?.observer, metrics?.observer].filter((o) => o !== undefined);
const invoke = trace?.wrapInvoke(async (req: { agentId: string; env: Record<string, string> }) => req);

const c0 = process.cpuUsage();
for (let i = 0; i < N; i++) {
  const now = Date.now();
  const conversationId = `01KABCDEFGHJKMNPQRSTVW${String(i).padStart(4, '0')}`;
  const id = `01KZYXWVTSRQPNMKJHGFED${String(i).padStart(4, '0')}`;
  const run: RunRecord = {
    ...{ id, conversationId, parentRunId: null, depth: 0, maxDepth: 5, agentId: 'a1', teamId: null, channel: 'api', cause: 'user', status: 'running' },
    ...{ messageIds: ['m'], input: 'hi', output: null, inputTokens: 0, outputTokens: 0, costUsd: 0, error: null, createdAt: now - 5, startedAt: now, endedAt: null },
  };
  for (const o of observers) o.claimed?.({ owner: 'w', agentId: 'a1', conversationId, messageIds: ['m'], availableAt: [now - 3], at: now });
  for (const o of observers) o.runStarted?.({ run, messageIds: ['m'], changed: true });
  await invoke?.({ agentId: 'a1', env: { TINYAGI_RUN_ID: id, TINYAGI_CONVERSATION_ID: conversationId } });
  for (const o of observers) o.progress?.({ run, turn: 1, progress: { type: 'text', text: 'answer' } });
  for (const o of observers) o.progress?.({ run, turn: 1, progress: { type: 'usage', inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, model: 'claude-sonnet-4' } });
  const usage = { inputTokens: 100, outputTokens: 20 };
  for (const o of observers) o.runEnded?.({ run, status: 'completed', usage, costUsd: 0.001, totals: { ...usage, costUsd: 0.001 }, error: null });
}
await trace?.flush();
await metrics?.flush();
const used = process.cpuUsage(c0);
console.log(`${MODE}, ${N} runs: ${((used.user + used.system) / N).toFixed(1)} µs of CPU per run (observers, serialising and sending)`);
await trace?.shutdown();
await metrics?.shutdown();
server.close();
