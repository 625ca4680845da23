/**
 * Metrics over OTLP, from the same notifications as the traces: runs by status, failed attempts
 * by failure class, tokens (the GenAI `gen_ai.client.token.usage` histogram), run duration
 * (`gen_ai.client.operation.duration`), cost, runs in progress, and — when the caller gives a
 * way to read them — the queue's messages by state. Every instrument carries the agent, its
 * runtime, the GenAI provider and the model; also the queue's pickup latency (from `claimed`),
 * approval decisions and their wait (from `approvalSettled`, told by the node whose run waits on the
 * request, so each is counted once across nodes), and — when the caller gives
 * a way to read them — approvals pending and the session pool's warm processes and memory.
 * Exported by the SDK's periodic reader (default every
 * 60 s, OTEL_METRIC_EXPORT_INTERVAL); a failed export loses that interval's delta only.
 */
import { type Attributes, type HrTime, type ObservableCounter, type ObservableUpDownCounter, ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricProducer,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { ApprovalSettledEvent, AttemptFailedEvent, ClaimedEvent, Observer, RunEndedEvent, RunStartedEvent } from '@tinyagi/core';
import { providerName, type DescribeAgent } from './agents.ts';
import type { OtlpProtocol } from './config.ts';
import { decidedBySurface } from './approvals.ts';
import { grpcMetadata, preloadHttpTransport } from './export.ts';
import { ERROR_TYPE, GEN_AI, OPERATION, TINYAGI } from './semconv.ts';

export interface QueueCountsLike {
  pending: number;
  processing: number;
  dead: number;
}

/** The warm CLI processes of the session pool (core's `sessionPool.stats()`). */
export interface SessionPoolStatsLike {
  sessions: number;
  busy: number;
  /** Resident memory of the warm processes, in bytes (0 where it cannot be read). */
  memoryBytes: number;
}

type Awaitable<T> = T | Promise<T>;

export interface MetricsObserverOptions {
  /** The full URL (`…/v1/metrics` for HTTP); undefined: the exporter's own (OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT). */
  url?: string | undefined;
  protocol?: OtlpProtocol | undefined;
  headers?: Record<string, string> | undefined;
  serviceName?: string | undefined;
  describeAgent?: DescribeAgent | undefined;
  /** How often metrics are sent. Default 60 s (resolveMetricsExport reads OTEL_METRIC_EXPORT_INTERVAL). */
  exportIntervalMillis?: number | undefined;
  exportTimeoutMillis?: number | undefined;
  /** The queue's messages by state, read at each export (e.g. `() => stores.queue.counts()`). */
  queueCounts?: (() => QueueCountsLike | Promise<QueueCountsLike>) | undefined;
  /** Approval requests waiting for a person, by kind (`permission`, `question`), read at each export (e.g. from the approvals store). */
  approvalsPending?: (() => Awaitable<Record<string, number>>) | undefined;
  /** The session pool's warm processes and their memory, read at each export (e.g. `() => sessionPool.stats()`). */
  sessionPool?: (() => Awaitable<SessionPoolStatsLike>) | undefined;
}

export interface MetricsExport {
  readonly observer: Observer;
  /** Sends the current values now (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const SCOPE = { name: '@tinyagi/otel', version: '0.1.0' };

/** Queue pickup latency and approval waits, in seconds: from a few milliseconds to an hour. */
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** gen_ai.client.token.usage's advised buckets (semantic conventions). */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** gen_ai.client.operation.duration's advised buckets, in seconds, extended for agent runs that take minutes. */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68, 655.36, 1310.72];

async function createMetricExporter(protocol: OtlpProtocol, config: { url?: string; headers?: Record<string, string>; timeoutMillis?: number }): Promise<PushMetricExporter> {
  // Delta: each export says what happened since the last, so a lost export loses only its interval (the few sums kept here are cumulative: the SDK sends their change).
  const common = { ...config, temporalityPreference: AggregationTemporality.DELTA };
  switch (protocol) {
    case 'http/protobuf': {
      const [{ OTLPMetricExporter }] = await Promise.all([import('@opentelemetry/exporter-metrics-otlp-proto'), preloadHttpTransport(config.url, 'METRICS')]);
      return new OTLPMetricExporter(common);
    }
    case 'http/json': {
      const [{ OTLPMetricExporter }] = await Promise.all([import('@opentelemetry/exporter-metrics-otlp-http'), preloadHttpTransport(config.url, 'METRICS')]);
      return new OTLPMetricExporter(common);
    }
    case 'grpc': {
      const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
      const { headers, ...rest } = common;
      return new OTLPMetricExporter({ ...rest, ...(headers ? { metadata: await grpcMetadata(headers) } : {}) });
    }
  }
}

interface AgentAttributes {
  key: string;
  attrs: Attributes;
  /** The same with `gen_ai.token.type` input / output (the token histogram's two series). */
  input: Attributes;
  output: Attributes;
}

/**
 * Sums by attribute set, kept here and observed at each export (cumulative; the exporter turns
 * them into deltas). One entry per agent (and status) ever counted: a few hundred at most.
 */
class Sums {
  readonly #sums = new Map<string, { attrs: Attributes; value: number }>();

  add(key: string, attrs: Attributes | (() => Attributes), value: number): void {
    const entry = this.#sums.get(key);
    if (entry) entry.value += value;
    else this.#sums.set(key, { attrs: typeof attrs === 'function' ? attrs() : attrs, value });
  }

  observeAs(instrument: ObservableCounter | ObservableUpDownCounter): void {
    instrument.addCallback((result) => {
      for (const { attrs, value } of this.#sums.values()) result.observe(value, attrs);
    });
  }
}

interface HistogramPoint {
  attrs: Attributes;
  /** One per bucket: `boundaries.length + 1` (the last counts what is above every boundary). */
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * An explicit-bucket histogram recorded by attribute-set key and handed to the reader at each
 * collection as a delta (what was recorded since the last one). The SDK's synchronous histogram
 * hashes the attribute set on every record (sorted keys, JSON): in the daemon, whose optimising
 * compilers are off, that was most of the metrics' cost per run; here a record is a map lookup
 * and a bucket search. The data goes out through the same reader and exporter as the rest.
 */
class HistogramSums {
  readonly #points = new Map<string, HistogramPoint>();
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly boundaries: number[];

  constructor(name: string, options: { unit: string; description: string; boundaries: number[] }) {
    this.name = name;
    this.unit = options.unit;
    this.description = options.description;
    this.boundaries = options.boundaries;
  }

  record(key: string, attrs: Attributes | (() => Attributes), value: number): void {
    let point = this.#points.get(key);
    if (!point) {
      point = { attrs: typeof attrs === 'function' ? attrs() : attrs, counts: new Array<number>(this.boundaries.length + 1).fill(0), count: 0, sum: 0, min: value, max: value };
      this.#points.set(key, point);
    }
    // Upper bounds are inclusive (OpenTelemetry's explicit buckets): the first boundary >= value.
    let bucket = 0;
    while (bucket < this.boundaries.length && value > this.boundaries[bucket]!) bucket++;
    point.counts[bucket]!++;
    point.count++;
    point.sum += value;
    if (value < point.min) point.min = value;
    if (value > point.max) point.max = value;
  }

  /** What was recorded since `start` (then forgotten), or nothing if nothing was. */
  collect(start: HrTime, end: HrTime): HistogramMetricData | undefined {
    if (this.#points.size === 0) return undefined;
    const dataPoints = [...this.#points.values()].map((p) => ({
      startTime: start,
      endTime: end,
      attributes: p.attrs,
      value: { buckets: { boundaries: this.boundaries, counts: p.counts }, count: p.count, sum: p.sum, min: p.min, max: p.max },
    }));
    this.#points.clear();
    return {
      descriptor: { name: this.name, unit: this.unit, description: this.description, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.DELTA,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints,
    };
  }
}

/** The histograms above as a metric producer of the reader (its resource is ignored: the reader's is used). */
function histogramProducer(histograms: HistogramSums[], scope: { name: string; version: string }): MetricProducer {
  const resource = resourceFromAttributes({});
  let since = millisToHrTime(Date.now());
  return {
    async collect(): Promise<CollectionResult> {
      const now = millisToHrTime(Date.now());
      const metrics = histograms.map((h) => h.collect(since, now)).filter((m) => m !== undefined);
      since = now;
      return { resourceMetrics: { resource, scopeMetrics: metrics.length > 0 ? [{ scope, metrics }] : [] }, errors: [] };
    },
  };
}

/** Creates the metrics observer and its periodic OTLP export. */
export async function createMetricsObserver(options: MetricsObserverOptions = {}): Promise<MetricsExport> {
  const exporter = await createMetricExporter(options.protocol ?? 'http/protobuf', {
    ...(options.url ? { url: options.url } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.exportTimeoutMillis ? { timeoutMillis: options.exportTimeoutMillis } : {}),
  });
  // The per-run histograms, recorded here (HistogramSums) and collected with the SDK's instruments.
  const tokens = new HistogramSums('gen_ai.client.token.usage', { unit: '{token}', description: 'Tokens used by agent runs (input and output)', boundaries: TOKEN_BUCKETS });
  const duration = new HistogramSums('gen_ai.client.operation.duration', { unit: 's', description: 'Duration of agent runs, from start to end', boundaries: DURATION_BUCKETS });
  const pickup = new HistogramSums('tinyagi.queue.pickup_latency', {
    unit: 's',
    description: 'From a message becoming claimable (enqueued, or its backoff over) to a worker claiming it',
    boundaries: WAIT_BUCKETS,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: options.exportIntervalMillis ?? 60_000,
    exportTimeoutMillis: Math.min(options.exportTimeoutMillis ?? 30_000, options.exportIntervalMillis ?? 60_000),
    metricProducers: [histogramProducer([tokens, duration, pickup], SCOPE)],
  });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'tinyagi' }), readers: [reader] });
  const meter = provider.getMeter(SCOPE.name, SCOPE.version);

  // Counted here and read at each export (observable instruments): a synchronous add costs an attribute hash in the SDK on every run, this a map lookup.
  const runs = new Sums();
  const cost = new Sums();
  const active = new Sums();
  runs.observeAs(meter.createObservableCounter('tinyagi.runs', { unit: '{run}', description: 'Runs ended, by status' }));
  cost.observeAs(meter.createObservableCounter('tinyagi.usage.cost', { unit: 'USD', description: 'Cost reported by agent runs' }));
  active.observeAs(meter.createObservableUpDownCounter('tinyagi.runs.active', { unit: '{run}', description: 'Runs in progress in this process' }));
  const failures = meter.createCounter('tinyagi.run.attempt_failures', { unit: '{attempt}', description: 'Failed attempts of runs, by failure class' });
  const decisions = meter.createCounter('tinyagi.approval.decisions', { unit: '{approval}', description: 'Approval requests answered, expired or cancelled, by outcome' });
  const approvalWait = meter.createHistogram('tinyagi.approval.wait', {
    unit: 's',
    description: 'From an approval request to its answer, expiry or cancellation',
    advice: { explicitBucketBoundaries: WAIT_BUCKETS },
  });
  if (options.approvalsPending) {
    const read = options.approvalsPending;
    meter.createObservableGauge('tinyagi.approvals.pending', { unit: '{approval}', description: 'Approval requests waiting for a person, by kind' }).addCallback(async (result) => {
      const byKind = await read();
      for (const kind of new Set(['permission', 'question', ...Object.keys(byKind)])) result.observe(byKind[kind] ?? 0, { 'tinyagi.approval.kind': kind });
    });
  }
  if (options.sessionPool) {
    const read = options.sessionPool;
    const sessions = meter.createObservableGauge('tinyagi.sessions', { unit: '{session}', description: 'Warm agent CLI processes in the session pool, by state' });
    const memory = meter.createObservableGauge('tinyagi.sessions.memory', { unit: 'By', description: 'Resident memory of the warm agent CLI processes' });
    meter.addBatchObservableCallback(
      async (result) => {
        const stats = await read();
        result.observe(sessions, stats.busy, { 'tinyagi.session.state': 'busy' });
        result.observe(sessions, Math.max(0, stats.sessions - stats.busy), { 'tinyagi.session.state': 'idle' });
        result.observe(memory, stats.memoryBytes);
      },
      [sessions, memory],
    );
  }
  if (options.queueCounts) {
    const read = options.queueCounts;
    meter.createObservableGauge('tinyagi.queue.messages', { unit: '{message}', description: 'Queue messages by state' }).addCallback(async (result) => {
      const counts = await read();
      for (const state of ['pending', 'processing', 'dead'] as const) result.observe(counts[state], { 'tinyagi.queue.state': state });
    });
  }

  const cache = new Map<string, AgentAttributes>();
  /** An agent's attributes (as the settings describe it now) and a key naming that set. */
  const agentOf = (agentId: string): AgentAttributes => {
    const agent = options.describeAgent?.(agentId);
    const key = `${agentId}\u0000${agent?.runtime ?? ''}\u0000${agent?.model ?? ''}`;
    let found = cache.get(key);
    if (!found) {
      const attrs: Attributes = { [GEN_AI.operationName]: OPERATION.invokeAgent, [GEN_AI.agentId]: agentId, [GEN_AI.providerName]: providerName(agent?.runtime, agent?.model) };
      if (agent?.model) attrs[GEN_AI.requestModel] = agent.model;
      if (agent?.runtime) attrs[TINYAGI.runtime] = agent.runtime;
      found = { key, attrs, input: { ...attrs, 'gen_ai.token.type': 'input' }, output: { ...attrs, 'gen_ai.token.type': 'output' } };
      if (cache.size > 1000) cache.clear();
      cache.set(key, found);
    }
    return found;
  };
  const attributesOf = (run: { agentId: string }): Attributes => agentOf(run.agentId).attrs;
  /** Runs started here and not ended, with the attribute set their start was counted under. */
  const running = new Map<string, AgentAttributes>();
  const spend = (agent: AgentAttributes, usage: { inputTokens: number; outputTokens: number } | undefined, costUsd: number | undefined) => {
    if (usage?.inputTokens) tokens.record(`${agent.key}\u0000input`, agent.input, usage.inputTokens);
    if (usage?.outputTokens) tokens.record(`${agent.key}\u0000output`, agent.output, usage.outputTokens);
    if (costUsd) cost.add(agent.key, agent.attrs, costUsd);
  };

  const observer: Observer = {
    name: 'otel-metrics-export',
    claimed({ agentId, availableAt, at }: ClaimedEvent) {
      const agent = agentOf(agentId);
      for (const t of availableAt ?? []) pickup.record(agent.key, agent.attrs, Math.max(0, at - t) / 1000);
    },
    runStarted({ run }: RunStartedEvent) {
      if (running.has(run.id)) return;
      const agent = agentOf(run.agentId);
      running.set(run.id, agent);
      active.add(agent.key, agent.attrs, 1);
    },
    attemptFailed({ run, errorClass, usage, costUsd }: AttemptFailedEvent) {
      const agent = agentOf(run.agentId);
      failures.add(1, { ...agent.attrs, [ERROR_TYPE]: errorClass });
      spend(agent, usage, costUsd);
    },
    runEnded({ run, status, usage, costUsd }: RunEndedEvent) {
      const agent = agentOf(run.agentId);
      runs.add(`${agent.key}\u0000${status}`, () => ({ ...agent.attrs, [TINYAGI.status]: status }), 1);
      spend(agent, usage, costUsd);
      const started = running.get(run.id);
      if (started) {
        running.delete(run.id);
        active.add(started.key, started.attrs, -1);
      }
      if (run.startedAt) {
        // Another node may have started it: a clock behind ours is no negative duration.
        const seconds = Math.max(0, Date.now() - run.startedAt) / 1000;
        if (status === 'completed') duration.record(agent.key, agent.attrs, seconds);
        else duration.record(`${agent.key}\u0000${status}`, () => ({ ...agent.attrs, [ERROR_TYPE]: status }), seconds);
      }
    },
    // Told once per request by the node whose run waits on it (wherever it was decided).
    approvalSettled({ approval }: ApprovalSettledEvent) {
      const outcome: Attributes = { ...attributesOf(approval), 'tinyagi.approval.kind': approval.kind, 'tinyagi.approval.status': approval.status };
      const attrs: Attributes = { ...outcome, 'tinyagi.approval.decided_by': decidedBySurface(approval.decidedBy) };
      if (approval.decision) attrs['tinyagi.approval.decision'] = approval.decision;
      decisions.add(1, attrs);
      if (approval.decidedAt) approvalWait.record(Math.max(0, approval.decidedAt - approval.requestedAt) / 1000, outcome);
    },
  };
  return {
    observer,
    // A failed export loses its interval; flushing and stopping never throw because of it.
    flush: () => provider.forceFlush().catch(() => {}),
    shutdown: () => provider.shutdown().catch(() => {}),
  };
}
