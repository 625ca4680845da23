/**
 * The span pipeline behind the observer: the official OTLP exporter for the configured protocol,
 * the SDK's batch span processor, and a thin gate in front of it that keeps memory bounded and
 * counts what was exported and what was dropped. A collector that is down, slow or failing costs
 * the daemon nothing but those counts: spans only ever wait in a bounded queue, exports run in
 * the background, and a span that does not fit is dropped (and counted), never waited for.
 */
import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { BatchOptions, OtlpProtocol } from './config.ts';

export interface ExportCounts {
  /** Spans ended and handed to the export queue. */
  queued: number;
  /** Spans the collector accepted. */
  exported: number;
  /** Spans lost: the export failed (collector down, timed out, rejected) or the queue was full. */
  dropped: number;
  /** Of `dropped`, those that did not fit in the queue. */
  droppedQueueFull: number;
  /** Failed export requests. */
  failedExports: number;
  /** The last export error (message only). */
  lastError: string | undefined;
}

/** Counts what the exporter it wraps accepted and lost. */
class CountingExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly counts: ExportCounts;
  private readonly settle: (n: number) => void;

  constructor(inner: SpanExporter, counts: ExportCounts, settle: (n: number) => void) {
    this.inner = inner;
    this.counts = counts;
    this.settle = settle;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let done = false;
    const finish = (result: ExportResult) => {
      if (done) return;
      done = true;
      if (result.code === ExportResultCode.SUCCESS) this.counts.exported += spans.length;
      else {
        this.counts.dropped += spans.length;
        this.counts.failedExports++;
        this.counts.lastError = result.error?.message ?? 'export failed';
      }
      this.settle(spans.length);
      resultCallback(result);
    };
    try {
      this.inner.export(spans, finish);
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * The batch processor behind a gate: at most `maxQueueSize` spans are outstanding (queued or
 * being exported); a span beyond that is dropped here and counted, so the batch processor never
 * overflows and memory stays bounded even when exports hang until their timeout.
 */
class GatedBatchProcessor implements SpanProcessor {
  #outstanding = 0;
  readonly #batch: BatchSpanProcessor;
  private readonly options: BatchOptions;
  private readonly counts: ExportCounts;

  constructor(exporter: SpanExporter, options: BatchOptions, counts: ExportCounts) {
    this.options = options;
    this.counts = counts;
    this.#batch = new BatchSpanProcessor({ exporter: new CountingExporter(exporter, counts, (n) => (this.#outstanding -= n)), ...options });
  }

  onStart(span: Span, parentContext: Context): void {
    this.#batch.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & 1) === 0) return;
    if (this.#outstanding >= this.options.maxQueueSize) {
      this.counts.dropped++;
      this.counts.droppedQueueFull++;
      return;
    }
    this.#outstanding++;
    this.counts.queued++;
    this.#batch.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#batch.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#batch.shutdown();
  }
}

export interface ExporterOptions {
  protocol: OtlpProtocol;
  url: string | undefined;
  headers: Record<string, string> | undefined;
  timeoutMillis: number;
}

/**
 * The HTTP exporters load node:http or node:https on their first export, through the ESM loader:
 * in the daemon (whose start-up snapshot holds no builtin as an ES module) that first import cost
 * about 0.2 s of CPU inside the first export, while messages were being answered. Loaded here, as
 * the export starts, instead.
 */
export async function preloadHttpTransport(url: string | undefined, signal: 'TRACES' | 'METRICS', env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const endpoint = url ?? env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? 'http://localhost:4318';
  await (URL.canParse(endpoint) && new URL(endpoint).protocol === 'https:' ? import('node:https') : import('node:http'));
}

/**
 * The headers as gRPC metadata. @grpc/grpc-js is CommonJS: its exports are read from the module's
 * `default` (module.exports), which node's loader and a bundle (the daemon's dist/otel) both give;
 * a bundle gives no named exports for it.
 */
export async function grpcMetadata(headers: Record<string, string>) {
  const { Metadata } = (await import('@grpc/grpc-js')).default;
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

/** The official OTLP trace exporter for the protocol (loaded only when used: gRPC pulls in @grpc/grpc-js). */
export async function createOtlpTraceExporter(options: ExporterOptions): Promise<SpanExporter> {
  const config = {
    ...(options.url ? { url: options.url } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    timeoutMillis: options.timeoutMillis,
  };
  switch (options.protocol) {
    case 'http/protobuf': {
      const [{ OTLPTraceExporter }] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-proto'), preloadHttpTransport(options.url, 'TRACES')]);
      return new OTLPTraceExporter(config);
    }
    case 'http/json': {
      const [{ OTLPTraceExporter }] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-http'), preloadHttpTransport(options.url, 'TRACES')]);
      return new OTLPTraceExporter(config);
    }
    case 'grpc': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
      const { headers, ...rest } = config as { headers?: Record<string, string>; url?: string; timeoutMillis: number };
      return new OTLPTraceExporter({ ...rest, ...(headers ? { metadata: await grpcMetadata(headers) } : {}) });
    }
  }
}

export function emptyCounts(): ExportCounts {
  return { queued: 0, exported: 0, dropped: 0, droppedQueueFull: 0, failedExports: 0, lastError: undefined };
}

export function gatedProcessor(exporter: SpanExporter, batch: BatchOptions, counts: ExportCounts): SpanProcessor {
  return new GatedBatchProcessor(exporter, batch, counts);
}
