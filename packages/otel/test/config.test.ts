/**
 * When export is on and how: the settings' `telemetry` block, then the standard OTEL_* variables;
 * bad values get a clear error. The attribute names are the semantic conventions package's.
 */
import { describe, expect, it } from 'vitest';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { runtimeKinds } from '@tinyagi/core';
import { GEN_AI, OPERATION, providerName, resolveMetricsExport, resolveTraceExport, runSpanIdOf, signalUrl, traceIdOf, workflowSpanIdOf, agentsFromSettings } from '../src/index.ts';

describe('resolveTraceExport', () => {
  it('is off by default, with OTEL_SDK_DISABLED, and when the settings say enabled: false', () => {
    expect(resolveTraceExport(undefined, {})).toBeUndefined();
    expect(resolveTraceExport({}, { OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(resolveTraceExport({ enabled: true }, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(resolveTraceExport({ enabled: false }, { OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
  });

  it('the standard variables alone turn it on: OTEL_TRACES_EXPORTER=otlp, protocol, sampler, OTEL_BSP_*, OTEL_SERVICE_NAME, the semconv opt-in', () => {
    const config = resolveTraceExport(undefined, {
      OTEL_TRACES_EXPORTER: 'console,otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', // read by the official exporter itself
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '500',
      OTEL_BSP_SCHEDULE_DELAY: '250',
      OTEL_BSP_EXPORT_TIMEOUT: '1000',
      OTEL_SERVICE_NAME: 'agents-prod',
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http,gen_ai_latest_experimental',
    });
    expect(config).toEqual({
      url: undefined,
      protocol: 'http/json',
      headers: undefined,
      sampleRatio: 0.25,
      captureContent: false,
      serviceName: 'agents-prod',
      batch: { maxQueueSize: 100, maxExportBatchSize: 100, scheduledDelayMillis: 250, exportTimeoutMillis: 1000 },
      latestSemconvOnly: true,
    });
    expect(resolveTraceExport(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })?.protocol).toBe('grpc');
    // The GenAI instrumentations' content switch; the settings' capture_content wins.
    expect(resolveTraceExport(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' })?.captureContent).toBe(true);
    expect(resolveTraceExport({ enabled: true, capture_content: false }, { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' })?.captureContent).toBe(false);
  });

  it('the settings block wins over the variables; its endpoint is a base URL (/v1/traces added for HTTP)', () => {
    const config = resolveTraceExport(
      { enabled: true, endpoint: 'https://otel.example.com:4318/', protocol: 'http/protobuf', headers: { 'x-honeycomb-team': 'k' }, sample_ratio: 0.5, capture_content: true, service_name: 'tiny' },
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_SERVICE_NAME: 'other', OTEL_TRACES_SAMPLER: 'always_off' },
    );
    expect(config).toMatchObject({
      url: 'https://otel.example.com:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: { 'x-honeycomb-team': 'k' },
      sampleRatio: 0.5,
      captureContent: true,
      serviceName: 'tiny',
    });
    expect(resolveTraceExport({ enabled: true, endpoint: 'http://localhost:4317', protocol: 'grpc' }, {})?.url).toBe('http://localhost:4317');
    expect(signalUrl('http://c:4318/otlp', 'http/json', 'metrics')).toBe('http://c:4318/otlp/v1/metrics');
  });

  it('bad values get a clear error', () => {
    expect(() => resolveTraceExport({ enabled: true, endpoint: 'collector:4318' }, {})).toThrow(/must be an http:\/\/ or https:\/\/ URL such as http:\/\/localhost:4318, got "collector:4318"/);
    expect(() => resolveTraceExport({ enabled: true, endpoint: 'ftp://c' }, {})).toThrow(/http:\/\/ or https:\/\//);
    expect(() => resolveTraceExport(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/protobuf, http\/json, grpc/,
    );
    expect(() => resolveTraceExport(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_BSP_MAX_QUEUE_SIZE: 'lots' })).toThrow(/OTEL_BSP_MAX_QUEUE_SIZE must be a non-negative number/);
    expect(() => resolveTraceExport(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/not supported/);
    expect(() => resolveTraceExport({ enabled: true, sample_ratio: 2 }, {})).toThrow(/from 0 to 1/);
  });
});

describe('resolveMetricsExport', () => {
  it('metrics follow the traces unless OTEL_METRICS_EXPORTER=none; OTEL_METRICS_EXPORTER=otlp alone turns them on', () => {
    expect(resolveMetricsExport(undefined, {})).toBeUndefined();
    expect(resolveMetricsExport({ enabled: true, endpoint: 'http://c:4318' }, {})).toEqual({
      url: 'http://c:4318/v1/metrics',
      protocol: 'http/protobuf',
      headers: undefined,
      serviceName: 'tinyagi',
      exportIntervalMillis: 60_000,
      exportTimeoutMillis: 30_000,
    });
    expect(resolveMetricsExport({ enabled: true }, { OTEL_METRICS_EXPORTER: 'none' })).toBeUndefined();
    expect(resolveMetricsExport(undefined, { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc', OTEL_METRIC_EXPORT_INTERVAL: '10000' })).toMatchObject({
      protocol: 'grpc',
      exportIntervalMillis: 10_000,
    });
    expect(resolveMetricsExport({ enabled: false }, { OTEL_METRICS_EXPORTER: 'otlp' })).toBeUndefined();
    expect(resolveMetricsExport(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });
});

describe('ids and names', () => {
  it('trace and span ids are derived from the conversation and run ids: the same in every process, W3C-shaped', () => {
    expect(traceIdOf('conv-1')).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf('conv-1')).toBe(traceIdOf('conv-1'));
    expect(traceIdOf('conv-1')).not.toBe(traceIdOf('conv-2'));
    expect(runSpanIdOf('run-1')).toMatch(/^[0-9a-f]{16}$/);
    expect(workflowSpanIdOf('run-1')).not.toBe(runSpanIdOf('run-1'));
  });

  it('the GenAI names are those of @opentelemetry/semantic-conventions (incubating)', () => {
    expect(GEN_AI).toEqual({
      operationName: semconv.ATTR_GEN_AI_OPERATION_NAME,
      providerName: semconv.ATTR_GEN_AI_PROVIDER_NAME,
      system: semconv.ATTR_GEN_AI_SYSTEM,
      agentId: semconv.ATTR_GEN_AI_AGENT_ID,
      agentName: semconv.ATTR_GEN_AI_AGENT_NAME,
      conversationId: semconv.ATTR_GEN_AI_CONVERSATION_ID,
      requestModel: semconv.ATTR_GEN_AI_REQUEST_MODEL,
      usageInputTokens: semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      usageOutputTokens: semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      usageCacheReadInputTokens: semconv.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
      toolName: semconv.ATTR_GEN_AI_TOOL_NAME,
      toolType: semconv.ATTR_GEN_AI_TOOL_TYPE,
      toolCallArguments: semconv.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
      toolCallId: semconv.ATTR_GEN_AI_TOOL_CALL_ID,
      toolCallResult: semconv.ATTR_GEN_AI_TOOL_CALL_RESULT,
      toolDescription: semconv.ATTR_GEN_AI_TOOL_DESCRIPTION,
      responseModel: semconv.ATTR_GEN_AI_RESPONSE_MODEL,
      inputMessages: semconv.ATTR_GEN_AI_INPUT_MESSAGES,
      outputMessages: semconv.ATTR_GEN_AI_OUTPUT_MESSAGES,
      workflowName: semconv.ATTR_GEN_AI_WORKFLOW_NAME,
    });
    expect(OPERATION).toEqual({
      invokeAgent: semconv.GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
      invokeWorkflow: semconv.GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW,
      executeTool: semconv.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
    });
    expect(providerName('claude-code', 'sonnet')).toBe(semconv.GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC);
    expect(providerName('codex', undefined)).toBe(semconv.GEN_AI_PROVIDER_NAME_VALUE_OPENAI);
    expect(providerName('opencode', 'groq/llama-4')).toBe('groq');
    expect(providerName('mock', undefined)).toBe('mock');
    // Old names, per the key they were written in: an agent's anthropic/openai, a custom provider's claude.
    expect([providerName('anthropic', undefined), providerName('claude', undefined), providerName('openai', undefined)]).toEqual(['anthropic', 'anthropic', 'openai']);
    expect(providerName('opencode', 'big-pickle')).toBe('opencode');
    expect(providerName('custom:lab', undefined)).toBe('custom:lab');
  });

  it("providerName: a registered runtime's kind says its provider, nothing else names it", () => {
    expect(providerName('heron-cli', undefined)).toBe('heron-cli');
    const heron: Parameters<typeof runtimeKinds.register>[0] = {
      family: 'runtime',
      name: 'heron-cli',
      aliases: [],
      title: 'Heron CLI',
      description: 'A throw-away runtime kind.',
      command: 'heron',
      installHint: null,
      passthroughEnv: [],
      capabilities: { keepsSession: false, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: false, usesTools: false },
      instructionFiles: [],
      modelAliases: {},
      modelsBlock: null,
      customProvider: null,
      retry: 'history',
      steerPoint: null,
      telemetryProvider: 'heron-labs',
    };
    const undo = runtimeKinds.register(heron);
    try {
      expect(providerName('heron-cli', 'x/y')).toBe('heron-labs');
      const undoFromModel = runtimeKinds.register({ ...heron, telemetryProvider: { fromModel: true } });
      expect([providerName('heron-cli', 'acme/y'), providerName('heron-cli', 'y')]).toEqual(['acme', 'heron-cli']);
      undoFromModel();
    } finally {
      undo();
    }
    expect(providerName('heron-cli', undefined)).toBe('heron-cli');
  });

  it('agentsFromSettings: name, runtime and model; a custom provider by its runtime (or its old key)', () => {
    const describe = agentsFromSettings(() => ({
      agents: { a: { name: 'Ada', provider: 'claude-code', model: 'opus' }, b: { provider: 'custom:lab' }, c: {}, d: { provider: 'custom:old' } },
      models: { provider: 'codex' },
      custom_providers: { lab: { runtime: 'openai-api', model: 'lab-1' }, old: { harness: 'codex' } },
    }));
    expect(describe('a')).toEqual({ name: 'Ada', runtime: 'claude-code', model: 'opus' });
    expect(describe('b')).toEqual({ name: 'b', runtime: 'openai-api', model: 'lab-1' });
    expect(describe('d')).toEqual({ name: 'd', runtime: 'codex', model: undefined });
    expect(describe('c')).toEqual({ name: 'c', runtime: 'codex', model: undefined });
    expect(describe('missing')).toBeUndefined();
  });
});
