/**
 * When trace export is on and how it is set up: the settings' `telemetry` block first, then the
 * standard OpenTelemetry variables, so an operator's usual environment just works.
 *
 * On when `telemetry.enabled` is true, or when it is not set and `OTEL_TRACES_EXPORTER` names
 * `otlp`. Off when `telemetry.enabled` is false, `OTEL_SDK_DISABLED=true`, or neither says on.
 */

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

/** The settings' `telemetry` block (packages/client/src/contract/settings-schema.ts) as this package reads it. */
export interface TelemetrySettings {
  enabled?: boolean | undefined;
  /** The collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT): `http://localhost:4318` (HTTP) or `http://localhost:4317` (gRPC). */
  endpoint?: string | undefined;
  protocol?: OtlpProtocol | undefined;
  headers?: Record<string, string> | undefined;
  /** The share of conversations traced, 0..1 (decided per trace id, so the same everywhere). */
  sample_ratio?: number | undefined;
  /** Prompts, replies and tool arguments on the spans (secrets masked). Default false. */
  capture_content?: boolean | undefined;
  service_name?: string | undefined;
  /**
   * Point the agent CLIs' own telemetry at the same collector (Claude Code's OTLP variables,
   * Codex's `[otel]`), with the run's ids as resource attributes. Default false.
   */
  cli_telemetry?: boolean | undefined;
}

/** What an agent CLI gets to send its own telemetry to our collector (cli_telemetry). */
export interface CliTelemetryConfig {
  /** The collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT). */
  endpoint: string;
  protocol: OtlpProtocol;
  headers: Record<string, string> | undefined;
  /** Prompts and tool details in the CLI's own events too (capture_content). */
  captureContent: boolean;
}

export interface BatchOptions {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
}

export interface TraceExportConfig {
  /** The full URL spans are sent to (`…/v1/traces` for HTTP); undefined: the exporter's own (from OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT or its default). */
  url: string | undefined;
  protocol: OtlpProtocol;
  headers: Record<string, string> | undefined;
  sampleRatio: number;
  captureContent: boolean;
  serviceName: string;
  batch: BatchOptions;
  /** Emit only the latest GenAI attribute names (OTEL_SEMCONV_STABILITY_OPT_IN has gen_ai_latest_experimental). */
  latestSemconvOnly: boolean;
  /** Set when `telemetry.cli_telemetry` is on: where the CLIs send their own telemetry. */
  cliTelemetry: CliTelemetryConfig | undefined;
}

/** The variables' `k=v,k2=v2` (values URL-encoded, as the specification says) as a record. */
function parseHeaders(raw: string | undefined): Record<string, string> | undefined {
  if (!raw?.trim()) return undefined;
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

type Env = Record<string, string | undefined>;

function envNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}".`);
  return n;
}

function parseProtocol(value: string, where: string): OtlpProtocol {
  const v = value.trim().toLowerCase();
  if ((OTLP_PROTOCOLS as readonly string[]).includes(v)) return v as OtlpProtocol;
  throw new Error(`${where} must be one of ${OTLP_PROTOCOLS.join(', ')}, got "${value}".`);
}

