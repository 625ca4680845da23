/**
 * One trace across the process boundary: the agent CLI a run launches (the fake `claude` of
 * @tinyagi/test-kit, a real subprocess) receives TRACEPARENT naming the run's span in the
 * conversation's trace, and that span is the one exported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { fakeCli, tempDir, waitFor } from '@tinyagi/test-kit';
import { agentsFromSettings, createTraceObserver, resolveTraceExport, runSpanIdOf, traceIdOf, traceparentOf } from '../src/index.ts';
import { closeAll, harness } from './harness.ts';
import { httpReceiver } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeAll();
});

it('the CLI a run launches gets TRACEPARENT: the conversation trace id and the run span id, sampled', async () => {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const settings: Settings = { agents: { cc: { provider: 'claude-code', model: 'sonnet' } } };
  const exp = await createTraceObserver({
    url: `${receiver.endpoint}/v1/traces`,
    describeAgent: agentsFromSettings(() => settings),
    batch: { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 20, exportTimeoutMillis: 2000 },
  });
  cleanups.push(() => exp.shutdown());
  const dir = tempDir('tinyagi-otel-cli-');
  const logFile = join(dir, 'fake.log');
  const fakeClaude = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, FAKE_STATE_DIR: dir } });
  const h = await harness(settings, { observers: [exp.observer], invoke: exp.wrapInvoke(fakeClaude) });
  cleanups.push(() => h.close());

  const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:reply=hi there', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  const [run] = await h.stores.runs.listRuns(sent.conversationId);
  const runs = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { env: Record<string, string> });
  expect(runs).toHaveLength(1);
  expect(runs[0]!.env['TRACEPARENT']).toBe(traceparentOf(sent.conversationId, run!.id));
  expect(runs[0]!.env['TRACEPARENT']).toBe(`00-${traceIdOf(sent.conversationId)}-${runSpanIdOf(run!.id)}-01`);
  // cli_telemetry is off: the CLI's own telemetry is not touched.
  for (const name of ['CLAUDE_CODE_ENABLE_TELEMETRY', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_RESOURCE_ATTRIBUTES', 'TINYAGI_CLI_TELEMETRY']) expect(runs[0]!.env[name], name).toBeUndefined();

  const span = await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_agent cc'), 10_000, 'the run span');
  expect(span).toMatchObject({ traceId: traceIdOf(sent.conversationId), spanId: runSpanIdOf(run!.id), parentSpanId: '' });
  expect(span.attributes).toMatchObject({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'sonnet', 'tinyagi.agent.runtime': 'claude-code' });
});

it('sampled out (sample_ratio 0): nothing is exported, and TRACEPARENT says not sampled', async () => {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const exp = await createTraceObserver({
    url: `${receiver.endpoint}/v1/traces`,
    sampleRatio: 0,
    batch: { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 20, exportTimeoutMillis: 2000 },
  });
  cleanups.push(() => exp.shutdown());
  const dir = tempDir('tinyagi-otel-cli-');
  const logFile = join(dir, 'fake.log');
  const fakeClaude = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, FAKE_STATE_DIR: dir } });
  const h = await harness({ agents: { cc: { provider: 'claude-code' } } }, { observers: [exp.observer], invoke: exp.wrapInvoke(fakeClaude) });
  cleanups.push(() => h.close());

  const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:tool then FAKE:reply=ok', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  const [run] = await h.stores.runs.listRuns(sent.conversationId);
  const [logged] = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { env: Record<string, string> });
  expect(logged!.env['TRACEPARENT']).toBe(traceparentOf(sent.conversationId, run!.id, false));
  await exp.flush();
  expect(receiver.requests).toEqual([]);
  expect(exp.counts()).toMatchObject({ queued: 0, exported: 0, dropped: 0 });
});

it('cli_telemetry: the CLI gets the collector (endpoint, protocol, headers), the run ids as resource attributes and, for Claude Code, its telemetry switches', async () => {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const config = resolveTraceExport({ enabled: true, endpoint: `${receiver.endpoint}/`, protocol: 'http/json', cli_telemetry: true, capture_content: true, headers: { 'x-api-key': 'k=1,2' } }, {})!;
  expect(config.cliTelemetry).toEqual({ endpoint: receiver.endpoint, protocol: 'http/json', headers: { 'x-api-key': 'k=1,2' }, captureContent: true });
  const exp = await createTraceObserver({ ...config, batch: { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 20, exportTimeoutMillis: 2000 } });
  cleanups.push(() => exp.shutdown());
  const dir = tempDir('tinyagi-otel-cli-');
  const logFile = join(dir, 'fake.log');
  const fakeClaude = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, FAKE_STATE_DIR: dir } });
  const h = await harness({ agents: { cc: { provider: 'claude-code' } } }, { observers: [exp.observer], invoke: exp.wrapInvoke(fakeClaude) });
  cleanups.push(() => h.close());
  const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:reply=ok', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  const [run] = await h.stores.runs.listRuns(sent.conversationId);
  const [logged] = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { env: Record<string, string> });
  expect(logged!.env).toMatchObject({
    TRACEPARENT: traceparentOf(sent.conversationId, run!.id),
    TINYAGI_CLI_TELEMETRY: '1',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k%3D1%2C2',
    OTEL_RESOURCE_ATTRIBUTES: `gen_ai.conversation.id=${sent.conversationId},gen_ai.agent.id=cc,tinyagi.run.id=${run!.id}`,
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    CLAUDE_CODE_ENHANCED_TELEMETRY_BETA: '1',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_LOG_USER_PROMPTS: '1',
    OTEL_LOG_TOOL_DETAILS: '1',
  });
});

it("cli_telemetry with an endpoint's credentials (`http://user:password@…`): the CLI gets them as a Basic Authorization header, never in its URL or on its command line (Codex's argv shows in `ps`)", async () => {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const withCredentials = receiver.endpoint.replace('http://', 'http://probe:s3cret-pass%21@');
  const config = resolveTraceExport({ enabled: true, endpoint: withCredentials, protocol: 'http/json', cli_telemetry: true }, {})!;
  const basic = `Basic ${Buffer.from('probe:s3cret-pass!').toString('base64')}`;
  expect(config.cliTelemetry).toEqual({ endpoint: receiver.endpoint, protocol: 'http/json', headers: { Authorization: basic }, captureContent: false });
  // A header the operator set wins; the URL's credentials still stay out.
  const own = resolveTraceExport({ enabled: true, endpoint: withCredentials, cli_telemetry: true, headers: { authorization: 'Bearer collector-key' } }, {})!;
  expect(own.cliTelemetry).toMatchObject({ endpoint: receiver.endpoint, headers: { authorization: 'Bearer collector-key' } });

  const exp = await createTraceObserver({ ...config, batch: { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 20, exportTimeoutMillis: 2000 } });
  cleanups.push(() => exp.shutdown());
  const dir = tempDir('tinyagi-otel-cli-');
  const logFile = join(dir, 'fake.log');
  const fakeCodex = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('codex') }, env: { ...req.env, FAKE_LOG: logFile, FAKE_STATE_DIR: dir } });
  const h = await harness({ agents: { cx: { provider: 'openai' } } }, { observers: [exp.observer], invoke: exp.wrapInvoke(fakeCodex) });
  cleanups.push(() => h.close());
  const sent = await h.orchestrator.submit({ agent: 'cx', message: 'FAKE:reply=ok', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  const [logged] = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { cli: string; argv: string[]; env: Record<string, string> });
  expect(logged!.cli).toBe('codex');
  expect(logged!.argv.join(' ')).toContain(`otel.trace_exporter={ otlp-http = { endpoint = "${receiver.endpoint}/v1/traces"`);
  expect(logged!.argv.join(' ')).not.toMatch(/s3cret|probe/);
  expect(logged!.env).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_HEADERS: `Authorization=${encodeURIComponent(basic)}` });
});
