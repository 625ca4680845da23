/**
 * OpenTelemetry trace export for the daemon and worker nodes (@tinyagi/otel, docs/telemetry.md).
 * Off unless the settings' `telemetry.enabled` or OTEL_TRACES_EXPORTER=otlp says on; when off,
 * only the small config module is loaded: the SDK and the exporters are imported on demand.
 * Read at start: a change of the `telemetry` block applies at the next restart.
 *
 * The export never hurts the daemon: spans wait in a bounded queue, a failed export drops its
 * spans and counts them, and the counts are logged (at most once a minute, when something was
 * dropped) and at shutdown.
 */
import type { InvokeRequest, InvokeResult, Observer, Settings } from '@tinyagi/core';
import { resolveTraceExport, type TelemetrySettings } from '@tinyagi/otel/config';

interface TelemetryLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface Telemetry {
  /** For the Orchestrator's `observers` option: empty when export is off. */
  observers: Observer[];
  /** The orchestrator's invoker with TRACEPARENT for every CLI a run launches (the invoker itself when off). */
  wrapInvoke(invoke: (req: InvokeRequest) => Promise<InvokeResult>): (req: InvokeRequest) => Promise<InvokeResult>;
  /** Spans exported and dropped so far; null when off. */
  status(): { exported: number; dropped: number; lastError: string | undefined } | null;
}

/** What a daemon service needs: start (returns the observers) and stop (flushes, then ends the exporter). */
export function telemetryService(settings: Settings, env: NodeJS.ProcessEnv, logger: TelemetryLogger, getSettings: () => Settings, reportEveryMs = 60_000) {
  let stop: () => Promise<void> = async () => {};
  return {
    name: 'telemetry',
    async start(): Promise<Telemetry> {
      const config = resolveTraceExport((settings as { telemetry?: TelemetrySettings }).telemetry, env);
      if (!config) return { observers: [], wrapInvoke: (invoke) => invoke, status: () => null };
      const { createTraceObserver, agentsFromSettings } = await import('@tinyagi/otel');
      const exp = await createTraceObserver({ ...config, describeAgent: agentsFromSettings(getSettings) });
      const where = config.url ?? env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? 'the exporter default';
      logger.info(`exporting traces over OTLP ${config.protocol} to ${where} (sampling ${config.sampleRatio}, content ${config.captureContent ? 'on' : 'off'})`);
      let reported = 0;
      const report = () => {
        const counts = exp.counts();
        if (counts.dropped === reported) return;
        reported = counts.dropped;
        logger.warn(`traces: ${counts.dropped} span(s) dropped so far, ${counts.exported} exported${counts.lastError ? ` (last error: ${counts.lastError})` : ''}`);
      };
      const timer = setInterval(report, reportEveryMs);
      timer.unref();
      stop = async () => {
        clearInterval(timer);
        await exp.shutdown().catch(() => {});
        const counts = exp.counts();
        logger.info(`traces: ${counts.exported} span(s) exported, ${counts.dropped} dropped`);
      };
      return {
        observers: [exp.observer],
        wrapInvoke: (invoke) => exp.wrapInvoke(invoke),
        status: () => ({ exported: exp.counts().exported, dropped: exp.counts().dropped, lastError: exp.counts().lastError }),
      };
    },
    stop: () => stop(),
  };
}
