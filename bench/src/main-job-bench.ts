/**
 * B0, the main job: the built daemon (`tinyagi run`, packages/cli/dist) on a free port with a temp
 * TINYAGI_HOME, 4 agents on the Claude Code runtime driven by the project's fake `claude` CLI
 * (@tinyagi/test-kit's bin/: instant answers in real stream-json), 200 messages posted
 * one after another through POST /api/message by one script that honours 429 Retry-After, replies
 * observed on GET /api/events (`outbox.enqueued`). Beside it, in the same run: the same daemon at
 * `queue.durability: normal`; the floor, the same 200 fake-CLI invocations spawned directly, 4 at a
 * time, no daemon; and, when B0_REFERENCE_DIR names a checkout of it, the reference TinyAGI 0.0.20
 * driven the same way through its own API (main-job-targets.ts).
 *
 * Daemon CPU is utime+stime of the daemon process alone from /proc/<pid>/stat (its children, the
 * fake CLIs, are not in it), peak RSS is VmHWM, idle RSS is VmRSS one second after its API first
 * answered. Crash recovery: a second burst, SIGKILL of the daemon once its first reply
 * arrived, a restart on the same home, and the time from the kill until every message of the
 * burst was answered.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FAKE_BIN_DIR, type CliBuild } from '@tinyagi/test-kit';
import { percentile } from './machine.ts';
import { AGENTS, type MainJobTarget, ourDaemon, referenceDaemon } from './main-job-targets.ts';
import { failedCell, measurePeer, type PeerOutcome } from './peer-cell.ts';

/** B0_DAEMON_BIN runs another build's daemon (a checkout of an older commit, for before/after figures). */
const DAEMON_BUILD: CliBuild = process.env.B0_DAEMON_BIN ? { entry: process.env.B0_DAEMON_BIN } : 'built';
const TICKS_PER_S = 100; // USER_HZ on Linux

export interface B0Options {
  messages: number;
  runs: number;
  recovery: boolean;
  /** Extra node options for the daemon (e.g. --cpu-prof for profiling). */
  daemonNodeOptions?: string[];
  /** A built checkout of the reference TinyAGI 0.0.20, measured in the same runs when given. */
  referenceDir?: string;
  /** Extra node options for the reference's daemon. */
  referenceNodeOptions?: string[];
  /**
   * The steady phase: this many messages arriving at `pacedRate` per second (0: none). Latency at
   * an arrival rate every daemon keeps up with, so that it measures what a message costs, not how
   * fast a daemon accepts a burst (a slow API throttles its own arrivals and queues less).
   */
  pacedMessages: number;
  pacedRate: number;
  /** Measure per message with the agents sandboxed too (B0_SANDBOX, on where bwrap is). */
  sandbox: boolean;
  /** The conversation workload: this many agents, each with a conversation of `conversationTurns` messages (0: not run). */
  conversationAgents: number;
  conversationTurns: number;
}

interface DaemonRun {
  wallS: number;
  p50S: number;
  p95S: number;
  cpuS: number;
  /** Of cpuS, the time in the kernel (stime): forks of the CLIs, their page faults, syscalls. */
  sysS: number;
  /** Minor page faults of the daemon during the 200 (each fork write-protects its memory). */
  minorFaults: number;
  childCpuS: number;
  peakRssMb: number;
  idleRssMb: number;
  startS: number;
  posts429: number;
  /** From the first POST until the 200th was accepted. */
  postS: number;
  recoveryS?: number;
  recoveryStartS?: number;
  recoveryAnswered?: string;
  /** The steady phase: latency from each message's arrival time to its reply. */
  pacedP50S?: number;
  pacedP95S?: number;
  /** Starts of the agent CLI during the run (the 200 and the steady phase). */
  cliStarts?: number;
  /** Warm sessions at the end of the steady phase and the mean resident size of their CLI processes. */
  warmSessions?: number;
  warmCliRssMb?: number;
  /** The daemon's resident size at the end of the steady phase. */
  endRssMb?: number;
}

interface FloorRun {
  wallS: number;
  p50S: number;
  p95S: number;
  pacedP50S?: number;
  pacedP95S?: number;
  /** CPU of the fake CLIs the floor spawned (this process's reaped children). */
  childCpuS: number;
}

