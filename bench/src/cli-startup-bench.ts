/**
 * B18: how long the `tinyagi` commands a user types take, as whole processes, beside `node -e 0`
 * (the floor: a node that loads nothing) in the same run. Every figure is one process, spawned
 * by this bench, from the spawn until:
 * - `--version`, `--help`, `status` (a daemon running in the home), `start` (a home with settings
 *   and no daemon): the process exits (exit code 0 required; after each `start` the daemon is
 *   stopped, not timed);
 * - `send hello`: the daemon receives the POST. The CLI talks to a loopback proxy standing in
 *   for the daemon (TINYAGI_API_URL, with the daemon's token), which notes when the request
 *   arrives and forwards it to the real daemon, whose answer the CLI prints; the process's exit
 *   is awaited before the next one.
 * Each command runs once unmeasured per build first (node's compile cache filled, files in the
 * page cache). Runs alternate the builds' order; medians and 90th percentiles over B18_RUNS.
 * B18_BASELINE (another build's dist/bin.js) adds its columns, measured in the same run.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDaemon, runCli, tempHome, type TestDaemon } from '@tinyagi/test-kit';
import { percentile } from './machine.ts';

export interface CliStartupOptions {
  runs: number;
  /** The build measured: its dist/bin.js. */
  bin: string;
  /** Another build beside it (before/after). */
  baseline?: { bin: string; label: string };
}

interface Build {
  label: string;
  bin: string;
}

interface Row {
  id: string;
  label: string;
  /** The issue's aim for this row (ms), or undefined for the floor. */
  aimMs?: number;
  measure: (build: Build) => Promise<number>;
}

const settings = ({ root }: { root: string }) => ({
  workspace: { path: join(root, 'workspace') },
  models: { provider: 'mock' },
  agents: { helper: { provider: 'mock', mock: { reply: 'ok' } } },
  channels: { enabled: [] },
});

/** Spawns node with `args`; resolves with the ms from the spawn until `until` (default: its exit), after the process has exited with code 0. */
function timed(args: string[], env: Record<string, string>, until?: Promise<number>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const exited = performance.now() - t0;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`));
      if (until === undefined) return resolve(exited);
      until.then((at) => resolve(at - t0), reject);
    });
  });
}

/** A loopback proxy in front of the daemon: `next()` resolves at the arrival (performance.now()) of the next POST /api/message. */
async function arrivalProxy(target: string): Promise<{ url: string; next: () => Promise<number>; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let waiting: ((at: number) => void) | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && req.url === '/api/message') waiting?.(performance.now());
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.once('error', (err) => res.destroy(err));
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    next: () => new Promise<number>((r) => (waiting = r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const fmt = (ms: number) => ms.toFixed(0);

export async function benchB18(options: CliStartupOptions): Promise<string> {
  const builds: Build[] = [{ label: 'this build', bin: options.bin }, ...(options.baseline ? [options.baseline] : [])];
  // The daemon `status` and `send` talk to (this build's; the CLI is what is measured).
  const daemon: TestDaemon = await createDaemon({ build: { entry: options.bin }, prefix: 'tinyagi-b18-', settings });
  await daemon.start();
  const proxy = await arrivalProxy(daemon.url);
  const sender = tempHome({ prefix: 'tinyagi-b18-send-' });
  const starter = tempHome({ prefix: 'tinyagi-b18-start-' });
  writeFileSync(join(starter.home, 'settings.json'), JSON.stringify(settings({ root: starter.root }), null, 2));
  const sendEnv = { ...sender.env, TINYAGI_API_URL: proxy.url, TINYAGI_API_TOKEN: daemon.token() };
  const startEnv = { ...starter.env, TINYAGI_API_PORT: '0' };
  const rows: Row[] = [
    { id: 'floor', label: '`node -e 0` (the floor)', measure: () => timed(['-e', '0'], daemon.env) },
    { id: 'version', label: '`tinyagi --version`', aimMs: 80, measure: (b) => timed([b.bin, '--version'], daemon.env) },
    { id: 'help', label: '`tinyagi --help`', aimMs: 80, measure: (b) => timed([b.bin, '--help'], daemon.env) },
    { id: 'status', label: '`tinyagi status` (daemon running)', aimMs: 150, measure: (b) => timed([b.bin, 'status'], daemon.env) },
    { id: 'send', label: '`tinyagi send hello` until the daemon receives the POST', aimMs: 150, measure: (b) => timed([b.bin, 'send', 'hello'], sendEnv, proxy.next()) },
    {
      id: 'start',
      label: '`tinyagi start` until it returns',
      aimMs: 400,
      measure: async (b) => {
        const ms = await timed([b.bin, 'start'], startEnv);
        const stopped = await runCli(['stop', '--timeout', '10'], startEnv, { build: { entry: b.bin } });
        if (stopped.code !== 0) throw new Error(`tinyagi stop failed: ${stopped.stderr}`);
        return ms;
      },
    },
  ];
  const figures = new Map<string, number[]>();
  const key = (row: Row, build: Build) => `${row.id}\u0000${build.label}`;
  try {
    for (const row of rows) for (const build of row.aimMs === undefined ? builds.slice(0, 1) : builds) await row.measure(build);
    for (let i = 0; i < options.runs; i++) {
      const order = i % 2 === 0 ? builds : [...builds].reverse();
      for (const row of rows) {
        for (const build of row.aimMs === undefined ? builds.slice(0, 1) : order) {
          const ms = await row.measure(build);
          const list = figures.get(key(row, build)) ?? [];
          list.push(ms);
          figures.set(key(row, build), list);
        }
      }
      process.stderr.write(`B18 run ${i + 1}/${options.runs}: ${rows.map((r) => `${r.id} ${fmt(figures.get(key(r, builds[0]!))!.at(-1)!)}`).join(', ')} ms\n`);
    }
  } finally {
    await proxy.close();
    await daemon.cleanup();
    sender.cleanup();
    starter.cleanup();
  }
  const stats = (row: Row, build: Build) => {
    const sorted = [...figures.get(key(row, build))!].sort((a, b) => a - b);
    return { median: percentile(sorted, 50), p90: percentile(sorted, 90) };
  };
  const floor = stats(rows[0]!, builds[0]!).median;
  const header = [`| command | aim (ms) | ${builds.map((b) => `${b.label}: median | p90 | median − floor`).join(' | ')} |`, `|---|---|${builds.map(() => '---|---|---').join('|')}|`];
  const lines = rows.map((row) => {
    const cells = builds.map((b) => {
      if (row.aimMs === undefined && b !== builds[0]) return ['', '', ''].join(' | ');
      const s = stats(row, b);
      return `${fmt(s.median)} | ${fmt(s.p90)} | ${row.aimMs === undefined ? '' : fmt(s.median - floor)}`;
    });
    return `| ${row.label} | ${row.aimMs ?? ''} | ${cells.join(' | ')} |`;
  });
  return [`Milliseconds, whole processes, ${options.runs} runs each (medians and 90th percentiles; the floor measured in the same runs).`, '', ...header, ...lines].join('\n');
}
