/**
 * B15 — approvals (issue 36, docs/approvals.md): the round trip of a permission request through
 * the API (request → a person's decision by `POST /api/approvals/:id/decision` → the agent goes
 * on), and what the daemon spends per approval beside the person's wait.
 *
 * A real daemon (the built `tinyagi`, as tests start it) with two kinds of agents:
 * - `asker`: the approval runtime of the CLI's tests (packages/cli/test/fixtures/approval-runtime,
 *   installed as a plugin): one run asks N times in a row through the run's approval step, in the
 *   daemon's process; no CLI start in the loop, so it isolates the daemon's part.
 * - `claude`: per-message Claude Code (`permission_mode: "ask"`) with the project's fake `claude`,
 *   which, like the real CLI, starts `tinyagi mcp` from `--mcp-config` and calls its
 *   `approval_prompt` tool, which asks through `POST /api/runs/:id/approval`: the full path a
 *   spawned CLI takes, one message (one CLI start, one MCP server start) per approval.
 * The "person" is this process: it watches `approval.requested` on `/api/events` and answers each
 * at once, so every figure is the system's own time, with no one waiting.
 *
 * A burst (docs/approvals.md, "A burst of requests"): `burst` asks B15_BURST (50) requests at
 * once in one run (ASKALL, as parallel tool calls do); the person holds them until all wait, then
 * they are answered one by one (a decision POST each, in a row) or as one group (one
 * `POST /api/approvals/decisions`), rounds alternating; timed from the first answer sent to the
 * run's end (every request answered and the runtime gone on), with the daemon's CPU over it.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createDaemon, FAKE_BIN_DIR, type TestDaemon } from '@tinyagi/test-kit';
import { percentile } from './machine.ts';

const FIXTURE = fileURLToPath(new URL('../../packages/cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));
const TICKS_PER_S = 100;

function daemonCpuS(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / TICKS_PER_S;
}

const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '—');
/** A CPU share per request: below the 10 ms clock tick over the run, it reads as such. */
const cpuMs = (v: number): string => (v < 0.05 ? '< 0.1 ms' : ms(v));

interface Person {
  /** Times (performance.now) each request was seen, by approval id. */
  seen: Map<string, number>;
  /** Times the decision POST returned, by id. */
  answered: Map<string, number>;
  /** The decision POST's own duration, by id. */
  postMs: number[];
  /** Called with each request when seen (after it was answered). */
  onSeen: (fn: (id: string, runId: string) => void) => void;
  /** The requests of BURST_AGENT, held unanswered, in the order seen. */
  held: string[];
  /** Resolves once `n` requests were held in all. */
  waitHeld: (n: number) => Promise<void>;
  close: () => void;
}

/** The agent whose requests the person holds (a burst, answered by the bench itself). */
const BURST_AGENT = 'burst';

/** A person who answers every request at once (allow_once), from the event stream; those of BURST_AGENT are held. */
function instantPerson(daemon: TestDaemon, lastEventId: number): Person {
  const seen = new Map<string, number>();
  const answered = new Map<string, number>();
  const postMs: number[] = [];
  const listeners: Array<(id: string, runId: string) => void> = [];
  const held: string[] = [];
  const heldWaiters: Array<{ n: number; resolve: () => void }> = [];
  const controller = new AbortController();
  const sub = daemon.api.subscribe({ types: ['approval.requested'], lastEventId, signal: controller.signal });
  void (async () => {
    try {
      for await (const event of sub) {
        const approval = (event.data as { approval: { id: string; runId: string; agentId: string } }).approval;
        if (approval.agentId === BURST_AGENT) {
          held.push(approval.id);
          for (const w of heldWaiters.filter((x) => held.length >= x.n)) w.resolve();
          continue;
        }
        const at = performance.now();
        seen.set(approval.id, at);
        await daemon.api.decideApproval({ params: { id: approval.id }, body: { decision: 'allow_once', by: 'bench' } });
        const done = performance.now();
        answered.set(approval.id, done);
        postMs.push(done - at);
        for (const l of listeners) l(approval.id, approval.runId);
      }
    } catch {
      // closed
    }
  })();
  const waitHeld = (n: number): Promise<void> => (held.length >= n ? Promise.resolve() : new Promise((resolve) => heldWaiters.push({ n, resolve })));
  return { seen, answered, postMs, onSeen: (fn) => listeners.push(fn), held, waitHeld, close: () => controller.abort() };
}