function procStat(pid: number): { cpuS: number; sysS: number; minorFaults: number; childCpuS: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  const n = (field: number) => Number(fields[field - 3]);
  return { cpuS: (n(14) + n(15)) / TICKS_PER_S, sysS: n(15) / TICKS_PER_S, minorFaults: n(10), childCpuS: (n(16) + n(17)) / TICKS_PER_S };
}

function procStatusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The reply times seen on the target's event stream, by id (the first reply wins). */
function watchReplies(target: MainJobTarget): { replies: Map<string, number>; onReply: (fn: () => void) => void; close: () => void } {
  const replies = new Map<string, number>();
  let listener = () => {};
  const close = target.subscribe((id) => {
    if (replies.has(id)) return;
    replies.set(id, performance.now());
    listener();
  });
  return { replies, onReply: (fn) => (listener = fn), close };
}

/** Message i (round-robin over the agents), posted until accepted, waiting out 429s as told. */
async function postOne(target: MainJobTarget, i: number, tag: string): Promise<{ id: string; got429: number }> {
  for (let got429 = 0; ; got429++) {
    const outcome = await target.post(AGENTS[i % AGENTS.length]!, `${tag} message ${i}: hello`);
    if (!('retryAfterS' in outcome)) return { id: outcome.id, got429 };
    await sleep(outcome.retryAfterS * 1000);
  }
}

/** One script posting one message at a time. */
async function postAll(target: MainJobTarget, count: number, tag: string): Promise<{ posted: Array<{ id: string; at: number }>; got429: number }> {
  const posted: Array<{ id: string; at: number }> = [];
  let got429 = 0;
  for (let i = 0; i < count; i++) {
    const at = performance.now();
    const sent = await postOne(target, i, tag);
    got429 += sent.got429;
    posted.push({ id: sent.id, at });
  }
  return { posted, got429 };
}

/**
 * Message i arrives at `i / rate` s: posted then (or as soon as the previous POST returned, when
 * the API is slower than the rate), its latency counted from its arrival, not from its POST.
 */
async function postPaced(target: MainJobTarget, count: number, rate: number): Promise<Array<{ id: string; at: number }>> {
  const posted: Array<{ id: string; at: number }> = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const at = start + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
    posted.push({ id: (await postOne(target, i, 'b0 steady')).id, at });
  }
  return posted;
}

function waitAllReplied(watch: ReturnType<typeof watchReplies>, ids: () => string[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const check = () => {
      if (ids().every((id) => watch.replies.has(id))) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    const timer = setTimeout(() => resolve(false), timeoutMs);
    watch.onReply(check);
    check();
  });
}