/** The sampling ratio from OTEL_TRACES_SAMPLER[_ARG]: always_on, always_off, traceidratio and their parentbased_ forms (our parents are our own, so both decide by trace id). */
function envSampleRatio(env: Env): number | undefined {
  const sampler = env['OTEL_TRACES_SAMPLER']?.trim().toLowerCase();
  if (!sampler) return undefined;
  const base = sampler.replace(/^parentbased_/, '');
  if (base === 'always_on') return 1;
  if (base === 'always_off') return 0;
  if (base === 'traceidratio') {
    const arg = env['OTEL_TRACES_SAMPLER_ARG']?.trim();
    const ratio = arg ? Number(arg) : 1;
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "${arg}".`);
    return ratio;
  }
  throw new Error(`OTEL_TRACES_SAMPLER "${sampler}" is not supported here (always_on, always_off, traceidratio and their parentbased_ forms are).`);
}

/** `/v1/traces` appended to a base endpoint, as the OTLP exporter specification says for OTEL_EXPORTER_OTLP_ENDPOINT. */
export function signalUrl(endpoint: string, protocol: OtlpProtocol, signal: 'traces' | 'metrics' = 'traces'): string {
  let scheme: string | undefined;
  try {
    scheme = new URL(endpoint).protocol;
  } catch {
    scheme = undefined;
  }
  if (scheme !== 'http:' && scheme !== 'https:') throw new Error(`The OTLP endpoint must be an http:// or https:// URL such as http://localhost:4318, got "${endpoint}".`);
  if (protocol === 'grpc') return endpoint;
  return `${endpoint.replace(/\/+$/, '')}/v1/${signal}`;
}

/**
 * An endpoint's user and password (`http://user:password@collector:4318`) as a Basic
 * `Authorization` header, and the endpoint without them: a URL is shown where a header is not (a
 * CLI's command line, visible in `ps`; log lines), and every OTLP exporter reads the header from
 * OTEL_EXPORTER_OTLP_HEADERS. A header the operator set themselves wins.
 */
function moveEndpointCredentials(endpoint: string, headers: Record<string, string> | undefined): { endpoint: string; headers: Record<string, string> | undefined } {
  const url = new URL(endpoint);
  if (url.username === '' && url.password === '') return { endpoint, headers };
  const bare = endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
  if (headers && Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return { endpoint: bare, headers };
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const credentials = `${decode(url.username)}:${decode(url.password)}`;
  return { endpoint: bare, headers: { ...headers, Authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

/** Whether trace export is on, and its configuration; undefined when off (then load nothing). */
export function resolveTraceExport(settings: TelemetrySettings | undefined, env: Env = process.env): TraceExportConfig | undefined {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const enabled = settings?.enabled ?? exporters.includes('otlp');
  if (!enabled) return undefined;

  const protocol = settings?.protocol
    ? parseProtocol(settings.protocol, 'telemetry.protocol')
    : env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']
      ? parseProtocol(env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'], 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
      : env['OTEL_EXPORTER_OTLP_PROTOCOL']
        ? parseProtocol(env['OTEL_EXPORTER_OTLP_PROTOCOL'], 'OTEL_EXPORTER_OTLP_PROTOCOL')
        : 'http/protobuf';
  const sampleRatio = settings?.sample_ratio ?? envSampleRatio(env) ?? 1;
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) throw new Error(`telemetry.sample_ratio must be a number from 0 to 1, got ${sampleRatio}.`);
  const batch: BatchOptions = {
    maxQueueSize: envNumber(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048),
    maxExportBatchSize: envNumber(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512),
    scheduledDelayMillis: envNumber(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000),
    exportTimeoutMillis: envNumber(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30000),
  };
  if (batch.maxExportBatchSize > batch.maxQueueSize) batch.maxExportBatchSize = batch.maxQueueSize;
  const captureContent = settings?.capture_content ?? env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT']?.trim().toLowerCase() === 'true';
  const headers = settings?.headers && Object.keys(settings.headers).length > 0 ? { ...settings.headers } : undefined;
  let cliTelemetry: CliTelemetryConfig | undefined;
  if (settings?.cli_telemetry) {
    const endpoint = settings.endpoint || env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318');
    signalUrl(endpoint, protocol); // refuses a bad URL here, with its value
    const moved = moveEndpointCredentials(endpoint.replace(/\/+$/, ''), headers ?? parseHeaders(env['OTEL_EXPORTER_OTLP_HEADERS']));
    cliTelemetry = { endpoint: moved.endpoint, protocol, headers: moved.headers, captureContent };
  }
  return {
    url: settings?.endpoint ? signalUrl(settings.endpoint, protocol) : undefined,
    protocol,
    headers,
    sampleRatio,
    captureContent,
    serviceName: settings?.service_name || env['OTEL_SERVICE_NAME']?.trim() || 'tinyagi',
    batch,
    latestSemconvOnly: (env['OTEL_SEMCONV_STABILITY_OPT_IN'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .includes('gen_ai_latest_experimental'),
    cliTelemetry,
  };
}

export interface MetricsExportConfig {
  url: string | undefined;
  protocol: OtlpProtocol;
  headers: Record<string, string> | undefined;
  serviceName: string;
  exportIntervalMillis: number;
  exportTimeoutMillis: number;
}

/**
 * Whether metrics are exported: with the traces (settings or OTEL_TRACES_EXPORTER=otlp) unless
 * OTEL_METRICS_EXPORTER says `none`, or on their own with OTEL_METRICS_EXPORTER=otlp; never when
 * `telemetry.enabled` is false or OTEL_SDK_DISABLED=true.
 */
export function resolveMetricsExport(settings: TelemetrySettings | undefined, env: Env = process.env): MetricsExportConfig | undefined {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true' || settings?.enabled === false) return undefined;
  const exporters = (env['OTEL_METRICS_EXPORTER'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return undefined;
  const traces = resolveTraceExport(settings, env);
  if (!exporters.includes('otlp') && !traces) return undefined;
  const protocol = settings?.protocol
    ? parseProtocol(settings.protocol, 'telemetry.protocol')
    : env['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL']
      ? parseProtocol(env['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL'], 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL')
      : env['OTEL_EXPORTER_OTLP_PROTOCOL']
        ? parseProtocol(env['OTEL_EXPORTER_OTLP_PROTOCOL'], 'OTEL_EXPORTER_OTLP_PROTOCOL')
        : 'http/protobuf';
  return {
    url: settings?.endpoint ? signalUrl(settings.endpoint, protocol, 'metrics') : undefined,
    protocol,
    headers: settings?.headers && Object.keys(settings.headers).length > 0 ? { ...settings.headers } : undefined,
    serviceName: settings?.service_name || env['OTEL_SERVICE_NAME']?.trim() || 'tinyagi',
    exportIntervalMillis: envNumber(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000) || 60_000,
    exportTimeoutMillis: envNumber(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000) || 30_000,
  };
}
