/**
 * A real OTLP receiver on a loopback port (the telemetry tests of packages/otel and the real-CLI
 * tests, where the agent CLIs export their own telemetry to it): HTTP (`POST /v1/traces` and
 * `/v1/metrics`, protobuf or JSON; `/v1/logs`, JSON only) or gRPC (the collector's `TraceService/Export` and `MetricsService/Export`). Protobuf
 * is decoded with the classes generated from the official opentelemetry-proto definitions
 * (@opentelemetry/otlp-transformer 0.215's protobufjs root, installed as `otlp-proto-decoder`),
 * not by hand.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: protobufjs' generated static root is untyped here.
const root: any = require('otlp-proto-decoder/build/src/generated/root.js');
const collector = root.opentelemetry.proto.collector.trace.v1;
const metricsCollector = root.opentelemetry.proto.collector.metrics.v1;

/** One log record, OTLP/JSON only (the generated root has no logs messages): an agent CLI's events: Claude Code's `claude_code.*`, Codex's `codex.*`). */
export interface ReceivedLog {
  /** The record's `event.name` attribute, else its body when a string. */
  name: string;
  body: unknown;
  traceId: string;
  spanId: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

/** One data point of a metric: a sum's or gauge's value, or a histogram's count and sum. */
export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, unknown>;
  value?: number;
  count?: number;
  sum?: number;
  /** A histogram's buckets: their upper bounds and the count in each (one more than bounds), its min and max. */
  bounds?: number[];
  bucketCounts?: number[];
  min?: number;
  max?: number;
  /** A histogram's aggregation temporality (1 delta, 2 cumulative). */
  temporality?: number;
  /** The resource attributes of the process that sent it. */
  resource?: Record<string, unknown>;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, unknown> }>;
  status: { code: number; message: string };
  resource: Record<string, unknown>;
}

function hex(value: unknown): string {
  if (value == null || value === '') return '';
  if (typeof value === 'string') return value.toLowerCase(); // OTLP/JSON: ids are hex strings
  return Buffer.from(value as Uint8Array).toString('hex');
}

function anyValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v['stringValue'];
  if ('boolValue' in v) return v['boolValue'];
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('arrayValue' in v) return ((v['arrayValue'] as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  return undefined;
}

function attrs(list: Array<{ key: string; value?: Record<string, unknown> }> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

const nanosToMs = (n: unknown) => Number(BigInt(String(n ?? 0)) / 1_000_000n);

// biome-ignore lint/suspicious/noExplicitAny: the decoded request, as protobufjs' toObject or OTLP/JSON gives it.
function flatten(request: any): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: Number(s.kind ?? 0),
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          // biome-ignore lint/suspicious/noExplicitAny: decoded message
          events: (s.events ?? []).map((e: any) => ({ name: e.name, attributes: attrs(e.attributes) })),
          // biome-ignore lint/suspicious/noExplicitAny: decoded message
          links: (s.links ?? []).map((l: any) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attrs(l.attributes) })),
          status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? '' },
          resource,
        });
  }
  return spans;
}

// biome-ignore lint/suspicious/noExplicitAny: the decoded request, as protobufjs' toObject or OTLP/JSON gives it.
function flattenLogs(request: any): ReceivedLog[] {
  const logs: ReceivedLog[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = attrs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? [])
      for (const r of sl.logRecords ?? []) {
        const attributes = attrs(r.attributes);
        const body = anyValue(r.body);
        logs.push({ name: String(attributes['event.name'] ?? (typeof body === 'string' ? body : '')), body, traceId: hex(r.traceId), spanId: hex(r.spanId), attributes, resource });
      }
  }
  return logs;
}

function decodeProtobuf(body: Buffer): ReceivedSpan[] {
  const message = collector.ExportTraceServiceRequest.decode(body);
  return flatten(collector.ExportTraceServiceRequest.toObject(message, { longs: String, enums: Number, bytes: Buffer, defaults: false }));
}

// biome-ignore lint/suspicious/noExplicitAny: the decoded request, as protobufjs' toObject or OTLP/JSON gives it.
function flattenMetrics(request: any): ReceivedPoint[] {
  const points: ReceivedPoint[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) {
        const data = m.sum ?? m.gauge;
        for (const p of data?.dataPoints ?? []) points.push({ metric: m.name, unit: m.unit ?? '', attributes: attrs(p.attributes), value: Number(p.asDouble ?? p.asInt ?? 0), resource });
        for (const p of m.histogram?.dataPoints ?? [])
          points.push({
            metric: m.name,
            unit: m.unit ?? '',
            attributes: attrs(p.attributes),
            count: Number(p.count ?? 0),
            sum: Number(p.sum ?? 0),
            bounds: (p.explicitBounds ?? []).map(Number),
            bucketCounts: (p.bucketCounts ?? []).map(Number),
            min: Number(p.min),
            max: Number(p.max),
            temporality: Number(m.histogram.aggregationTemporality),
            resource,
          });
      }
  }
  return points;
}