async function daemonRun(target: MainJobTarget, opts: B0Options & { sandboxed?: boolean }): Promise<DaemonRun> {
  try {
    const t0 = performance.now();
    await target.start();
    const startS = (performance.now() - t0) / 1000;
    const unconfined = (await target.unconfinedAgents?.()) ?? [];
    if (unconfined.length > 0 && opts.sandboxed) throw new Error(`B0: agents meant to be sandboxed run unconfined: ${unconfined.join('; ')}`);
    await sleep(1000);
    const idleRssMb = procStatusKb(target.pid, 'VmRSS') / 1024;
    const watch = watchReplies(target);
    await sleep(200); // the stream starts with the next event: let it connect first
    const before = procStat(target.pid);
    const start = performance.now();
    const { posted, got429 } = await postAll(target, opts.messages, 'b0');
    const postS = (performance.now() - start) / 1000;
    const allIn = await waitAllReplied(watch, () => posted.map((p) => p.id), 600_000);
    if (!allIn) throw new Error('B0: not every message was answered within 10 minutes');
    const end = Math.max(...posted.map((p) => watch.replies.get(p.id)!));
    const after = procStat(target.pid);
    const latencies = posted.map((p) => (watch.replies.get(p.id)! - p.at) / 1000).sort((a, b) => a - b);
    const result: DaemonRun = {
      wallS: (end - start) / 1000,
      p50S: percentile(latencies, 50),
      p95S: percentile(latencies, 95),
      cpuS: after.cpuS - before.cpuS,
      sysS: after.sysS - before.sysS,
      minorFaults: after.minorFaults - before.minorFaults,
      childCpuS: after.childCpuS - before.childCpuS,
      peakRssMb: procStatusKb(target.pid, 'VmHWM') / 1024,
      idleRssMb,
      startS,
      posts429: got429,
      postS,
    };

    if (opts.pacedMessages > 0 && opts.pacedRate > 0) {
      const paced = await postPaced(target, opts.pacedMessages, opts.pacedRate);
      if (!(await waitAllReplied(watch, () => paced.map((p) => p.id), 600_000))) throw new Error('B0: not every steady message was answered within 10 minutes');
      const steady = paced.map((p) => (watch.replies.get(p.id)! - p.at) / 1000).sort((a, b) => a - b);
      result.pacedP50S = percentile(steady, 50);
      result.pacedP95S = percentile(steady, 95);
    }
    result.cliStarts = target.cliStarts?.();
    result.endRssMb = procStatusKb(target.pid, 'VmRSS') / 1024;
    const warm = (await target.warmSessions?.()) ?? [];
    result.warmSessions = warm.length;
    if (warm.length > 0) result.warmCliRssMb = warm.reduce((sum, w) => sum + (w.memoryBytes ?? 0), 0) / warm.length / (1024 * 1024);

    if (opts.recovery) {
      const burst = 40;
      const { posted: inflight } = await postAll(target, burst, 'recovery');
      await waitAllReplied(watch, () => inflight.slice(0, 1).map((p) => p.id), 60_000);
      const killedAt = performance.now();
      await target.kill();
      watch.close();
      const answeredBefore = inflight.filter((p) => watch.replies.has(p.id)).length;
      const restartAt = performance.now();
      await target.start();
      result.recoveryStartS = (performance.now() - restartAt) / 1000;
      const watch2 = watchReplies(target);
      // Replies committed before the kill were already seen; the rest must arrive after the restart.
      const pending = () => inflight.map((p) => p.id).filter((id) => !watch.replies.has(id));
      // Missed between the restart and the stream connecting: ask the API once connected.
      await sleep(200);
      for (const id of await target.answered(pending())) if (!watch2.replies.has(id)) watch2.replies.set(id, performance.now());
      const ok = await waitAllReplied(watch2, pending, 300_000);
      result.recoveryS = (Math.max(...pending().map((id) => watch2.replies.get(id) ?? Number.NaN), restartAt) - killedAt) / 1000;
      result.recoveryAnswered = `${ok ? burst : inflight.filter((p) => watch.replies.has(p.id) || watch2.replies.has(p.id)).length}/${burst} (${answeredBefore} before the kill)`;
      watch2.close();
    } else {
      watch.close();
    }
    await target.stop();
    return result;
  } finally {
    await target.cleanup();
  }
}

/** B0's second workload: `agents` agents, each holding a `turns`-message conversation (one message after the other's reply), all at once. */
interface ConversationRun {
  wallS: number;
  p50S: number;
  p95S: number;
  cliStarts: number;
  warmSessions: number;
  /** The CLI processes held at the end (sum of the warm sessions' resident sizes). */
  cliRssMb: number;
  daemonRssMb: number;
  daemonPeakMb: number;
}

