/**
 * The real daemon (the built `tinyagi`) with traces and metrics on through the standard
 * variables: an agent with `permission_mode: "ask"` on the fake `claude` (a real subprocess that
 * asks through the permission prompt tool as Claude Code does) waits for a person; the metrics
 * show the request pending while it waits, the person denies with a reason, and the run's span
 * carries the request and the denial with its reason (the approval desk tells the export
 * through the observer seam); the metrics count the decision and the queue's pickup latency, and report the
 * session pool.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, FAKE_BIN_DIR, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { runSpanIdOf } from '../src/index.ts';
import { httpReceiver, type ReceivedPoint, type Receiver } from './receiver.ts';

let receiver: Receiver;
let daemon: TestDaemon;

beforeAll(async () => {
  receiver = await httpReceiver();
  daemon = await createDaemon({
    prefix: 'tinyagi-otel-approvals-',
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    },
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      channels: { enabled: [] },
      agents: { careful: { provider: 'claude-code', permission_mode: 'ask' } },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
  await receiver?.close();
});

const sum = (points: ReceivedPoint[], metric: string, match: Record<string, unknown>, field: 'value' | 'count' = 'value') =>
  points.filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + (p[field] ?? 0), 0);

it('a request waiting for a person: pending in the metrics, then the denial with its reason on the run span and counted', async () => {
  const sent = await daemon.api.sendMessage({ body: { message: 'FAKE:bash=touch denied.txt', agent: 'careful', sender: 'Tester', senderId: 'u1' } });
  const request = await waitFor(async () => (await daemon.api.listApprovals({ query: { status: 'pending', agent: 'careful' } }))[0], 120_000, 'the pending request');
  // Metrics are sent every 300 ms (delta: each export says what it saw); the gauge reads the store.
  await waitFor(
    () => receiver.points.some((p) => p.metric === 'tinyagi.approvals.pending' && p.attributes['tinyagi.approval.kind'] === 'permission' && p.value === 1),
    30_000,
    'one request pending in the metrics',
  );

  await daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'deny', reason: 'not in this repo', by: 'test' } });
  await waitFor(async () => (await daemon.api.getConversation({ params: { id: sent.conversationId } })).conversation.status !== 'active', 120_000, 'the conversation to end');

  const span = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_agent careful' && s.attributes['gen_ai.conversation.id'] === sent.conversationId), 30_000, 'the run span');
  expect(span.spanId).toBe(runSpanIdOf(String(span.attributes['tinyagi.run.id'])));
  const approvals = span.events.filter((e) => e.name.startsWith('tinyagi.approval.'));
  expect(approvals.map((e) => e.name)).toEqual(['tinyagi.approval.requested', 'tinyagi.approval.decided']);
  expect(approvals[1]!.attributes).toMatchObject({
    'tinyagi.approval.id': request.id,
    'tinyagi.approval.kind': 'permission',
    'gen_ai.tool.name': 'Bash',
    'tinyagi.approval.status': 'denied',
    'tinyagi.approval.decision': 'deny',
    'tinyagi.approval.decided_by': 'test',
    'tinyagi.approval.reason': 'not in this repo',
  });
  // Content is off: not the command.
  expect(JSON.stringify(span)).not.toContain('touch denied.txt');

  await waitFor(
    () => sum(receiver.points, 'tinyagi.approval.decisions', { 'tinyagi.approval.status': 'denied', 'tinyagi.approval.decided_by': 'test', 'gen_ai.agent.id': 'careful' }) === 1,
    30_000,
    'the decision counted',
  );
  await waitFor(() => sum(receiver.points, 'tinyagi.queue.pickup_latency', { 'gen_ai.agent.id': 'careful' }, 'count') >= 1, 30_000, 'the pickup latency');
  // The session pool is reported (this agent runs per message: no warm process).
  await waitFor(() => receiver.points.some((p) => p.metric === 'tinyagi.sessions.memory'), 30_000, 'the session pool metrics');
});
