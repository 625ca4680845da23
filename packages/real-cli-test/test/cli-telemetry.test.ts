/**
 * The CLIs' own telemetry inside our trace (`telemetry.cli_telemetry`, docs/telemetry.md): a real
 * daemon exporting to a real OTLP receiver (@tinyagi/test-kit/otlp-receiver: the official OTLP
 * encodings decode what arrives), its agent on the real CLI, the model the test kit's stand-in. What the CLI sends
 * reaches the same receiver; its spans sit inside the run's `invoke_agent` span (same trace id,
 * the run's span as parent) where the CLI reads TRACEPARENT, and its records carry the run's ids
 * as resource attributes where the CLI reads OTEL_RESOURCE_ATTRIBUTES. Over OTLP/HTTP (JSON) and
 * over gRPC (`telemetry.protocol: "grpc"`: the receiver's gRPC services, traces and metrics), and
 * for a warm Codex (`process: "warm"`), whose later turns must land under their own run's span
 * although its process was started by an earlier run.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { grpcReceiver, httpReceiver, type ReceivedSpan, type Receiver } from '@tinyagi/test-kit/otlp-receiver';
import { CLI_CASES, startRig, type CliName, type Outcome, type Rig } from './harness.ts';

const traceIdOf = (conversationId: string) => createHash('sha256').update(`tinyagi.conversation:${conversationId}`).digest('hex').slice(0, 32);
const runSpanIdOf = (runId: string) => createHash('sha256').update(`tinyagi.run:${runId}`).digest('hex').slice(0, 16);

interface Ids {
  traceId: string;
  runSpanId: string;
  conversationId: string;
  runId: string;
}

type Protocol = 'http/json' | 'grpc';

function idsOf(o: Outcome): Ids {
  const run = o.runs[0]!;
  return { traceId: traceIdOf(o.tree.conversation.id), runSpanId: runSpanIdOf(run.runId), conversationId: o.tree.conversation.id, runId: run.runId };
}

/** A receiver for `protocol` and a daemon exporting to it, the CLIs' telemetry on. */
function withTelemetryRig(name: CliName, protocol: Protocol, agentSettings: Record<string, unknown> = {}): { rig: () => Rig; receiver: () => Receiver } {
  let rig: Rig;
  let receiver: Receiver;
  beforeAll(async () => {
    // OTLP/JSON over HTTP: the receiver decodes logs in JSON only (its official generated classes have no logs messages).
    receiver = protocol === 'grpc' ? await grpcReceiver() : await httpReceiver();
    rig = await startRig(CLI_CASES[name], {
      agentSettings,
      settings: { telemetry: { enabled: true, endpoint: receiver.endpoint, protocol, cli_telemetry: true } },
      daemonEnv: { OTEL_BSP_SCHEDULE_DELAY: '200' },
    });
  });
  afterAll(async () => {
    await rig?.cleanup();
    await receiver?.close();
  });
  return { rig: () => rig, receiver: () => receiver };
}