export async function conversationRun(target: MainJobTarget, agents: string[], turns: number): Promise<ConversationRun> {
  try {
    await target.start();
    const watch = watchReplies(target);
    await sleep(200);
    // One listener for every conversation's wait (the watch has one slot).
    const pending = new Map<string, () => void>();
    watch.onReply(() => {
      for (const [id, done] of pending) {
        if (!watch.replies.has(id)) continue;
        pending.delete(id);
        done();
      }
    });
    const replyOf = (id: string, what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        if (watch.replies.has(id)) return resolve();
        pending.set(id, resolve);
        setTimeout(() => reject(new Error(`B0 conversations: ${what} got no reply in 5 minutes`)), 300_000).unref();
      });
    const latencies: number[] = [];
    const start = performance.now();
    await Promise.all(
      agents.map(async (agent) => {
        for (let t = 0; t < turns; t++) {
          const at = performance.now();
          let outcome = await target.post(agent, `conversation turn ${t + 1}: hello`);
          while (!('id' in outcome)) {
            await sleep(outcome.retryAfterS * 1000);
            outcome = await target.post(agent, `conversation turn ${t + 1}: hello`);
          }
          const id = outcome.id;
          await replyOf(id, `${agent} turn ${t + 1}`);
          latencies.push((watch.replies.get(id)! - at) / 1000);
        }
      }),
    );
    const wallS = (performance.now() - start) / 1000;
    watch.close();
    latencies.sort((a, b) => a - b);
    const warm = (await target.warmSessions?.()) ?? [];
    const run: ConversationRun = {
      wallS,
      p50S: percentile(latencies, 50),
      p95S: percentile(latencies, 95),
      cliStarts: target.cliStarts?.() ?? Number.NaN,
      warmSessions: warm.length,
      cliRssMb: warm.reduce((sum, w) => sum + (w.memoryBytes ?? 0), 0) / (1024 * 1024),
      daemonRssMb: procStatusKb(target.pid, 'VmRSS') / 1024,
      daemonPeakMb: procStatusKb(target.pid, 'VmHWM') / 1024,
    };
    await target.stop();
    return run;
  } finally {
    await target.cleanup();
  }
}

/** The same invocations the daemon makes, spawned directly with the same parallelism. */
async function floorRun(opts: B0Options): Promise<FloorRun> {
  const root = mkdtempSync(join(tmpdir(), 'tinyagi-b0-floor-'));
  try {
    const system = join(root, 'system-prompt.md');
    writeFileSync(system, 'You are a benchmark agent.\n', { mode: 0o600 });
    const env = { PATH: `${FAKE_BIN_DIR}:${dirname(process.execPath)}`, HOME: root, TERM: 'dumb', IS_SANDBOX: '1' };
    const invoke = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const args = ['-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions', '--append-system-prompt-file', system, '--session-id', randomUUID()];
        const child = spawn('claude', args, { cwd: root, env, stdio: ['pipe', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => (out += c));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 && out.includes('"type":"result"') ? resolve() : reject(new Error(`B0 floor: fake claude exited ${code}`))));
        child.stdin.end(text);
      });
    const childCpuBefore = procStat(process.pid).childCpuS;
    const start = performance.now();
    const done: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < opts.messages) {
        const i = next++;
        await invoke(`b0 message ${i}: hello`);
        done.push((performance.now() - start) / 1000);
      }
    };
    await Promise.all(AGENTS.map(() => worker()));
    done.sort((a, b) => a - b);
    const run: FloorRun = { wallS: done.at(-1)!, p50S: percentile(done, 50), p95S: percentile(done, 95), childCpuS: procStat(process.pid).childCpuS - childCpuBefore };
    if (opts.pacedMessages > 0 && opts.pacedRate > 0) {
      // The steady phase: message i arrives at i / rate s and takes one of the 4 slots when one is free.
      const latencies: number[] = [];
      let free = AGENTS.length;
      const waiting: Array<() => void> = [];
      const slot = (): Promise<void> => {
        if (free === 0) return new Promise<void>((r) => waiting.push(r));
        free--;
        return Promise.resolve();
      };
      const release = (): void => {
        const next = waiting.shift();
        if (next) next();
        else free++;
      };
      const pacedStart = performance.now();
      const all: Array<Promise<void>> = [];
      for (let i = 0; i < opts.pacedMessages; i++) {
        const at = pacedStart + (i * 1000) / opts.pacedRate;
        const wait = at - performance.now();
        if (wait > 0) await sleep(wait);
        all.push(
          slot()
            .then(() => invoke(`b0 steady message ${i}: hello`))
            .then(() => {
              latencies.push((performance.now() - at) / 1000);
              release();
            }),
        );
      }
      await Promise.all(all);
      latencies.sort((a, b) => a - b);
      run.pacedP50S = percentile(latencies, 50);
      run.pacedP95S = percentile(latencies, 95);
    }
    return run;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function bareRunStart(nodeOptions: string[] | undefined): Promise<number> {
  const target = await ourDaemon(DAEMON_BUILD, nodeOptions, 'full', true);
  try {
    const t0 = performance.now();
    await target.start();
    const startS = (performance.now() - t0) / 1000;
    await target.stop();
    return startS;
  } finally {
    await target.cleanup();
  }
}