interface BurstRound {
  /** The answers' own HTTP time: the POSTs in a row, or the one batch POST. */
  answerMs: number;
  /** From the first answer sent to the run's end (every request answered, the runtime went on). */
  toEndMs: number;
  /** The daemon's CPU over the same span. */
  cpuMs: number;
}

/** `size` requests of one run wait at once; answered one by one or as one group. */
async function burstRound(daemon: TestDaemon, person: Person, size: number, how: 'one by one' | 'group', tag: string): Promise<BurstRound> {
  const before = person.held.length;
  const message = `ASKALL:${JSON.stringify(Array.from({ length: size }, (_, i) => ({ tool: 'Bash', input: { command: `true ${tag}-${i}` } })))}`;
  const sent = await daemon.api.sendMessage({ body: { agent: BURST_AGENT, message, threadKey: tag, channel: 'api', sender: 'bench', senderId: 'bench' } });
  await person.waitHeld(before + size);
  const ids = person.held.slice(before, before + size);
  const c0 = daemonCpuS(daemon.pid);
  const t0 = performance.now();
  if (how === 'one by one') {
    for (const id of ids) await daemon.api.decideApproval({ params: { id }, body: { decision: 'allow_once', by: 'bench' } });
  } else {
    const result = await daemon.api.decideApprovals({ body: { group: 'Bash: true', agent: BURST_AGENT, decision: 'allow_once', by: 'bench' } });
    if (result.decided.length !== size) throw new Error(`the group answered ${result.decided.length} of ${size} requests (${result.skipped.length} skipped)`);
  }
  const t1 = performance.now();
  await ends.wait(sent.conversationId);
  return { answerMs: t1 - t0, toEndMs: performance.now() - t0, cpuMs: (daemonCpuS(daemon.pid) - c0) * 1000 };
}

/** Run ends seen on the event stream, by conversation (no polling: the daemon's CPU is measured). */
function runEnds(daemon: TestDaemon, lastEventId: number): { wait: (conversationId: string) => Promise<void>; close: () => void } {
  const ended = new Map<string, string>();
  const waiters = new Map<string, () => void>();
  const controller = new AbortController();
  const sub = daemon.api.subscribe({ types: ['run.completed', 'run.failed', 'run.cancelled'], lastEventId, signal: controller.signal });
  void (async () => {
    try {
      for await (const event of sub) {
        if (!event.conversationId) continue;
        ended.set(event.conversationId, event.type);
        waiters.get(event.conversationId)?.();
      }
    } catch {
      // closed
    }
  })();
  return {
    wait: (conversationId) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          const type = ended.get(conversationId);
          if (type === undefined) return;
          waiters.delete(conversationId);
          if (type === 'run.completed') resolve();
          else reject(new Error(`the run of ${conversationId} ended ${type}`));
        };
        waiters.set(conversationId, check);
        check();
      }),
    close: () => controller.abort(),
  };
}

let ends: ReturnType<typeof runEnds>;

/** One message to `agent`; resolves with its wall time (POST to its run's end on the event stream). */
async function oneRun(daemon: TestDaemon, agent: string, message: string, thread: string): Promise<number> {
  const t0 = performance.now();
  const sent = await daemon.api.sendMessage({ body: { agent, message, threadKey: thread, channel: 'api', sender: 'bench', senderId: 'bench' } });
  await ends.wait(sent.conversationId);
  return performance.now() - t0;
}

export interface B15Options {
  /** Requests per run of the in-process runtime (default 200). */
  asks: number;
  /** Messages (one approval each) of per-message Claude Code (default 40). */
  claudeMessages: number;
  /** Requests waiting at once in the burst (default B15_BURST, else 50). */
  burst?: number;
}

const BURST_ROUNDS = 3;

