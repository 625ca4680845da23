/**
 * Spans recorded as plain data and handed straight to the export pipeline (the batch processor
 * and the OTLP exporter), without the SDK's tracer: the trace observer already knows every span's
 * ids (derived, ids.ts), its parent and whether its trace is sampled, so the tracer's context
 * lookups, sampler calls, id generator hand-off and attribute re-validation were pure cost (about
 * half of the export's CPU per run in B3, docs/benchmarks.md). What the exporter reads is the
 * SDK's `ReadableSpan`; what the observer writes is the small part of the Span API it uses.
 *
 * Limits as the SDK's were configured: string attribute values are cut to
 * `attributeValueLengthLimit`, events past `eventCountLimit` are dropped and counted.
 */
import { type Attributes, type AttributeValue, type HrTime, type Link, type SpanContext, SpanKind, SpanStatusCode, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';

export interface SpanLimits {
  attributeValueLengthLimit: number;
  eventCountLimit: number;
}

export interface SpanStart {
  name: string;
  traceId: string;
  spanId: string;
  /** The parent (a span of this process or a remote one); none: the trace's root. */
  parent?: SpanContext | undefined;
  /** Whether the trace is exported (its sampling decision). */
  sampled: boolean;
  attributes: Attributes;
  links?: Link[] | undefined;
  /** Epoch ms; now when left out. */
  startTime?: number | undefined;
}

/** Epoch milliseconds (fractions kept to the microsecond) as OpenTelemetry's [seconds, nanoseconds]. */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** Now, in epoch ms with the sub-millisecond part of the monotonic clock. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

export class RecordedSpan implements ReadableSpan {
  readonly name: string;
  readonly kind = SpanKind.INTERNAL;
  readonly parentSpanContext: SpanContext | undefined;
  readonly attributes: Attributes;
  readonly links: Link[];
  readonly events: TimedEvent[] = [];
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly droppedAttributesCount = 0;
  droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  startTime: HrTime;
  endTime: HrTime = [0, 0];
  duration: HrTime = [0, 0];
  ended = false;
  readonly #context: SpanContext;
  readonly #startMs: number;
  readonly #recorder: SpanRecorder;

  constructor(recorder: SpanRecorder, start: SpanStart) {
    this.#recorder = recorder;
    this.name = start.name;
    this.#context = { traceId: start.traceId, spanId: start.spanId, traceFlags: start.sampled ? 1 : 0 };
    this.parentSpanContext = start.parent;
    this.attributes = {};
    for (const key in start.attributes) this.setAttribute(key, start.attributes[key]);
    this.links = start.links ?? [];
    this.#startMs = start.startTime ?? now();
    this.startTime = hrTime(this.#startMs);
    this.resource = recorder.resource;
    this.instrumentationScope = recorder.scope;
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.ended || value === undefined) return this;
    const limit = this.#recorder.limits.attributeValueLengthLimit;
    this.attributes[key] = typeof value === 'string' && value.length > limit ? value.slice(0, limit) : value;
    return this;
  }

  /** An event at `time` (epoch ms; now when left out). */
  addEvent(name: string, attributes: Attributes = {}, time?: number): this {
    if (this.ended) return this;
    if (this.events.length >= this.#recorder.limits.eventCountLimit) {
      this.droppedEventsCount++;
      return this;
    }
    this.events.push({ name, attributes, time: hrTime(time ?? now()), droppedAttributesCount: 0 });
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (!this.ended) this.status = status;
    return this;
  }

  /** Ends the span at `time` (epoch ms; now when left out) and queues it for export; a second end does nothing. */
  end(time?: number): void {
    if (this.ended) return;
    const endMs = Math.max(time ?? now(), this.#startMs);
    this.ended = true;
    this.endTime = hrTime(endMs);
    this.duration = hrTime(endMs - this.#startMs);
    this.#recorder.ended(this);
  }
}

export class SpanRecorder {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly limits: SpanLimits;
  readonly #processor: SpanProcessor;

  constructor(processor: SpanProcessor, resource: Resource, scope: InstrumentationScope, limits: SpanLimits) {
    this.#processor = processor;
    this.resource = resource;
    this.scope = scope;
    this.limits = limits;
  }

  start(start: SpanStart): RecordedSpan {
    return new RecordedSpan(this, start);
  }

  ended(span: RecordedSpan): void {
    this.#processor.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#processor.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#processor.shutdown();
  }
}