const median = (values: number[]): number => {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return finite.length === 0 ? Number.NaN : finite[Math.floor((finite.length - 1) / 2)]!;
};

export async function benchB0(opts: B0Options): Promise<string> {
  const daemon: DaemonRun[] = [];
  /** Ours at `queue.durability: "normal"`: commits wait for no fsync, the guarantee the reference's SQLite gives (safe from a crash of the process, not of the machine). */
  const normal: DaemonRun[] = [];
  /** Ours with the agents warm (`process: "warm"`, docs/sessions.md): one Claude Code process per agent's session, kept between messages. */
  const warm: DaemonRun[] = [];
  /** Ours with the agents sandboxed per message (`sandbox: "on"`, the boundary enforced: docs/sandbox.md). */
  const sandboxed: DaemonRun[] = [];
  const conversations: Array<{ perMessage: ConversationRun; warm: ConversationRun }> = [];
  const convAgents = Array.from({ length: opts.conversationAgents }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  const floor: FloorRun[] = [];
  const reference: Array<PeerOutcome<DaemonRun>> = [];
  /** Start of a bare `node bin.js run` (no V8 flags given: the daemon replaces itself once to add them and start from its snapshot). */
  const bareStart: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    floor.push(await floorRun(opts));
    bareStart.push(await bareRunStart(opts.daemonNodeOptions));
    daemon.push(await daemonRun(await ourDaemon(DAEMON_BUILD, opts.daemonNodeOptions), opts));
    // Right after the default column it is compared with, so the machine's load drifts least between the two.
    if (opts.sandbox) sandboxed.push(await daemonRun(await ourDaemon(DAEMON_BUILD, opts.daemonNodeOptions, 'full', false, { sandbox: true }), { ...opts, recovery: false, sandboxed: true }));
    normal.push(await daemonRun(await ourDaemon(DAEMON_BUILD, opts.daemonNodeOptions, 'normal'), opts));
    warm.push(await daemonRun(await ourDaemon(DAEMON_BUILD, opts.daemonNodeOptions, 'full', false, { warm: true }), { ...opts, recovery: false }));
    if (opts.conversationAgents > 0 && opts.conversationTurns > 0) {
      conversations.push({
        perMessage: await conversationRun(await ourDaemon(DAEMON_BUILD, opts.daemonNodeOptions, 'full', false, { agents: convAgents }), convAgents, opts.conversationTurns),
        warm: await conversationRun(
          await ourDaemon(DAEMON_BUILD, opts.daemonNodeOptions, 'full', false, { agents: convAgents, warm: true, maxTotalSessions: convAgents.length }),
          convAgents,
          opts.conversationTurns,
        ),
      });
    }
    const referenceDir = opts.referenceDir;
    if (referenceDir) reference.push(await measurePeer('B0 reference 0.0.20', async () => daemonRun(await referenceDaemon(referenceDir, opts.referenceNodeOptions), opts)));
    process.stderr.write(
      `B0 run ${i + 1}/${opts.runs}: ${JSON.stringify({ floor: floor.at(-1), daemon: daemon.at(-1), normal: normal.at(-1), warm: warm.at(-1), conversations: conversations.at(-1), reference: reference.at(-1) })}\n`,
    );
  }
  const s = (v: number) => `${v.toFixed(2)} s`;
  const ms = (v: number) => `${(v * 1000).toFixed(0)} ms`;
  const mb = (v: number) => `${v.toFixed(1)} MB`;
  const unit = (text: string) => text.replace(/ (s|ms|MB)$/, '');
  /** The median of the runs, then each run's figure in brackets. */
  const cell = (runs: DaemonRun[], pick: (r: DaemonRun) => number | undefined, fmt: (v: number) => string) =>
    runs.every((r) => pick(r) === undefined) ? '—' : `${fmt(median(runs.map((r) => pick(r) ?? Number.NaN)))} (${runs.map((r) => (pick(r) === undefined ? '—' : unit(fmt(pick(r)!)))).join(' / ')})`;
  const measuredReference = reference.flatMap((o) => (o.ok ? [o.value] : []));
  const referenceFailure = reference.find((o) => !o.ok);
  /** The reference's cell: this run's figures (and any failure), or "not run". */
  const ref = (pick: (r: DaemonRun) => number | undefined, fmt: (v: number) => string) => {
    if (!opts.referenceDir) return 'not run';
    const measured = measuredReference.length > 0 ? cell(measuredReference, pick, fmt) : '';
    return referenceFailure && !referenceFailure.ok ? `${measured} ${failedCell(referenceFailure)}`.trim() : measured;
  };
  const floorAll = (pick: (r: FloorRun) => number | undefined, fmt: (v: number) => string = s) =>
    `${fmt(median(floor.map((r) => pick(r) ?? Number.NaN)))} (${floor.map((r) => unit(fmt(pick(r) ?? Number.NaN))).join(' / ')})`;
  const row = (label: string, pick: (r: DaemonRun) => number | undefined, fmt: (v: number) => string, floorCell = '—') =>
    `| ${label} | ${cell(daemon, pick, fmt)} | ${cell(normal, pick, fmt)} | ${cell(warm, pick, fmt)} | ${floorCell} | ${ref(pick, fmt)} |`;
  const rows = [
    row(
      `all ${opts.messages} replies`,
      (r) => r.wallS,
      s,
      floorAll((r) => r.wallS),
    ),
    row(
      'per-message latency p50',
      (r) => r.p50S,
      s,
      floorAll((r) => r.p50S),
    ),
    row(
      'per-message latency p95',
      (r) => r.p95S,
      s,
      floorAll((r) => r.p95S),
    ),
    ...(opts.pacedMessages > 0 && opts.pacedRate > 0
      ? [
          row(
            `steady phase, ${opts.pacedMessages} messages arriving at ${opts.pacedRate}/s: latency p50`,
            (r) => r.pacedP50S,
            ms,
            floorAll((r) => r.pacedP50S, ms),
          ),
          row(
            'steady phase: latency p95',
            (r) => r.pacedP95S,
            ms,
            floorAll((r) => r.pacedP95S, ms),
          ),
        ]
      : []),
    row(`daemon CPU for the ${opts.messages} (user+sys)`, (r) => r.cpuS, s),
    row('of it in the kernel (stime)', (r) => r.sysS, s),
    row(`minor page faults of the daemon during the ${opts.messages}`, (r) => r.minorFaults, String),
    row(
      "fake CLI CPU (the daemon's reaped children; the floor's)",
      (r) => r.childCpuS,
      s,
      floorAll((r) => r.childCpuS),
    ),
    row('daemon peak RSS (VmHWM)', (r) => r.peakRssMb, mb),
    row('daemon idle RSS (1 s after its API answers)', (r) => r.idleRssMb, mb),
    row('start until the API answers (ours as `tinyagi start` launches it, from its start-up snapshot, to /api/health; the reference to /api/status)', (r) => r.startS, ms),
    `| the same for a bare \`node bin.js run\` (no V8 flags given: it replaces itself once to add them and start from its snapshot) | ${ms(median(bareStart))} (${bareStart.map((v) => unit(ms(v))).join(' / ')}) | — | — | — | — |`,
    row(
      `agent CLI starts (the ${opts.messages} and the steady phase; the daemon's version check at start is one)`,
      (r) => r.cliStarts,
      String,
      `${opts.messages + (opts.pacedRate > 0 ? opts.pacedMessages : 0)}`,
    ),
    row('daemon RSS at the end of the steady phase', (r) => r.endRssMb, mb),
    row('warm sessions held at the end', (r) => r.warmSessions, String),
    row('CLI RSS per warm session (process group, from /proc)', (r) => r.warmCliRssMb, mb),
    row(`posting the ${opts.messages} (one script, one POST at a time)`, (r) => r.postS, s),
    row('429s answered to the posting script', (r) => r.posts429, String),
  ];
  if (opts.recovery) {
    rows.push(row('SIGKILL + restart until the in-flight burst is answered', (r) => r.recoveryS, s));
    rows.push(row('restart until the API answers (after SIGKILL)', (r) => r.recoveryStartS, ms));
    const answered = (runs: DaemonRun[]) => runs.map((r) => r.recoveryAnswered).join('; ');
    rows.push(`| burst messages answered after the crash | ${answered(daemon)} | ${answered(normal)} | not run (warm) | — | ${opts.referenceDir ? answered(measuredReference) : ''} |`);
  }
  const ratios =
    measuredReference.length > 0
      ? (() => {
          const ratio = (ours: DaemonRun[], pick: (r: DaemonRun) => number | undefined) =>
            `${(median(ours.map((r) => pick(r) ?? Number.NaN)) / median(measuredReference.map((r) => pick(r) ?? Number.NaN))).toFixed(2)}×`;
          const ratios = (ours: DaemonRun[]) =>
            `all replies ${ratio(ours, (r) => r.wallS)}, p50 ${ratio(ours, (r) => r.p50S)}${opts.pacedMessages > 0 && opts.pacedRate > 0 ? `, steady p50 ${ratio(ours, (r) => r.pacedP50S)}` : ''}, daemon CPU ${ratio(ours, (r) => r.cpuS)}, peak RSS ${ratio(ours, (r) => r.peakRssMb)}, idle RSS ${ratio(ours, (r) => r.idleRssMb)}, start ${ratio(ours, (r) => r.startS)}${opts.recovery ? `, crash recovery ${ratio(ours, (r) => r.recoveryS)}` : ''}`;
          return `Ours ÷ the reference's, medians of this run: ${ratios(daemon)}. At \`durability: normal\`: ${ratios(normal)}.`;
        })()
      : '';
  // What is particular to this run (another build in B0_DAEMON_BIN shows in the command of the doc's line above); how B0 measures is written by hand in docs/benchmarks.md.
  const referenceNote = opts.referenceDir
    ? ' The reference ran in the same runs, after ours (B0_REFERENCE_DIR).'
    : ' The reference was not run; beside ours it used 0.82 s of CPU for 200 messages on an Intel Xeon VM and 3.34 s on an AMD EPYC VM (per message it copies ~31 files and deletes ~39, whose cost depends on the file system), so compare its figures within one run only.';
  return [
    `Medians of ${opts.runs} runs, each run's figure in brackets.${referenceNote}`,
    '',
    `| ${opts.messages} messages, 4 agents, fake \`claude\` | TinyAGI daemon (default \`queue.durability: full\`) | TinyAGI daemon, \`queue.durability: normal\` | TinyAGI daemon, agents \`process: "warm"\` | floor (fake CLI spawned directly, 4 at a time) | reference 0.0.20 |`,
    '|---|---|---|---|---|---|',
    ...rows,
    ...(ratios ? ['', ratios] : []),
    '',
    warmSummary(warm, floor, opts),
    ...(sandboxed.length > 0 ? ['', sandboxTable(sandboxed, daemon, opts)] : []),
    ...(conversations.length > 0 ? ['', conversationTable(conversations, convAgents.length, opts.conversationTurns)] : []),
  ].join('\n');
}

