/**
 * The CLIs' own telemetry inside our trace (`telemetry.cli_telemetry`, docs/telemetry.md): a real
 * daemon exporting to a real OTLP receiver (@tinyagi/test-kit/otlp-receiver: the official OTLP
 * encodings decode what arrives), its agent on the real CLI, the model the test kit's stand-in. What the CLI sends
 * reaches the same receiver; its spans sit inside the run's `invoke_agent` span (same trace id,
 * the run's span as parent) where the CLI reads TRACEPARENT, and its records carry the run's ids
 * as resource attributes where the CLI reads OTEL_RESOURCE_ATTRIBUTES.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { httpReceiver, type Receiver } from '@tinyagi/test-kit/otlp-receiver';
import { CLI_CASES, startRig, type CliName, type Rig } from './harness.ts';

const traceIdOf = (conversationId: string) => createHash('sha256').update(`tinyagi.conversation:${conversationId}`).digest('hex').slice(0, 32);
const runSpanIdOf = (runId: string) => createHash('sha256').update(`tinyagi.run:${runId}`).digest('hex').slice(0, 16);

interface Ids {
  traceId: string;
  runSpanId: string;
  conversationId: string;
  runId: string;
}

function suite(name: CliName, check: (r: Receiver, ids: Ids) => Promise<void>) {
  describe(`${name}: its own telemetry in our trace`, () => {
    let rig: Rig;
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await httpReceiver();
      rig = await startRig(CLI_CASES[name], {
        // OTLP/JSON: the receiver decodes logs in JSON only (its official generated classes have no logs messages).
        settings: { telemetry: { enabled: true, endpoint: receiver.endpoint, protocol: 'http/json', cli_telemetry: true } },
        daemonEnv: { OTEL_BSP_SCHEDULE_DELAY: '200' },
      });
    });
    afterAll(async () => {
      await rig?.cleanup();
      await receiver?.close();
    });

    it('what the CLI sends arrives at the collector, inside the run', async () => {
      const marker = `OTEL-${name}-4c2`;
      rig.rule(marker, () => ({ reply: 'telemetry ok' }));
      const o = await rig.send({ agent: 'alpha', senderId: 'otel', message: `${marker} say ok` });
      expect(o.replies.join('\n')).toContain('telemetry ok');
      const run = o.runs[0]!;
      const ids: Ids = { traceId: traceIdOf(o.tree.conversation.id), runSpanId: runSpanIdOf(run.runId), conversationId: o.tree.conversation.id, runId: run.runId };
      // Our own run span arrives (the daemon's export), with the ids the CLI was given.
      const ours = await waitFor(() => receiver.spans.find((s) => s.spanId === ids.runSpanId), 30_000, 'the run span');
      expect(ours.traceId).toBe(ids.traceId);
      await check(receiver, ids);
      // Without capture_content the CLI is not told to send prompts: the message is nowhere in what it sent.
      expect(JSON.stringify([receiver.spans.filter(theirs), receiver.logs.filter(theirs)])).not.toContain(marker);
    });
  });
}

const theirs = (r: { resource: Record<string, unknown> }) => r.resource['service.name'] !== 'tinyagi';

suite('claude', async (receiver, ids) => {
  // Traces (the beta CLAUDE_CODE_ENHANCED_TELEMETRY_BETA): the interaction span's parent is our run span (TRACEPARENT).
  const interaction = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'claude_code.interaction'), 60_000, "Claude Code's interaction span");
  expect(interaction.traceId).toBe(ids.traceId);
  expect(interaction.parentSpanId).toBe(ids.runSpanId);
  expect(interaction.attributes['parent.source']).toBe('env');
  expect(interaction.resource).toMatchObject({ 'service.name': 'claude-code', 'gen_ai.conversation.id': ids.conversationId, 'tinyagi.run.id': ids.runId, 'gen_ai.agent.id': 'alpha' });
  // Its model call under it, in the same trace.
  const call = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'claude_code.llm_request'), 30_000, "Claude Code's model call span");
  expect(call.traceId).toBe(ids.traceId);
  expect(call.parentSpanId).toBe(interaction.spanId);
  // Without capture_content the prompt is not sent (OTEL_LOG_USER_PROMPTS unset).
  expect(interaction.attributes['user_prompt']).toBe('<REDACTED>');
  // Its events (OTLP logs): in our trace, the run's ids as resource attributes.
  const events = await waitFor(() => receiver.logs.filter(theirs).length > 0 && receiver.logs.filter(theirs), 30_000, "Claude Code's events");
  for (const e of events) {
    expect(e.resource).toMatchObject({ 'service.name': 'claude-code', 'tinyagi.run.id': ids.runId, 'gen_ai.conversation.id': ids.conversationId });
    if (e.traceId) expect(e.traceId).toBe(ids.traceId);
  }
  expect(events.some((e) => e.traceId === ids.traceId)).toBe(true);
  // Its metrics (sent when it exits), to the same collector.
  const metric = await waitFor(() => receiver.points.find((p) => p.metric.startsWith('claude_code.')), 30_000, "Claude Code's metrics");
  expect(metric.resource).toMatchObject({ 'service.name': 'claude-code', 'tinyagi.run.id': ids.runId, 'gen_ai.conversation.id': ids.conversationId });
});

suite('codex', async (receiver, ids) => {
  // Codex reads TRACEPARENT: its exec span (and the app-server requests it makes) are children of our run span.
  const exec = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'codex.exec'), 60_000, "Codex's exec span");
  expect(exec.traceId).toBe(ids.traceId);
  expect(exec.parentSpanId).toBe(ids.runSpanId);
  expect(exec.resource).toMatchObject({ 'service.name': 'codex_exec', 'gen_ai.conversation.id': ids.conversationId, 'tinyagi.run.id': ids.runId, 'gen_ai.agent.id': 'alpha' });
  const turn = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'run_turn'), 30_000, "Codex's turn span");
  expect(turn.traceId).toBe(ids.traceId);
  // Its model request, in our trace.
  await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'responses.stream_request' && s.traceId === ids.traceId), 30_000, "Codex's model request span");
  // Its events (OTLP logs, `[otel] exporter`): the prompt and the model call, in our trace.
  const events = await waitFor(() => receiver.logs.some((l) => l.name === 'codex.api_request') && receiver.logs.filter((l) => theirs(l) && l.name.startsWith('codex.')), 30_000, "Codex's events");
  for (const name of ['codex.user_prompt', 'codex.api_request']) expect(events.find((e) => e.name === name)?.traceId, name).toBe(ids.traceId);
  // Its metrics (`[otel] metrics_exporter`), e.g. the turn's token usage, to the same collector.
  const usage = await waitFor(() => receiver.points.find((p) => p.metric === 'codex.turn.token_usage'), 30_000, "Codex's token usage metric");
  expect(usage.resource).toMatchObject({ 'tinyagi.run.id': ids.runId, 'gen_ai.conversation.id': ids.conversationId });
});