export interface Receiver {
  /** Base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Metric data points received, in arrival order. */
  points: ReceivedPoint[];
  /** Log records received (`/v1/logs`, HTTP only), in arrival order. */
  logs: ReceivedLog[];
  /** Requests received, with their content type (and status answered). */
  requests: Array<{ contentType: string; status: number; headers: Record<string, string | string[] | undefined> }>;
  /** What the next requests get: 200 (accept), 500, or `hang` (never answer). */
  mode: 200 | 500 | 'hang';
  close(): Promise<void>;
}

export async function httpReceiver(): Promise<Receiver> {
  const hanging: Array<() => void> = [];
  const receiver: Receiver = { endpoint: '', spans: [], points: [], logs: [], requests: [], mode: 200, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      if (receiver.mode === 'hang') {
        receiver.requests.push({ contentType, status: 0, headers: req.headers });
        hanging.push(() => res.destroy());
        return;
      }
      if (receiver.mode === 500 || (req.url !== '/v1/traces' && req.url !== '/v1/metrics' && req.url !== '/v1/logs')) {
        const status = receiver.mode === 500 ? 500 : 404;
        receiver.requests.push({ contentType, status, headers: req.headers });
        res.writeHead(status).end();
        return;
      }
      const body = Buffer.concat(chunks);
      if (req.url === '/v1/logs') {
        // Logs over OTLP/JSON only: the official generated classes this receiver decodes with have no logs messages.
        const status = contentType.includes('json') ? 200 : 415;
        if (status === 200) receiver.logs.push(...flattenLogs(JSON.parse(body.toString('utf8'))));
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
        receiver.requests.push({ contentType, status, headers: req.headers });
        return;
      }
      if (req.url === '/v1/metrics') {
        if (contentType.includes('json')) receiver.points.push(...flattenMetrics(JSON.parse(body.toString('utf8'))));
        else
          receiver.points.push(
            ...flattenMetrics(
              metricsCollector.ExportMetricsServiceRequest.toObject(metricsCollector.ExportMetricsServiceRequest.decode(body), { longs: String, enums: Number, bytes: Buffer, defaults: false }),
            ),
          );
        res
          .writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' })
          .end(contentType.includes('json') ? '{}' : metricsCollector.ExportMetricsServiceResponse.encode({}).finish());
        receiver.requests.push({ contentType, status: 200, headers: req.headers });
        return;
      }
      if (contentType.includes('json')) {
        receiver.spans.push(...flatten(JSON.parse(body.toString('utf8'))));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        receiver.spans.push(...decodeProtobuf(body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(collector.ExportTraceServiceResponse.encode({}).finish());
      }
      receiver.requests.push({ contentType, status: 200, headers: req.headers });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = async () => {
    for (const end of hanging.splice(0)) end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

/** The collector's gRPC trace service, its one method described by hand, its messages by the official generated classes. */
export async function grpcReceiver(): Promise<Receiver> {
  const receiver: Receiver = { endpoint: '', spans: [], points: [], logs: [], requests: [], mode: 200, close: async () => {} };
  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: unknown) => Buffer.from(collector.ExportTraceServiceRequest.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => decodeProtobuf(bytes),
      responseSerialize: (value: unknown) => Buffer.from(collector.ExportTraceServiceResponse.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => collector.ExportTraceServiceResponse.decode(bytes),
    },
  };
  const metricsDefinition: grpc.ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: unknown) => Buffer.from(metricsCollector.ExportMetricsServiceRequest.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) =>
        flattenMetrics(
          metricsCollector.ExportMetricsServiceRequest.toObject(metricsCollector.ExportMetricsServiceRequest.decode(bytes), { longs: String, enums: Number, bytes: Buffer, defaults: false }),
        ),
      responseSerialize: (value: unknown) => Buffer.from(metricsCollector.ExportMetricsServiceResponse.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => metricsCollector.ExportMetricsServiceResponse.decode(bytes),
    },
  };
  server.addService(metricsDefinition, {
    Export: (call: grpc.ServerUnaryCall<ReceivedPoint[], unknown>, callback: grpc.sendUnaryData<unknown>) => {
      receiver.requests.push({ contentType: 'application/grpc', status: 200, headers: call.metadata.getMap() as Record<string, string> });
      receiver.points.push(...call.request);
      callback(null, {});
    },
  });
  server.addService(definition, {
    Export: (call: grpc.ServerUnaryCall<ReceivedSpan[], unknown>, callback: grpc.sendUnaryData<unknown>) => {
      receiver.requests.push({ contentType: 'application/grpc', status: 200, headers: call.metadata.getMap() as Record<string, string> });
      receiver.spans.push(...call.request);
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  receiver.endpoint = `http://127.0.0.1:${port}`;
  receiver.close = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  return receiver;
}
