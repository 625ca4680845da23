/**
 * sandbox-init's own cost (docs/sandbox-design.md, "The agent's network and its bridges"): its private memory (Private_Clean +
 * Private_Dirty of /proc/<pid>/smaps_rollup) while a command runs inside the boundary, and the
 * start of `true` inside the boundary, for sandbox-init as `Boundary.wrap()` starts it and for
 * variants of its node command line given by name (the variants alternate, run by run).
 *
 * Memory: the command is node, which says `idle` (measured: sandbox-init after its start), then,
 * on a line on its stdin, sends `mb` MiB each way through the model bridge, one connection per
 * MiB as a CLI's model calls come (a Unix socket echo server stands in for the model proxy), says
 * `busy` (measured again, with sandbox-init's CPU time for the traffic) and waits for its SIGTERM.
 * Start: from before wrap() until `true` has exited with code 0.
 *
 * Run: `node packages/core/scripts/sandbox-init-memory.ts [variant,…] [runs] [starts] [mb]`
 * (Linux with bwrap; defaults before,wrap 5 30 64); `wrap` is the command line as the boundary
 * builds it. SIM_DUMP=1 prints sandbox-init's largest mappings after each traffic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_INIT, type Boundary, quickCheck } from '@tinyagi/sandbox';
// A node's host: the runtimes' CLI homes of core's registry hidden.
import { sandboxHost } from '../src/sandbox/host.ts';

/**
 * Each variant: node's flags before sandbox-init's path (wrap: none, as the boundary starts it)
 * and the sandbox-init it runs. `before` runs the file SANDBOX_INIT_BEFORE names: a copy of an
 * earlier sandbox-init.mjs outside /tmp, which the sandbox does not see
 * (`git show <commit>:packages/core/sandbox/sandbox-init.mjs > ~/.cache/before.mjs`).
 */
const VARIANTS: Record<string, { flags: readonly string[]; script?: string | undefined }> = {
  before: { flags: [], script: process.env.SANDBOX_INIT_BEFORE },
  wrap: { flags: [] },
  single: { flags: ['--single-threaded'] },
  lite: { flags: ['--lite-mode'] },
  'single-lite': { flags: ['--single-threaded', '--lite-mode'] },
  jitless: { flags: ['--jitless'] },
  semi: { flags: ['--max-semi-space-size=1'] },
  'old-space': { flags: ['--max-old-space-size=16'] },
};

const [names = 'before,wrap', runsArg = '5', startsArg = '30', mbArg = '64'] = process.argv.slice(2);
const variants = names.split(',');
for (const v of variants) if (!VARIANTS[v]) throw new Error(`unknown variant ${v}: one of ${Object.keys(VARIANTS).join(', ')}`);
if (variants.includes('before') && !VARIANTS.before!.script) throw new Error('the variant before needs SANDBOX_INIT_BEFORE');
const runs = Number(runsArg);
const starts = Number(startsArg);
const trafficMb = Number(mbArg);

/** utime + stime of `pid`, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function privateKb(pid: number): { clean: number; dirty: number; rss: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? 0);
  return { clean: field('Private_Clean'), dirty: field('Private_Dirty'), rss: field('Rss') };
}

/** The host pid of the process whose command line names `script` and that descends from `root`. */
function findInit(root: number, script: string): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  for (const [pid] of parents) {
    let up = pid;
    while (up > 1 && up !== root) up = parents.get(up) ?? 0;
    if (up !== root) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      // Not bwrap, whose arguments name it too.
      if (argv[0] === process.execPath && argv.includes(script)) return pid;
    } catch {}
  }
  throw new Error(`no ${script} under ${root}`);
}

/** The mappings holding the most private memory (SIM_DUMP=1). */
function dumpSmaps(pid: number): void {
  const rows: Array<[number, string]> = [];
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = `${line.split(' ')[0]} ${head[1] || '[anon]'}`;
    const m = /^Private_(?:Clean|Dirty):\s+(\d+) kB$/.exec(line);
    if (m) rows.push([Number(m[1]), name]);
  }
  const by = new Map<string, number>();
  for (const [kb, n] of rows) by.set(n, (by.get(n) ?? 0) + kb);
  console.error(
    [...by]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([n, kb]) => `${kb} kB ${n}`)
      .join('\n'),
  );
}

function variantArgs(args: string[], variant: string): string[] {
  const at = args.indexOf(SANDBOX_INIT);
  if (at < 0) throw new Error('sandbox-init is not in the wrapped command line');
  const { flags, script } = VARIANTS[variant]!;
  return [...args.slice(0, at), ...flags, script ?? SANDBOX_INIT, ...args.slice(at + 1)];
}

