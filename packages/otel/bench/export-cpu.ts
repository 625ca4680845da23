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

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 Hz)
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

async function once(exportOn: boolean): Promise<{ cpuS: number; wallS: number; spans: number }> {
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
    const before = cpuSeconds(daemon.pid);
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
    const cpuS = cpuSeconds(daemon.pid) - before;
    await daemon.stop();
    return { cpuS, wallS, spans: receiver.spans.length };
  } finally {
    await daemon.cleanup();
    await receiver.close();
  }
}

const results: Record<'off' | 'on', Array<{ cpuS: number; wallS: number; spans: number }>> = { off: [], on: [] };
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
console.log(
  `${MESSAGES} messages, ${RUNS} runs each: daemon CPU median off ${off.toFixed(2)} s, on ${on.toFixed(2)} s (${(((on - off) / off) * 100).toFixed(1)} %); spans received (on): ${results.on.map((r) => r.spans).join(', ')}`,
);
