/**
 * Daemon CPU with trace and metrics export on vs off, in the same run (issue 38's aim: at most
 * 5 % more). The built daemon (packages/cli/dist, `pnpm build` first) with 4 agents on the fake
 * `claude` CLI, as B0 sets it up; N messages posted through the REST API, one after another,
 * until every reply is in the outbox; daemon CPU is utime+stime from /proc/<pid>/stat over that
 * window. "on" exports OTLP/protobuf to a real receiver on loopback (test/receiver.ts) with the
 * standard variables only. Runs alternate off/on to spread the machine's noise.
 *
 * Metrics go out at OpenTelemetry's default interval (60 s) unless METRIC_INTERVAL (ms) says
 * otherwise; spans every 5 s (the batch processor's default). Spans received are counted after
 * the daemon stopped (its last batch included).
 *
 *   node --conditions=tinyagi-source packages/otel/bench/export-cpu.ts   # MESSAGES=200 RUNS=3 VARIANT=both|traces|metrics METRIC_INTERVAL=5000
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDaemon, FAKE_BIN_DIR, waitFor } from '@tinyagi/test-kit';
import { httpReceiver } from '../test/receiver.ts';

const MESSAGES = Number(process.env['MESSAGES'] ?? 200);
const RUNS = Number(process.env['RUNS'] ?? 3);
const AGENTS = ['a1', 'a2', 'a3', 'a4'];

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
  return env;
}

interface Pass {
  cpuS: number;
  userS: number;
  systemS: number;
  rssMb: number;
  wallS: number;
  spans: number;
}

async function once(exportOn: boolean): Promise<Pass> {
  const receiver = await httpReceiver();
  const daemon = await createDaemon({
    prefix: 'tinyagi-otel-bench-',
    path: [FAKE_BIN_DIR],
    env: exportOn ? onEnv(receiver.endpoint) : {},
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      agents: Object.fromEntries(AGENTS.map((id) => [id, { provider: 'claude-code' }])),
      channels: { enabled: [] },
    }),
  });
  try {
    await daemon.start();
    const api = daemon.api;
    const before = cpuTimes(daemon.pid);
    const t0 = performance.now();
    const conversations: string[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const sent = await api.sendMessage({ body: { agent: AGENTS[i % AGENTS.length]!, message: `FAKE:reply=answer ${i}`, sender: 'bench', senderId: 'bench' } });
      conversations.push(sent.conversationId);
    }
    await waitFor(
      async () => {
        const status = await api.queueStatus();
        return status.pending === 0 && status.processing === 0 ? true : undefined;
      },
      600_000,
      'every message answered',
      50,
    );
    const wallS = (performance.now() - t0) / 1000;
    const after = cpuTimes(daemon.pid);
    const userS = after.user - before.user;
    const systemS = after.system - before.system;
    const rss = rssMb(daemon.pid);
    await daemon.stop();
    return { cpuS: userS + systemS, userS, systemS, rssMb: rss, wallS, spans: receiver.spans.length };
  } finally {
    await daemon.cleanup();
    await receiver.close();
  }
}

const results: Record<'off' | 'on', Pass[]> = { off: [], on: [] };
for (let i = 0; i < RUNS; i++) {
  for (const mode of ['off', 'on'] as const) {
    const r = await once(mode === 'on');
    results[mode].push(r);
    process.stderr.write(`run ${i + 1}/${RUNS} ${mode}: ${JSON.stringify(r)}\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = median(results.off.map((r) => r.cpuS));
const on = median(results.on.map((r) => r.cpuS));
const pairs = results.on.map((r, i) => ((r.cpuS - results.off[i]!.cpuS) / results.off[i]!.cpuS) * 100);
const side = (mode: 'off' | 'on', key: 'userS' | 'systemS' | 'rssMb') => median(results[mode].map((r) => r[key])).toFixed(2);
console.log(
  `${MESSAGES} messages, ${RUNS} runs each: daemon CPU median off ${off.toFixed(2)} s, on ${on.toFixed(2)} s (${(((on - off) / off) * 100).toFixed(1)} %; median of the pairs ${median(pairs).toFixed(1)} %, pairs ${pairs.map((p) => p.toFixed(1)).join(' / ')}); user ${side('off', 'userS')} → ${side('on', 'userS')} s, system ${side('off', 'systemS')} → ${side('on', 'systemS')} s; RSS at the end ${side('off', 'rssMb')} → ${side('on', 'rssMb')} MB; spans received (on): ${results.on.map((r) => r.spans).join(', ')}`,
);
