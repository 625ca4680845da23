/**
 * Daemon CPU with trace and metrics export on vs off, in the same run (issue 38's aim: at most
 * 5 % more). The built daemon (packages/cli/dist, `pnpm build` first) with 4 agents on the fake
 * `claude` CLI, as B0 sets it up; after WARMUP messages (default 50: the code the daemon runs
 * for the first time is compiled then, the export's serialiser included, once per daemon; their
 * CPU is reported apart), N messages posted through the REST API, one after another, until every
 * reply is in the outbox; daemon CPU is utime+stime from /proc/<pid>/stat over that window. "on"
 * exports OTLP/protobuf with the standard variables only, to a collector on loopback that keeps what
 * it gets during the window and hands it to a real receiver (test/receiver.ts) to decode after it. Runs alternate off/on (and which goes first) to spread the machine's noise.
 *
 * Metrics go out at OpenTelemetry's default interval (60 s) unless METRIC_INTERVAL (ms) says
 * otherwise; spans every 5 s (the batch processor's default). Spans received are counted after
 * the daemon stopped (its last batch included).
 *
 *   node --conditions=tinyagi-source packages/otel/bench/export-cpu.ts   # MESSAGES=200 RUNS=3 VARIANT=both|traces|metrics METRIC_INTERVAL=5000
 *
 * ON_ENV (JSON) adds variables to the "on" side (e.g. `{"OTEL_TRACES_SAMPLER":"traceidratio","OTEL_TRACES_SAMPLER_ARG":"0"}`).
 * DAEMON_ENV (JSON) adds variables to both sides (e.g. `{"TINYAGI_SNAPSHOT":"0"}`).
 * DAEMON_FLAGS adds node options to both sides (space-separated, e.g. `--maglev` or
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDaemon, FAKE_BIN_DIR, waitFor } from '@tinyagi/test-kit';
import { httpReceiver, type Receiver } from '../test/receiver.ts';

/**
 * The collector the daemon exports to: it answers at once and, while `holding`, keeps what it gets
 * undecoded, so that decoding (in this process, on the same two cores) stays out of the measured
 * window; `release()` hands what it kept to the real receiver. Not holding, it hands over at once.
 */
async function holdingCollector(receiver: Receiver): Promise<{ endpoint: string; holding: boolean; release(): Promise<void>; close(): Promise<void> }> {
  const kept: Array<{ path: string; type: string; body: Buffer }> = [];
  const forward = ({ path, type, body }: (typeof kept)[number]) =>
    fetch(`${receiver.endpoint}${path}`, { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(body) }).then((r) => r.arrayBuffer());
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const item = { path: req.url ?? '/', type: String(req.headers['content-type'] ?? ''), body: Buffer.concat(chunks) };
      if (collector.holding) kept.push(item);
      else void forward(item);
      res.writeHead(200, { 'content-type': item.type }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const collector = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    holding: false,
    release: async () => {
      for (const item of kept.splice(0)) await forward(item);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return collector;
}

const MESSAGES = Number(process.env['MESSAGES'] ?? 200);
const WARMUP = Number(process.env['WARMUP'] ?? 50);
const RUNS = Number(process.env['RUNS'] ?? 3);
const AGENTS = ['a1', 'a2', 'a3', 'a4'];
const DAEMON_FLAGS = (process.env['DAEMON_FLAGS'] ?? '').split(/\s+/).filter(Boolean);

/** utime and stime of the process, in seconds (clock ticks at 100 Hz). */
function cpuTimes(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** Resident memory in MB (VmRSS). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/** What "on" sets: traces and metrics (default); VARIANT=traces or metrics for one of them. */
function onEnv(endpoint: string): Record<string, string> {
  const variant = process.env['VARIANT'] ?? 'both';
  const env: Record<string, string> = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
  if (process.env['METRIC_INTERVAL']) env['OTEL_METRIC_EXPORT_INTERVAL'] = process.env['METRIC_INTERVAL'];
  if (variant !== 'metrics') env['OTEL_TRACES_EXPORTER'] = 'otlp';
  if (variant !== 'traces') env['OTEL_METRICS_EXPORTER'] = 'otlp';
  else env['OTEL_METRICS_EXPORTER'] = 'none';
  return { ...env, ...(process.env['ON_ENV'] ? (JSON.parse(process.env['ON_ENV']) as Record<string, string>) : {}) };
}

interface Pass {
  /** The warm-up's daemon CPU (the first messages after start: code compiled on first use, the first export). */
  warmupS: number;
  cpuS: number;
  userS: number;
  systemS: number;
  rssMb: number;
  wallS: number;
  spans: number;
}

async function once(exportOn: boolean): Promise<Pass> {
  const receiver = await httpReceiver();
  const collector = await holdingCollector(receiver);
  const daemon = await createDaemon({
    prefix: 'tinyagi-otel-bench-',
    path: [FAKE_BIN_DIR],
    env: { ...(process.env['DAEMON_ENV'] ? (JSON.parse(process.env['DAEMON_ENV']) as Record<string, string>) : {}), ...(exportOn ? onEnv(collector.endpoint) : {}) },
    ...(DAEMON_FLAGS.length > 0 ? { nodeOptions: DAEMON_FLAGS } : {}),
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      agents: Object.fromEntries(AGENTS.map((id) => [id, { provider: 'claude-code' }])),
      channels: { enabled: [] },
    }),
  });
  try {
    await daemon.start();
    const api = daemon.api;
    const send = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) await api.sendMessage({ body: { agent: AGENTS[i % AGENTS.length]!, message: `FAKE:reply=answer ${i}`, sender: 'bench', senderId: 'bench' } });
      await waitFor(
        async () => {
          const status = await api.queueStatus();
          return status.pending === 0 && status.processing === 0 ? true : undefined;
        },
        600_000,
        'every message answered',
        50,
      );
    };
    // Warm-up: the first messages after start compile the code they run (the export's serialiser
    // included: "on" waits for the first batch to reach the receiver), once per daemon.
    const start = cpuTimes(daemon.pid);
    if (WARMUP > 0) {
      await send(0, WARMUP);
      if (exportOn && process.env['VARIANT'] !== 'metrics') await waitFor(() => (receiver.spans.length >= WARMUP ? true : undefined), 60_000, 'the warm-up spans exported', 50);
    }
    collector.holding = true;
    const before = cpuTimes(daemon.pid);
    const t0 = performance.now();
    await send(WARMUP, MESSAGES);
    const wallS = (performance.now() - t0) / 1000;
    const after = cpuTimes(daemon.pid);
    const userS = after.user - before.user;
    const systemS = after.system - before.system;
    const rss = rssMb(daemon.pid);
    await daemon.stop();
    await collector.release();
    const warmupS = before.user + before.system - start.user - start.system;
    return { warmupS, cpuS: userS + systemS, userS, systemS, rssMb: rss, wallS, spans: receiver.spans.length };
  } finally {
    await daemon.cleanup();
    await collector.close();
    await receiver.close();
  }
}

