/**
 * OpenTelemetry export for the daemon and worker nodes (@tinyagi/otel, docs/telemetry.md): every
 * conversation as one trace, and metrics. Off unless the settings' `telemetry.enabled` or the
 * standard variables (OTEL_TRACES_EXPORTER=otlp, OTEL_METRICS_EXPORTER=otlp) say on; when off,
 * only the small config module is loaded: the SDK and the exporters are imported on demand.
 * Read at start: a change of the `telemetry` block applies at the next restart.
 *
 * The export never hurts the daemon: spans wait in a bounded queue, a failed export drops its
 * spans and counts them, and the counts are logged (at most once a minute, when something was
 * dropped) and at shutdown.
 */
import { sessionPool, type InvokeRequest, type InvokeResult, type Observer, type Settings } from '@tinyagi/core';
import { resolveMetricsExport, resolveTraceExport, type TelemetrySettings } from '@tinyagi/otel/config';

interface TelemetryLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface Telemetry {
  /** For the Orchestrator's `observers` option: empty when export is off. */
  observers: Observer[];
  /** The orchestrator's invoker with TRACEPARENT for every CLI a run launches (the invoker itself when off). */
  wrapInvoke(invoke: (req: InvokeRequest) => Promise<InvokeResult>): (req: InvokeRequest) => Promise<InvokeResult>;
  /** Spans exported and dropped so far; null when trace export is off. */
  status(): { exported: number; dropped: number; lastError: string | undefined } | null;
}

export interface TelemetryServiceOptions {
  /** The settings at start (the `telemetry` block is read once). */
  settings: Settings;
  env: NodeJS.ProcessEnv;
  logger: TelemetryLogger;
  /** Live settings, for the agents' names, runtimes and models on spans and metrics. */
  getSettings: () => Settings;
  /** The queue's messages by state, for the `tinyagi.queue.messages` gauge (read at each metrics export). */
  queueCounts?: () => Promise<{ pending: number; processing: number; dead: number }> | { pending: number; processing: number; dead: number };
  /** Approval requests waiting for a person, by kind, for the `tinyagi.approvals.pending` gauge (read at each metrics export). */
  approvalsPending?: () => Promise<Record<string, number>> | Record<string, number>;
  reportEveryMs?: number;
}

/** Approval requests pending, by kind, read from the approvals store (for `approvalsPending`). */
export function pendingApprovalsByKind(approvals: { list(filter: { status: 'pending'; limit: number }): Promise<Array<{ kind: string }>> | Array<{ kind: string }> }) {
  return async (): Promise<Record<string, number>> => {
    const byKind: Record<string, number> = {};
    for (const a of await approvals.list({ status: 'pending', limit: 100_000 })) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
    return byKind;
  };
}

/** A daemon service: start returns the observers and the invoker wrapper; stop ends the open spans and sends what is queued. */
export function telemetryService(options: TelemetryServiceOptions) {
  const { env, logger, getSettings } = options;
  let stop: () => Promise<void> = async () => {};
  return {
    name: 'telemetry',
    async start(): Promise<Telemetry> {
      const block = (options.settings as { telemetry?: TelemetrySettings }).telemetry;
      const traceConfig = resolveTraceExport(block, env);
      const metricsConfig = resolveMetricsExport(block, env);
      if (!traceConfig && !metricsConfig) return { observers: [], wrapInvoke: (invoke) => invoke, status: () => null };
      const otel = await import('@tinyagi/otel');
      const describeAgent = otel.agentsFromSettings(getSettings);
      const observers: Observer[] = [];
      const stops: Array<() => Promise<void>> = [];
      let telemetry: Telemetry = { observers, wrapInvoke: (invoke) => invoke, status: () => null };
      if (traceConfig) {
        const exp = await otel.createTraceObserver({ ...traceConfig, describeAgent });
        observers.push(exp.observer);
        const where = traceConfig.url ?? env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? 'the exporter default';
        logger.info(`exporting traces over OTLP ${traceConfig.protocol} to ${where} (sampling ${traceConfig.sampleRatio}, content ${traceConfig.captureContent ? 'on' : 'off'})`);
        let reported = 0;
        const timer = setInterval(() => {
          const counts = exp.counts();
          if (counts.dropped === reported) return;
          reported = counts.dropped;
          logger.warn(`traces: ${counts.dropped} span(s) dropped so far, ${counts.exported} exported${counts.lastError ? ` (last error: ${counts.lastError})` : ''}`);
        }, options.reportEveryMs ?? 60_000);
        timer.unref();
        stops.push(async () => {
          clearInterval(timer);
          await exp.shutdown().catch(() => {});
          const counts = exp.counts();
          logger.info(`traces: ${counts.exported} span(s) exported, ${counts.dropped} dropped`);
        });
        telemetry = {
          observers,
          wrapInvoke: (invoke) => exp.wrapInvoke(invoke),
          status: () => {
            const counts = exp.counts();
            return { exported: counts.exported, dropped: counts.dropped, lastError: counts.lastError };
          },
        };
      }
      if (metricsConfig) {
        const metrics = await otel.createMetricsObserver({
          ...metricsConfig,
          describeAgent,
          ...(options.queueCounts ? { queueCounts: options.queueCounts } : {}),
          ...(options.approvalsPending ? { approvalsPending: options.approvalsPending } : {}),
          // This process's warm agent CLIs (docs/sessions.md) and their resident memory.
          sessionPool: () => sessionPool.stats(),
        });
        observers.push(metrics.observer);
        logger.info(`exporting metrics over OTLP ${metricsConfig.protocol} every ${metricsConfig.exportIntervalMillis / 1000} s`);
        stops.push(() => metrics.shutdown().catch(() => {}));
      }
      stop = async () => {
        await Promise.all(stops.map((fn) => fn()));
      };
      return telemetry;
    },
    stop: () => stop(),
  };
}