function suite(name: CliName, protocol: Protocol, check: (r: Receiver, ids: Ids) => Promise<void>) {
  describe(`${name}: its own telemetry in our trace, ${protocol === 'grpc' ? 'over gRPC' : 'over OTLP/HTTP'}`, () => {
    const ctx = withTelemetryRig(name, protocol);

    it('what the CLI sends arrives at the collector, inside the run', async () => {
      const rig = ctx.rig();
      const receiver = ctx.receiver();
      const marker = `OTEL-${name}-${protocol === 'grpc' ? 'g' : 'h'}4c2`;
      rig.rule(marker, () => ({ reply: 'telemetry ok' }));
      const o = await rig.send({ agent: 'alpha', senderId: 'otel', message: `${marker} say ok` });
      expect(o.replies.join('\n')).toContain('telemetry ok');
      const ids = idsOf(o);
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

/** Whether `span` is below the span `ancestorId`, by the parents received so far. */
function isBelow(spans: ReceivedSpan[], span: ReceivedSpan, ancestorId: string): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let parent = span.parentSpanId, hops = 0; parent !== '' && hops < 100; hops++) {
    if (parent === ancestorId) return true;
    parent = byId.get(parent)?.parentSpanId ?? '';
  }
  return false;
}

suite('claude', 'http/json', async (receiver, ids) => {
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

suite('codex', 'http/json', async (receiver, ids) => {
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

// gRPC (`telemetry.protocol: "grpc"`): each CLI's spans reach the receiver's gRPC trace service, inside the run.
suite('claude', 'grpc', async (receiver, ids) => {
  const interaction = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'claude_code.interaction'), 60_000, "Claude Code's interaction span over gRPC");
  expect(interaction.traceId).toBe(ids.traceId);
  expect(interaction.parentSpanId).toBe(ids.runSpanId);
  expect(interaction.resource).toMatchObject({ 'service.name': 'claude-code', 'tinyagi.run.id': ids.runId });
  const call = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'claude_code.llm_request'), 30_000, "Claude Code's model call span over gRPC");
  expect(call.parentSpanId).toBe(interaction.spanId);
  const metric = await waitFor(() => receiver.points.find((p) => p.metric.startsWith('claude_code.')), 30_000, "Claude Code's metrics over gRPC");
  expect(metric.resource).toMatchObject({ 'tinyagi.run.id': ids.runId });
});

suite('codex', 'grpc', async (receiver, ids) => {
  const exec = await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'codex.exec'), 60_000, "Codex's exec span over gRPC");
  expect(exec.traceId).toBe(ids.traceId);
  expect(exec.parentSpanId).toBe(ids.runSpanId);
  expect(exec.resource).toMatchObject({ 'service.name': 'codex_exec', 'tinyagi.run.id': ids.runId });
  await waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'responses.stream_request' && s.traceId === ids.traceId), 30_000, "Codex's model request span over gRPC");
  const usage = await waitFor(() => receiver.points.find((p) => p.metric === 'codex.turn.token_usage'), 30_000, "Codex's token usage metric over gRPC");
  expect(usage.resource).toMatchObject({ 'tinyagi.run.id': ids.runId });
});

describe('codex warm: each turn inside its own run, on one process', () => {
  const ctx = withTelemetryRig('codex', 'http/json', { process: 'warm' });

  it("a later message's turn is under that message's run span, not under the run that started the process", async () => {
    const rig = ctx.rig();
    const receiver = ctx.receiver();
    const sent: Ids[] = [];
    for (const k of [1, 2]) {
      const marker = `OTEL-WARM-${k}-5d1`;
      rig.rule(marker, () => ({ reply: `warm ${k} ok` }));
      const o = await rig.send({ agent: 'alpha', senderId: 'otel-warm', message: `${marker} say ok` });
      expect(o.replies.join('\n')).toContain(`warm ${k} ok`);
      sent.push(idsOf(o));
    }
    const [first, second] = sent as [Ids, Ids];
    // Codex's span of each turn/start request is a child of that turn's run span (the request's `trace`).
    const turnStart = (ids: Ids) =>
      waitFor(() => receiver.spans.find((s) => theirs(s) && s.name === 'turn/start' && s.parentSpanId === ids.runSpanId), 60_000, `codex's turn/start span under run ${ids.runId}`);
    const [start1, start2] = [await turnStart(first), await turnStart(second)];
    expect(start1.traceId).toBe(first.traceId);
    expect(start2.traceId).toBe(second.traceId);
    // One process served both turns: its resource attributes are those of the run that started it.
    expect(start2.resource['tinyagi.run.id']).toBe(first.runId);
    // The second turn itself (run_turn) and its model request are below the second run's turn/start.
    for (const name of ['run_turn', 'responses.stream_request']) {
      const span = await waitFor(
        () => receiver.spans.find((s) => theirs(s) && s.name === name && s.traceId === second.traceId && isBelow(receiver.spans, s, start2.spanId)),
        60_000,
        `codex's ${name} span of the second turn below its turn/start`,
      );
      expect(span.traceId).toBe(second.traceId);
    }
    // Nothing of the second turn is in the first run's span.
    expect(receiver.spans.filter((s) => theirs(s) && s.name === 'turn/start' && s.parentSpanId === first.runSpanId)).toHaveLength(1);
    expect(receiver.spans.some((s) => theirs(s) && s.name === 'run_turn' && isBelow(receiver.spans, s, start1.spanId) && s.traceId !== first.traceId)).toBe(false);
  });
});