function waitForLine(child: ChildProcess, out: { text: string }, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (out.text.includes(`${line}\n`)) {
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${line}: ${out.text}`)));
    check();
  });
}

const TRAFFIC = `
const net = require('node:net');
process.stdout.write('idle\\n');
const send = (left) => {
  if (left === 0) return process.stdout.write('busy\\n');
  const socket = net.connect(45801, '127.0.0.1');
  let got = 0;
  socket.on('data', (d) => {
    got += d.length;
    if (got < 1048576) return;
    socket.destroy();
    send(left - 1);
  });
  socket.write(Buffer.alloc(1048576, 120));
};
process.stdin.once('data', () => send(${trafficMb}));
`;

async function main(): Promise<void> {
  mkdirSync(join(homedir(), '.cache'), { recursive: true });
  const root = mkdtempSync(join(homedir(), '.cache', 'tinyagi-sim-'));
  const tinyHome = join(root, 'home', '.tinyagi');
  const workspaceRoot = join(root, 'home', 'tinyagi-workspace');
  const workspace = join(workspaceRoot, 'bench');
  mkdirSync(tinyHome, { recursive: true });
  mkdirSync(workspace, { recursive: true });
  const daemonEnv = { PATH: process.env.PATH ?? '', HOME: join(root, 'home') };
  const check = quickCheck(daemonEnv);
  if (!check.ok) throw new Error(`the boundary is not available here: ${check.problem?.reason}`);
  const host = sandboxHost();
  host.recordCheck(check);
  const boundary = host.boundaryFor('bench', { mode: 'required', tinyHome, workspaceRoot, memoryMb: 4096 }, workspace, daemonEnv)!.boundary as Boundary;
  mkdirSync(boundary.runDir, { recursive: true, mode: 0o700 });
  const echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(join(boundary.runDir, 'model.sock'), resolve));
  const cliEnv = boundary.env({ PATH: daemonEnv.PATH, HOME: daemonEnv.HOME, LANG: 'C.UTF-8' });

  const memory = new Map<string, Array<{ idle: ReturnType<typeof privateKb>; busy: ReturnType<typeof privateKb>; cpu: number }>>();
  for (let run = 0; run < runs; run++) {
    for (const variant of run % 2 === 0 ? variants : [...variants].reverse()) {
      const wrapped = await boundary.wrap({ command: process.execPath, args: ['-e', TRAFFIC], env: cliEnv });
      const child = spawn(wrapped.command, variantArgs(wrapped.args, variant), {
        cwd: workspace,
        env: wrapped.env,
        stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
        detached: true,
      });
      const out = { text: '' };
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.text += d));
      await waitForLine(child, out, 'idle');
      const pid = findInit(child.pid!, VARIANTS[variant]!.script ?? SANDBOX_INIT);
      const idle = privateKb(pid);
      const cpu0 = cpuMs(pid);
      child.stdin!.write('go\n');
      await waitForLine(child, out, 'busy');
      const busy = privateKb(pid);
      const cpu = cpuMs(pid) - cpu0;
      if (process.env.SIM_DUMP) dumpSmaps(pid);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // As the daemon stops a CLI: SIGTERM to the group, which sandbox-init passes on.
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
      wrapped.release();
      memory.set(variant, [...(memory.get(variant) ?? []), { idle, busy, cpu }]);
    }
  }

  const startMs = new Map<string, number[]>();
  for (let i = 0; i < starts + 3; i++) {
    for (const variant of i % 2 === 0 ? variants : [...variants].reverse()) {
      const t0 = performance.now();
      const wrapped = await boundary.wrap({ command: 'true', args: [], env: cliEnv });
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(wrapped.command, variantArgs(wrapped.args, variant), { cwd: workspace, env: wrapped.env, stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
        child.once('error', reject);
        child.once('close', resolve);
      });
      const ms = performance.now() - t0;
      wrapped.release();
      if (code !== 0) throw new Error(`${variant}: true exited ${code}`);
      // The first three of each are not counted: files in the page cache.
      if (i >= 3) startMs.set(variant, [...(startMs.get(variant) ?? []), ms]);
    }
  }

  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const mb = (kb: number): string => (kb / 1024).toFixed(1);
  console.log(`${runs} runs of the memory, ${starts} starts of each variant, alternating; medians.\n`);
  console.log(
    `| variant | node flags | private idle (MB) | private after ${trafficMb} MiB each way (MB) | of it dirty | RSS after (MB) | sandbox-init's CPU for it (ms) | start of \`true\` inside p50 (ms) |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const variant of variants) {
    const m = memory.get(variant) ?? [];
    const idle = median(m.map((x) => x.idle.clean + x.idle.dirty));
    const busy = median(m.map((x) => x.busy.clean + x.busy.dirty));
    const dirty = median(m.map((x) => x.busy.dirty));
    const rss = median(m.map((x) => x.busy.rss));
    const s = startMs.get(variant) ?? [];
    console.log(
      `| ${variant} | ${[...VARIANTS[variant]!.flags, VARIANTS[variant]!.script ? '(SANDBOX_INIT_BEFORE)' : ''].join(' ').trim() || '(none)'} | ${mb(idle)} | ${mb(busy)} | ${mb(dirty)} | ${mb(rss)} | ${median(m.map((x) => x.cpu)).toFixed(0)} | ${s.length ? median(s).toFixed(1) : '-'} |`,
    );
  }
  echo.close();
  await host.close();
  rmSync(root, { recursive: true, force: true });
}

await main();
