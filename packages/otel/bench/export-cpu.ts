/**
 * Daemon CPU with trace and metrics export on vs off, in the same run (issue 38's aim: at most
 * 5 % more; `BENCH=B17 pnpm bench` runs this for docs/benchmarks.md). The built daemon
 * (packages/cli/dist, `pnpm build` first) with 4 agents on the fake `claude` CLI, as B0 sets it
 * up. Each pair starts two daemons, export off and on, side by side: after WARMUP messages to
 * each (default 50: the code the daemon runs for the first time is compiled then, the export's
 * serialiser included; their CPU is reported apart), MESSAGES are posted through the REST API,
 * each to both daemons in turn (which first alternates), until every reply is in both outboxes;
 * daemon CPU is utime+stime from /proc/<pid>/stat over that window, the same window for both, so
 * the machine's noise (single pairs one after the other moved by ±15 % here) weighs on both.
 * SEQUENTIAL=1 runs the two daemons of a pair one after the other instead. Which starts first
 * alternates from pair to pair. "on" exports OTLP/protobuf with the standard variables only, to a
 * collector on loopback that keeps what it gets during the window and hands it to a real
 * receiver (test/receiver.ts) to decode after it.
 *
 * Metrics go out at OpenTelemetry's default interval (60 s) unless METRIC_INTERVAL (ms) says
 * otherwise; spans every 5 s (the batch processor's default). Spans received are counted after
 * the daemon stopped (its last batch included).
 *
 *   node --conditions=tinyagi-source packages/otel/bench/export-cpu.ts   # MESSAGES=200 RUNS=3 VARIANT=both|traces|metrics METRIC_INTERVAL=5000 SEQUENTIAL=1 MARKDOWN=1
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
const SEQUENTIAL = process.env['SEQUENTIAL'] === '1';

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

/** One daemon of a pair, export off or on, with the collector and receiver it exports to. */
interface Side {
  exportOn: boolean;
  pid: number;
  receiver: Receiver;
  collector: Awaited<ReturnType<typeof holdingCollector>>;
  post(i: number): Promise<unknown>;
  answered(): Promise<boolean>;
  stop(): Promise<unknown>;
  cleanup(): Promise<void>;
}

async function startSide(exportOn: boolean): Promise<Side> {
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
  await daemon.start();
  const api = daemon.api;
  return {
    exportOn,
    pid: daemon.pid,
    receiver,
    collector,
    post: (i) => api.sendMessage({ body: { agent: AGENTS[i % AGENTS.length]!, message: `FAKE:reply=answer ${i}`, sender: 'bench', senderId: 'bench' } }),
    answered: async () => {
      const status = await api.queueStatus();
      return status.pending === 0 && status.processing === 0;
    },
    stop: () => daemon.stop(),
    cleanup: async () => {
      await daemon.cleanup();
      await collector.close();
      await receiver.close();
    },
  };
}

/**
 * Messages `from` to `from + count` posted to the sides, the same message to each in turn (which
 * side first alternates), then waits until every side has answered all of them.
 */
async function send(sides: Side[], from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) await side.post(i);
  }
  await waitFor(async () => ((await Promise.all(sides.map((s) => s.answered()))).every(Boolean) ? true : undefined), 600_000, 'every message answered', 50);
}

/**
 * One pair: the sides started (in `order`), warmed up, and measured over the same MESSAGES. Side
 * by side (the default), both daemons run at once and get each message in turn, so whatever else
 * the machine does in that window weighs on both; SEQUENTIAL=1 measures one daemon after the other.
 */
