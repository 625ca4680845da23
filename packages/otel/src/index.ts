/**
 * @tinyagi/otel: OpenTelemetry export for TinyAGI. `createTraceObserver` makes an observer (the
 * orchestrator's observer seam, docs/observers.md) that turns every conversation into one OTLP
 * trace with the GenAI semantic conventions; `resolveTraceExport` says from the settings'
 * `telemetry` block and the standard OTEL_* variables whether it is on and how it is set up.
 * docs/telemetry.md describes the spans and their attributes.
 */
export { createTraceObserver, type TraceExport, type TraceObserverOptions } from './trace-observer.ts';
export { createMetricsObserver, type MetricsExport, type MetricsObserverOptions, type QueueCountsLike, type SessionPoolStatsLike } from './metrics.ts';
export {
  resolveTraceExport,
  resolveMetricsExport,
  signalUrl,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  type TelemetrySettings,
  type TraceExportConfig,
  type CliTelemetryConfig,
  type MetricsExportConfig,
  type BatchOptions,
} from './config.ts';
export { agentsFromSettings, providerName, type AgentDescription, type DescribeAgent } from './agents.ts';
export { traceIdOf, runSpanIdOf, workflowSpanIdOf, checkingSpanIdOf, checkingTraceIdOf } from './ids.ts';
export { cliTelemetryEnv, traceparentOf, withTraceContext } from './propagation.ts';
export { maskText, maskValue } from './mask.ts';
export type { ExportCounts } from './export.ts';
export { GEN_AI, OPERATION, TINYAGI, EVENT, ERROR_TYPE, CHECKING, VCS, PROCESS, CICD } from './semconv.ts';