const results: Record<'off' | 'on', Pass[]> = { off: [], on: [] };
for (let i = 0; i < RUNS; i++) {
  // Alternating which goes first, so a drift of the machine over the run favours neither.
  for (const mode of i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    const r = await once(mode === 'on');
    results[mode].push(r);
    process.stderr.write(`run ${i + 1}/${RUNS} ${mode}: ${JSON.stringify(r)}\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = median(results.off.map((r) => r.cpuS));
const on = median(results.on.map((r) => r.cpuS));
const pairs = results.on.map((r, i) => ((r.cpuS - results.off[i]!.cpuS) / results.off[i]!.cpuS) * 100);
// The mean of the pairs' differences with a 95 % bootstrap interval (resampling the pairs): the
// machine's noise moves single pairs by ±10 % or more, so the aim is judged on the interval.
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const boot = Array.from({ length: 5000 }, () => mean(pairs.map(() => pairs[Math.floor(Math.random() * pairs.length)]!))).sort((a, b) => a - b);
const interval = `mean of the pairs ${mean(pairs).toFixed(1)} % (95 % interval ${boot[Math.floor(boot.length * 0.025)]!.toFixed(1)} to ${boot[Math.floor(boot.length * 0.975)]!.toFixed(1)} %)`;
const side = (mode: 'off' | 'on', key: 'userS' | 'systemS' | 'rssMb' | 'warmupS') => median(results[mode].map((r) => r[key])).toFixed(2);
console.log(
  `${MESSAGES} messages after ${WARMUP} of warm-up, ${RUNS} runs each: daemon CPU median off ${off.toFixed(2)} s, on ${on.toFixed(2)} s (${(((on - off) / off) * 100).toFixed(1)} %; median of the pairs ${median(pairs).toFixed(1)} %, ${interval}, pairs ${pairs.map((p) => p.toFixed(1)).join(' / ')}); user ${side('off', 'userS')} → ${side('on', 'userS')} s, system ${side('off', 'systemS')} → ${side('on', 'systemS')} s; RSS at the end ${side('off', 'rssMb')} → ${side('on', 'rssMb')} MB; the warm-up's CPU ${side('off', 'warmupS')} → ${side('on', 'warmupS')} s; spans received (on): ${results.on.map((r) => r.spans).join(', ')}`,
);