async function pair(order: Array<'off' | 'on'>): Promise<Record<'off' | 'on', Pass>> {
  const groups = SEQUENTIAL ? order.map((mode) => [mode]) : [order];
  const passes: Partial<Record<'off' | 'on', Pass>> = {};
  for (const group of groups) {
    const sides: Side[] = [];
    try {
      for (const mode of group) sides.push(await startSide(mode === 'on'));
      // Warm-up: the first messages after start compile the code they run (the export's
      // serialiser included: "on" waits for the first batch to reach the receiver), once per daemon.
      const start = sides.map((s) => cpuTimes(s.pid));
      if (WARMUP > 0) {
        await send(sides, 0, WARMUP);
        for (const side of sides.filter((s) => s.exportOn && process.env['VARIANT'] !== 'metrics'))
          await waitFor(() => (side.receiver.spans.length >= WARMUP ? true : undefined), 60_000, 'the warm-up spans exported', 50);
      }
      for (const side of sides) side.collector.holding = true;
      const before = sides.map((s) => cpuTimes(s.pid));
      const t0 = performance.now();
      await send(sides, WARMUP, MESSAGES);
      const wallS = (performance.now() - t0) / 1000;
      const after = sides.map((s) => cpuTimes(s.pid));
      const rss = sides.map((s) => rssMb(s.pid));
      for (const [k, side] of sides.entries()) {
        await side.stop();
        await side.collector.release();
        const userS = after[k]!.user - before[k]!.user;
        const systemS = after[k]!.system - before[k]!.system;
        const warmupS = before[k]!.user + before[k]!.system - start[k]!.user - start[k]!.system;
        passes[side.exportOn ? 'on' : 'off'] = { warmupS, cpuS: userS + systemS, userS, systemS, rssMb: rss[k]!, wallS, spans: side.receiver.spans.length };
      }
    } finally {
      for (const side of sides) await side.cleanup();
    }
  }
  return passes as Record<'off' | 'on', Pass>;
}

const results: Record<'off' | 'on', Pass[]> = { off: [], on: [] };
for (let i = 0; i < RUNS; i++) {
  // Alternating which starts (and, side by side, which gets each message) first, so neither is favoured.
  const passes = await pair(i % 2 === 0 ? ['off', 'on'] : ['on', 'off']);
  for (const mode of ['off', 'on'] as const) {
    results[mode].push(passes[mode]);
    process.stderr.write(`run ${i + 1}/${RUNS} ${mode}: ${JSON.stringify(passes[mode])}\n`);
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
const summary = `${MESSAGES} messages after ${WARMUP} of warm-up, ${RUNS} ${SEQUENTIAL ? 'pairs one daemon after the other' : 'pairs side by side'}: daemon CPU median off ${off.toFixed(2)} s, on ${on.toFixed(2)} s (${(((on - off) / off) * 100).toFixed(1)} %; median of the pairs ${median(pairs).toFixed(1)} %, ${interval}, pairs ${pairs.map((p) => p.toFixed(1)).join(' / ')}); user ${side('off', 'userS')} → ${side('on', 'userS')} s, system ${side('off', 'systemS')} → ${side('on', 'systemS')} s; RSS at the end ${side('off', 'rssMb')} → ${side('on', 'rssMb')} MB; the warm-up's CPU ${side('off', 'warmupS')} → ${side('on', 'warmupS')} s; spans received (on): ${results.on.map((r) => r.spans).join(', ')}`;
if (process.env['MARKDOWN'] === '1') {
  // For docs/benchmarks.md (`BENCH=B17 pnpm bench`): the pairs as a table, the summary under it.
  const row = (label: string, f: (p: Pass) => number, digits = 2) => `| ${label} | ${results.off.map((p, i) => `${f(p).toFixed(digits)} → ${f(results.on[i]!).toFixed(digits)}`).join(' | ')} |`;
  console.log(
    [
      `| off → on | ${results.off.map((_, i) => `pair ${i + 1}`).join(' | ')} |`,
      `|---|${results.off.map(() => '---|').join('')}`,
      row('daemon CPU for the messages (s)', (p) => p.cpuS),
      `| on vs off | ${pairs.map((p) => `${p.toFixed(1)} %`).join(' | ')} |`,
      row('user (s)', (p) => p.userS),
      row('system (s)', (p) => p.systemS),
      row('RSS at the end (MB)', (p) => p.rssMb, 1),
      row('warm-up CPU (s)', (p) => p.warmupS),
      `| spans received | ${results.on.map((p) => `0 → ${p.spans}`).join(' | ')} |`,
      '',
      summary,
    ].join('\n'),
  );
} else console.log(summary);