export async function benchB15(opts: B15Options): Promise<string> {
  const daemon = await createDaemon({
    prefix: 'tinyagi-b15-',
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      agents: {
        // Every request goes to a person (no rule matches).
        asker: { provider: 'asks-test', permission_mode: 'ask', session_mode: 'per-thread' },
        // The same requests, each allowed by a rule at once (the desk's own cost, no record).
        ruled: { provider: 'asks-test', permission_mode: 'ask', session_mode: 'per-thread', permissions: { rules: [{ action: 'allow', tool: 'Bash', command: 'true*' }] } },
        claude: { provider: 'claude-code', permission_mode: 'ask', session_mode: 'per-thread' },
        'claude-ruled': { provider: 'claude-code', permission_mode: 'ask', session_mode: 'per-thread', permissions: { rules: [{ action: 'allow', tool: 'Bash', command: 'true*' }] } },
        'claude-bypass': { provider: 'claude-code', session_mode: 'per-thread' },
        [BURST_AGENT]: { provider: 'asks-test', permission_mode: 'ask', session_mode: 'per-thread' },
      },
      channels: { enabled: [] },
    }),
  });
  mkdirSync(join(daemon.home, 'kinds'), { recursive: true });
  writeFileSync(join(daemon.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(FIXTURE).href)};\n`);
  await daemon.start();
  // Both streams from the current end of the log: nothing later is missed, whenever they connect.
  const from = (await daemon.api.status()).lastEventId;
  const person = instantPerson(daemon, from);
  ends = runEnds(daemon, from);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const p = (xs: number[], q: number) => ms(percentile(sorted(xs), q));
  try {
    const asks = (n: number, tag: string): string => `ASK:${JSON.stringify(Array.from({ length: n }, (_, i) => ({ tool: 'Bash', input: { command: `true ${tag}-${i}` } })))}`;
    // Warm-up: the runtime module, the first records and the event stream.
    await oneRun(daemon, 'asker', asks(5, 'warm'), 'warm');
    await oneRun(daemon, 'ruled', asks(5, 'warm'), 'warm');

    // In-process runtime: one run, N requests in a row, each answered by the person.
    const cpu0 = daemonCpuS(daemon.pid);
    const firstSeen = person.seen.size;
    const wallAsked = await oneRun(daemon, 'asker', asks(opts.asks, 'a'), 'a');
    const cpuAsked = daemonCpuS(daemon.pid) - cpu0;
    const asked = [...person.seen.entries()].slice(firstSeen);
    // Round trip: a request seen → answered → the runtime goes on and its next request is seen.
    const loops: number[] = [];
    for (let i = 1; i < asked.length; i++) loops.push(asked[i]![1] - asked[i - 1]![1]);
    const daemonSide: number[] = [];
    for (let i = 1; i < asked.length; i++) daemonSide.push(asked[i]![1] - person.answered.get(asked[i - 1]![0])!);

    // The same N requests decided by a rule (no record, no person), and none (the run alone).
    const wallRuled = await oneRun(daemon, 'ruled', asks(opts.asks, 'r'), 'r');
    const cpu2 = daemonCpuS(daemon.pid);
    const wallNone = await oneRun(daemon, 'ruled', asks(0, 'n'), 'n');
    const cpuNone = daemonCpuS(daemon.pid) - cpu2;

    // Per-message Claude Code through the MCP tool: one approval per message.
    const claude = { total: [] as number[], toRequest: [] as number[], afterAnswer: [] as number[] };
    const ruledWalls: number[] = [];
    const bypassWalls: number[] = [];
    let claudeCpu = 0;
    for (let i = 0; i < opts.claudeMessages; i++) {
      const before = person.seen.size;
      const c0 = daemonCpuS(daemon.pid);
      const t0 = performance.now();
      const sent = await daemon.api.sendMessage({ body: { agent: 'claude', message: `FAKE:bash=true c-${i}`, threadKey: `c${i}`, channel: 'api', sender: 'bench', senderId: 'bench' } });
      await ends.wait(sent.conversationId);
      const t3 = performance.now();
      claudeCpu += daemonCpuS(daemon.pid) - c0;
      const entry = [...person.seen.entries()][before];
      if (!entry) throw new Error(`message ${i} of @claude completed without asking`);
      claude.total.push(t3 - t0);
      claude.toRequest.push(entry[1] - t0);
      claude.afterAnswer.push(t3 - person.answered.get(entry[0])!);
      ruledWalls.push(await oneRun(daemon, 'claude-ruled', `FAKE:bash=true r-${i}`, `r${i}`));
      bypassWalls.push(await oneRun(daemon, 'claude-bypass', `FAKE:bash=true b-${i}`, `b${i}`));
    }
    const c0 = daemonCpuS(daemon.pid);
    for (let i = 0; i < opts.claudeMessages; i++) await oneRun(daemon, 'claude-ruled', `FAKE:bash=true q-${i}`, `q${i}`);
    const claudeRuledCpu = daemonCpuS(daemon.pid) - c0;
    const c1 = daemonCpuS(daemon.pid);
    for (let i = 0; i < opts.claudeMessages; i++) await oneRun(daemon, 'claude-bypass', `FAKE:bash=true p-${i}`, `p${i}`);
    const claudeBypassCpu = daemonCpuS(daemon.pid) - c1;

    // A burst: the same requests answered one by one, then as one group, rounds alternating (after one unmeasured of each).
    const size = opts.burst ?? Number(process.env['B15_BURST'] ?? 50);
    const rounds: Record<'one by one' | 'group', BurstRound[]> = { 'one by one': [], group: [] };
    for (let r = 0; r <= BURST_ROUNDS; r++) {
      for (const how of ['one by one', 'group'] as const) {
        const round = await burstRound(daemon, person, size, how, `burst-${r}-${how === 'group' ? 'g' : 'o'}`);
        if (r > 0) rounds[how].push(round);
      }
    }
    const median = (xs: number[]) => percentile(sorted(xs), 50);
    const burstRow = (how: 'one by one' | 'group'): string => {
      const label = how === 'group' ? 'as one group (one POST)' : `one by one (${size} POSTs)`;
      const m = (pick: (r: BurstRound) => number) => ms(median(rounds[how].map(pick)));
      return `| ${label} | ${m((r) => r.answerMs)} | ${m((r) => r.toEndMs)} | ${m((r) => r.cpuMs)} |`;
    };

    // The doc's tables (docs/benchmarks.md, B15): the rows a reader needs.
    const n = opts.asks;
    const perMessageCpu = (cpu: number) => ((cpu / opts.claudeMessages) * 1000).toFixed(1);
    const lines = [
      `| in the daemon, one run asks ${n} times | p50 | p99 |`,
      '|---|---|---|',
      `| round trip: request seen on \`/api/events\` → decision POST → the next request seen | ${p(loops, 50)} | ${p(loops, 99)} |`,
      `| of it the daemon after the answer | ${p(daemonSide, 50)} | ${p(daemonSide, 99)} |`,
      `| per request beyond the run alone: answered by the person / allowed by a rule | ${ms((wallAsked - wallNone) / n)} (CPU ${cpuMs(((cpuAsked - cpuNone) / n) * 1000)}) / ${ms((wallRuled - wallNone) / n)} | |`,
      '',
      `| per-message Claude Code, ${opts.claudeMessages} messages, one approval each | p50 | p99 |`,
      '|---|---|---|',
      `| the whole message, a person asked | ${p(claude.total, 50)} | ${p(claude.total, 99)} |`,
      `| the same, allowed by a rule | ${p(ruledWalls, 50)} | ${p(ruledWalls, 99)} |`,
      `| the same without approvals | ${p(bypassWalls, 50)} | ${p(bypassWalls, 99)} |`,
      `| daemon CPU (person / rule / no approvals) | ${perMessageCpu(claudeCpu)} / ${perMessageCpu(claudeRuledCpu)} / ${perMessageCpu(claudeBypassCpu)} ms | |`,
      '',
      `| ${size} requests waiting at once, answered (median of ${BURST_ROUNDS}) | HTTP | to the run's end | daemon CPU |`,
      '|---|---|---|---|',
      burstRow('one by one'),
      burstRow('group'),
    ];
    return lines.join('\n');
  } finally {
    person.close();
    ends.close();
    await daemon.cleanup();
  }
}
