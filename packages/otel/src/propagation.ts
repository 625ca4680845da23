/**
 * W3C trace context for the agent CLIs a run launches: `TRACEPARENT` in the CLI's environment,
 * naming the run's `invoke_agent` span in the conversation's trace (both ids derived, ids.ts), so
 * a CLI that reads it (or a tool it runs that does) puts its own spans inside our run's span.
 * The orchestrator already gives every invocation TINYAGI_RUN_ID and TINYAGI_CONVERSATION_ID;
 * nothing else is needed.
 */
import type { CliTelemetryConfig } from './config.ts';
import { runSpanIdOf, traceIdOf } from './ids.ts';

/** `00-<trace id>-<span id>-<flags>` for a run (flags 01: sampled). */
export function traceparentOf(conversationId: string, runId: string, sampled = true): string {
  return traceparent({ traceId: traceIdOf(conversationId), spanId: runSpanIdOf(runId), sampled });
}

function traceparent(context: RunTraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
}

interface RequestWithEnv {
  agentId?: string | undefined;
  target?: { runtime?: string | undefined } | undefined;
  env?: Record<string, string> | undefined;
}

/** `k=v` pairs as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES take them (values percent-encoded). */
function pairs(record: Record<string, string>): string {
  return Object.entries(record)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join(',');
}

/**
 * The variables that point an agent CLI's own telemetry at our collector (`telemetry.cli_telemetry`),
 * with the run's ids as resource attributes so its data can be found from the run:
 * - every CLI: the standard OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL / _HEADERS,
 *   OTEL_RESOURCE_ATTRIBUTES (`gen_ai.conversation.id`, `gen_ai.agent.id`, `tinyagi.run.id`), and
 *   TINYAGI_CLI_TELEMETRY=1, which the Codex runtime turns into Codex's `[otel]` settings (Codex
 *   reads its exporters from its config, not from these variables); with capture_content
 *   OTEL_LOG_USER_PROMPTS=1 (the prompt in the CLI's own events);
 * - Claude Code (`claude-code`): CLAUDE_CODE_ENABLE_TELEMETRY=1 with the OTLP metrics and logs
 *   exporters, and its traces (CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1, OTEL_TRACES_EXPORTER=otlp),
 *   whose interaction span takes TRACEPARENT as its parent; prompts and tool details
 *   (OTEL_LOG_USER_PROMPTS, OTEL_LOG_TOOL_DETAILS) only with capture_content.
 */
export function cliTelemetryEnv(config: CliTelemetryConfig, runtime: string | undefined, ids: { conversationId: string; runId: string; agentId?: string | undefined }): Record<string, string> {
  const env: Record<string, string> = {
    TINYAGI_CLI_TELEMETRY: '1',
    OTEL_EXPORTER_OTLP_ENDPOINT: config.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: config.protocol,
    OTEL_RESOURCE_ATTRIBUTES: pairs({
      'gen_ai.conversation.id': ids.conversationId,
      ...(ids.agentId ? { 'gen_ai.agent.id': ids.agentId } : {}),
      'tinyagi.run.id': ids.runId,
    }),
  };
  if (config.headers && Object.keys(config.headers).length > 0) env['OTEL_EXPORTER_OTLP_HEADERS'] = pairs(config.headers);
  // Prompts in the CLI's own events only with capture_content (Claude Code reads this; the Codex runtime makes it `otel.log_user_prompt`).
  if (config.captureContent) env['OTEL_LOG_USER_PROMPTS'] = '1';
  if (runtime === 'claude-code') {
    Object.assign(env, {
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      CLAUDE_CODE_ENHANCED_TELEMETRY_BETA: '1',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORTER: 'otlp',
    });
    if (config.captureContent) env['OTEL_LOG_TOOL_DETAILS'] = '1';
  }
  return env;
}

/** The W3C context a run's CLI gets: its trace, its `invoke_agent` span and whether the trace is exported. */
export interface RunTraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/**
 * Wraps an invoker so that every invocation of a run gets TRACEPARENT (and no TRACESTATE of the
 * daemon's). `contextOf` names the run's span (the trace observer's open span, or derived ids).
 */
export function withTraceContext<Req extends RequestWithEnv, Res>(
  invoke: (req: Req) => Promise<Res>,
  contextOf: (conversationId: string, runId: string) => RunTraceContext = (conversationId, runId) => ({ traceId: traceIdOf(conversationId), spanId: runSpanIdOf(runId), sampled: true }),
  cliTelemetry?: CliTelemetryConfig | undefined,
): (req: Req) => Promise<Res> {
  return (req) => {
    const runId = req.env?.['TINYAGI_RUN_ID'];
    const conversationId = req.env?.['TINYAGI_CONVERSATION_ID'];
    if (!runId || !conversationId) return invoke(req);
    const context = contextOf(conversationId, runId);
    // The CLI's own telemetry only for a sampled conversation: its spans would have no parent otherwise.
    const extra = cliTelemetry && context.sampled ? cliTelemetryEnv(cliTelemetry, req.target?.runtime, { conversationId, runId, agentId: req.agentId }) : {};
    return invoke({ ...req, env: { ...req.env, ...extra, TRACEPARENT: traceparent(context) } });
  };
}