/** The warm column against the spawn floor: the issue's aims (all replies ≤ 0.5× the floor's wall time, steady p50 below the floor's). */
function warmSummary(warm: DaemonRun[], floor: FloorRun[], opts: B0Options): string {
  const m = (xs: Array<number | undefined>) => median(xs.map((x) => x ?? Number.NaN));
  const wallRatio = m(warm.map((r) => r.wallS)) / m(floor.map((r) => r.wallS));
  const perRun = warm.map((r, i) => (r.wallS / floor[i]!.wallS).toFixed(2)).join(' / ');
  const steady =
    opts.pacedMessages > 0 && opts.pacedRate > 0
      ? `; steady-phase p50 ${(m(warm.map((r) => r.pacedP50S)) * 1000).toFixed(0)} ms against ${(m(floor.map((r) => r.pacedP50S)) * 1000).toFixed(0)} ms`
      : '';
  return `Warm against the floor (same runs): all ${opts.messages} replies in ${wallRatio.toFixed(2)}× the floor's wall time (per run ${perRun}; the aim is ≤ 0.5×)${steady}.`;
}

/** Per message with the agents sandboxed beside the default column (the same runs): what the boundary adds to a message. */
function sandboxTable(sandboxed: DaemonRun[], unconfined: DaemonRun[], opts: B0Options): string {
  const m = (runs: DaemonRun[], pick: (r: DaemonRun) => number | undefined) => median(runs.map((r) => pick(r) ?? Number.NaN));
  const line = (label: string, pick: (r: DaemonRun) => number | undefined, fmt: (v: number) => string) => {
    const a = m(unconfined, pick);
    const b = m(sandboxed, pick);
    return `| ${label} | ${fmt(a)} | ${fmt(b)} (${sandboxed.map((r) => fmt(pick(r) ?? Number.NaN)).join(' / ')}) | ${(b / a).toFixed(2)}× |`;
  };
  const s = (v: number) => `${v.toFixed(2)} s`;
  const ms = (v: number) => `${(v * 1000).toFixed(0)} ms`;
  return [
    `Per message with the agents sandboxed (\`sandbox: "on"\`, enforced; the same runs, medians), beside the default column:`,
    '',
    '| fake `claude`, per message | unconfined (the default column) | sandboxed | sandboxed ÷ unconfined |',
    '|---|---|---|---|',
    line(`all ${opts.messages} replies`, (r) => r.wallS, s),
    line('per-message latency p50', (r) => r.p50S, s),
    ...(opts.pacedMessages > 0 && opts.pacedRate > 0
      ? [line(`steady phase (${opts.pacedMessages} at ${opts.pacedRate}/s): latency p50`, (r) => r.pacedP50S, ms), line('steady phase: latency p95', (r) => r.pacedP95S, ms)]
      : []),
    line(`daemon CPU for the ${opts.messages}`, (r) => r.cpuS, s),
    // Not the CLIs' CPU: inside the boundary they are reaped in the sandbox's PID namespace, and
    // bwrap's reaping leaves their time out of the daemon's children's.
    '',
    `Run by run (each sandboxed run right after its unconfined one), all ${opts.messages} replies: ${sandboxed
      .map((r, i) => `${(r.wallS / unconfined[i]!.wallS).toFixed(2)}×`)
      .join(' / ')} (median ${median(sandboxed.map((r, i) => r.wallS / unconfined[i]!.wallS)).toFixed(2)}×; the aim is ≤ 1.3×).`,
  ].join('\n');
}

function conversationTable(runs: Array<{ perMessage: ConversationRun; warm: ConversationRun }>, agents: number, turns: number): string {
  const cell = (pick: (r: ConversationRun) => number, fmt: (v: number) => string, side: 'perMessage' | 'warm') => {
    const xs = runs.map((r) => pick(r[side]));
    return `${fmt(median(xs))} (${xs.map((x) => fmt(x)).join(' / ')})`;
  };
  const s = (v: number) => v.toFixed(2);
  const ms = (v: number) => (v * 1000).toFixed(0);
  const mb = (v: number) => v.toFixed(1);
  const row = (label: string, pick: (r: ConversationRun) => number, fmt: (v: number) => string) => `| ${label} | ${cell(pick, fmt, 'perMessage')} | ${cell(pick, fmt, 'warm')} |`;
  return [
    `${agents} agents × ${turns} turns (the next message posted when the last reply arrived), all at once, per message and warm (\`sessions.max_total: ${agents}\`):`,
    '',
    `| ${agents} agents × ${turns} turns, fake \`claude\` | per message | warm |`,
    '|---|---|---|',
    row('all replies (s)', (r) => r.wallS, s),
    row('latency p50 (ms)', (r) => r.p50S, ms),
    row('latency p95 (ms)', (r) => r.p95S, ms),
    row('agent CLI starts', (r) => r.cliStarts, String),
    row('warm sessions held at the end', (r) => r.warmSessions, String),
    row('CLI memory held at the end (sum of RSS, MB)', (r) => r.cliRssMb, mb),
    row('daemon RSS at the end (MB)', (r) => r.daemonRssMb, mb),
    row('daemon peak RSS (MB)', (r) => r.daemonPeakMb, mb),
  ].join('\n');
}
