/**
 * B20, the real CLIs' overhead (issue 52 item 3): for Claude Code, Codex and OpenCode (the pinned
 * versions of packages/real-cli-test/clis), the built daemon with agents on a custom provider
 * pointed at the stand-in model (@tinyagi/test-kit's model server; every other host refused by
 * the deny-all proxy, as in the real-CLI suite), beside the same CLI invoked directly in the same
 * run against the same stand-in.
 *
 * A message is split by the stand-in's own timestamps: from the POST (or the direct spawn, or the
 * direct turn written to a warm CLI's stdin) to the first model request's arrival, and from the
 * last byte of the last model response to the reply event (`outbox.enqueued` on /api/events; for
 * a direct spawn, its exit; for a direct warm turn, its `result` line). Between the two is the
 * model's and the CLI's own work, the same on both sides. Messages go one at a time, each
 * conversation to its own sender; the first of each series (a new session, cold caches) is not
 * counted.
 *
 * - Per message: agent `pm` (no `process`), beside the same CLI's per-message command line as
 *   the daemon builds it (its flags, provider, model and system prompt; not TinyAGI's MCP tools
 *   or model proxy, which are TinyAGI's cost), spawned by this bench, a new session each time.
 * - Warm: agent `w1` (`process: "warm"`), beside the CLI's warm command line driven over stdin
 *   by this bench, one process, one turn after another: Claude Code's stream-json, Codex's
 *   app-server. OpenCode (`acp`, its session API beside) has no direct warm driver here: its
 *   floor is the per-message spawn.
 * - Daemon CPU per message: utime+stime of the daemon process alone (/proc/<pid>/stat) over each
 *   series, divided by its messages.
 * - Memory: warm sessions of agents w1…wN opened one by one; after each, the private memory
 *   (Private_Clean + Private_Dirty, /proc/<pid>/smaps_rollup) of every live warm process's tree
 *   (the CLI and all it started) against their number: the least-squares slope is a session's
 *   cost, r² says how straight the line is. The daemon's own process is read apart (its heap
 *   moves with its GC by more than a session's share of it).
 * - Crash: SIGKILL of w1's warm CLI between two turns of its conversation, then the next message
 *   of the same conversation posted at once: the time from the kill to its reply.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createDaemon, descendants, privateBytes, startDenyProxy, startModelServer, tempDir, waitFor, type DenyProxy, type ModelCall, type ModelServer, type TestDaemon } from '@tinyagi/test-kit';
import { percentile } from './machine.ts';
import { followSse } from './main-job-targets.ts';

export type B20Cli = 'claude' | 'codex' | 'opencode';

export interface B20Options {
  /** Measured messages per CLI and mode (each series adds one uncounted first message). */
  messages: number;
  /** Warm sessions for the memory slope (1…sessions). */
  sessions: number;
  clis: B20Cli[];
}

const BINARIES: Record<B20Cli, { pkg: string; bin: string }> = {
  claude: { pkg: '@anthropic-ai/claude-code', bin: 'claude' },
  codex: { pkg: '@openai/codex', bin: 'codex' },
  opencode: { pkg: 'opencode-ai', bin: 'opencode' },
};
const KEY = 'sk-standin-0123456789';
const MODEL: Record<B20Cli, string> = { claude: 'claude-sonnet-4-6', codex: 'gpt-5.1', opencode: 'gpt-5.1' };
const SYSTEM_PROMPT = 'You are a benchmark agent: answer briefly.';
const TICKS_PER_S = 100; // USER_HZ on Linux
const REPLY_TIMEOUT_MS = 180_000;
const MB = 1024 * 1024;

/** One message, split at the stand-in's timestamps (ms). */
interface Split {
  /** POST (spawn, stdin write) → the first model request's arrival. */
  before: number;
  /** The last model response's last byte → the reply event (exit, result line). */
  after: number;
  total: number;
  /** When it ended (performance.now()). */
  end: number;
}

interface CliFigures {
  version: string;
  perMessage: Split[];
  warm: Split[];
  directPerMessage: Split[];
  directWarm?: Split[];
  cpuPerMessageMs: number;
  cpuWarmMs: number;
  memory: { slopeMb: number; r2: number; points: Array<{ sessions: number; mb: number; daemonMb: number }> };
  crashS: number;
}

/** The pinned binaries linked into a directory of their own (the daemon's PATH gets these and nothing else of node_modules). */
function cliBinDir(): { dir: string; versions: Record<B20Cli, string> } {
  const dir = tempDir('tinyagi-b20-clis-');
  const require = createRequire(new URL('../../packages/real-cli-test/clis/package.json', import.meta.url));
  const versions = {} as Record<B20Cli, string>;
  for (const [name, { pkg, bin }] of Object.entries(BINARIES) as Array<[B20Cli, { pkg: string; bin: string }]>) {
    const manifestPath = require.resolve(`${pkg}/package.json`);
    const manifest = require(manifestPath) as { bin: Record<string, string>; version: string };
    symlinkSync(join(dirname(manifestPath), manifest.bin[bin]!), join(dir, name));
    versions[name] = manifest.version;
  }
  return { dir, versions };
}

/** The custom provider as the daemon's settings name it (what the real-CLI suite's harness writes). */
function standin(cli: B20Cli, url: string): Record<string, unknown> {
  return { name: 'Stand-in', harness: cli, base_url: cli === 'claude' ? url : `${url}/v1`, api_key: KEY, model: MODEL[cli] };
}

function cpuS(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Splits one message given when it started, the calls the stand-in served for it, and when it ended. */
function split(start: number, calls: ModelCall[], end: number, what: string): Split {
  if (calls.length === 0) throw new Error(`B20: ${what} made no model request`);
  const lastByte = Math.max(...calls.map((c) => c.endedAt ?? Number.NaN));
  if (Number.isNaN(lastByte)) throw new Error(`B20: ${what}: a model response had not ended when it answered`);
  return { before: calls[0]!.receivedAt - start, after: end - lastByte, total: end - start, end };
}

interface Daemon {
  daemon: TestDaemon;
  /** Posts one message and waits for its reply event; the message's split. */
  send(agent: string, senderId: string, text: string): Promise<Split>;
  close(): Promise<void>;
}

async function startOurs(cli: B20Cli, binDir: string, model: ModelServer, proxy: DenyProxy, sessions: number): Promise<Daemon> {
  const agent = (warm: boolean) => ({ provider: 'custom:standin', session_mode: 'per-sender', system_prompt: SYSTEM_PROMPT, ...(warm ? { process: 'warm' } : {}) });
  const daemon = await createDaemon({
    prefix: `tinyagi-b20-${cli}-`,
    path: [binDir, '/usr/local/bin', '/usr/bin', '/bin'],
    env: { ...proxy.env(), CLAUDE_CODE_MAX_RETRIES: '0' },
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'custom:standin' },
      custom_providers: { standin: standin(cli, model.url) },
      agents: { pm: agent(false), ...Object.fromEntries(Array.from({ length: sessions }, (_, i) => [`w${i + 1}`, agent(true)])) },
      queue: { concurrency: 1 },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
  const waiting = new Map<string, (at: number) => void>();
  const seen = new Map<string, number>();
  const stop = followSse(daemon.port, '/api/events?types=outbox.enqueued', daemon.token(), (_event, data) => {
    const id = data['conversationId'];
    if (typeof id !== 'string' || seen.has(id)) return;
    const at = performance.now();
    seen.set(id, at);
    waiting.get(id)?.(at);
  });
  return {
    daemon,
    async send(agentId, senderId, text) {
      const first = model.calls.length;
      const start = performance.now();
      const sent = await daemon.api.sendMessage({ body: { message: text, agent: agentId, sender: 'Bench', senderId } });
      const end = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`B20: ${cli} ${agentId}: no reply to "${text}" within ${REPLY_TIMEOUT_MS / 1000} s\n${daemon.logs()}`)), REPLY_TIMEOUT_MS);
        const done = (at: number) => {
          clearTimeout(timer);
          resolve(at);
        };
        const already = seen.get(sent.conversationId);
        if (already !== undefined) done(already);
        else waiting.set(sent.conversationId, done);
      });
      return split(start, model.calls.slice(first), end, `${cli} ${agentId} "${text}"`);
    },
    async close() {
      stop();
      await daemon.cleanup();
    },
  };
}

/** The per-message command line the daemon builds for the CLI (runtimes/claude.ts, codex.ts, opencode.ts), without TinyAGI's MCP tools, straight to the stand-in. */
function directCommand(cli: B20Cli, url: string, dir: string): { args: string[]; env: Record<string, string> } {
  const promptFile = join(dir, 'system-prompt.md');
  writeFileSync(promptFile, SYSTEM_PROMPT);
  if (cli === 'claude')
    return {
      args: [
        '-p',
        '--output-format',
        'stream-json',
        '--verbose',
        '--dangerously-skip-permissions',
        '--system-prompt-snapshot',
        'off',
        '--model',
        MODEL.claude,
        '--append-system-prompt-file',
        promptFile,
      ],
      env: { ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: KEY, CLAUDE_CODE_MAX_RETRIES: '0', IS_SANDBOX: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    };
  if (cli === 'codex') {
    const entry = 'model_providers.tinyagi';
    const settings = [
      'allow_login_shell=false',
      'model_provider="tinyagi"',
      `${entry}.name="Stand-in"`,
      `${entry}.base_url=${JSON.stringify(`${url}/v1`)}`,
      `${entry}.wire_api="responses"`,
      `${entry}.env_key="TINYAGI_CODEX_API_KEY"`,
    ];
    return {
      args: ['exec', '--json', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', ...settings.flatMap((s) => ['-c', s]), '--model', MODEL.codex, '-'],
      env: { TINYAGI_CODEX_API_KEY: KEY },
    };
  }
  const config = join(dir, 'opencode.json');
  writeFileSync(
    config,
    JSON.stringify({
      $schema: 'https://opencode.ai/config.json',
      agent: { 'tinyagi-direct': { description: 'direct', mode: 'primary', prompt: SYSTEM_PROMPT, permission: { edit: 'allow', bash: 'allow', webfetch: 'allow', external_directory: 'allow' } } },
      provider: {
        tinyagi: {
          npm: '@ai-sdk/openai-compatible',
          name: 'Stand-in',
          options: { baseURL: `${url}/v1`, apiKey: '{env:TINYAGI_OPENCODE_API_KEY}' },
          models: { [MODEL.opencode]: { name: MODEL.opencode } },
        },
      },
    }),
  );
  return {
    args: ['run', '--format', 'json', '--model', `tinyagi/${MODEL.opencode}`, '--agent', 'tinyagi-direct', '--title', 'tinyagi direct'],
    env: { OPENCODE_CONFIG: config, OPENCODE_DISABLE_CLAUDE_CODE_SKILLS: '1', TINYAGI_OPENCODE_API_KEY: KEY },
  };
}

/** The environment a direct CLI runs with: its own HOME, the pinned binaries, the deny-all proxy. */
function directEnv(binDir: string, home: string, proxy: DenyProxy, extra: Record<string, string>): Record<string, string> {
  return { PATH: [binDir, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'), HOME: home, ...proxy.env(), ...extra };
}

async function directPerMessage(cli: B20Cli, binDir: string, model: ModelServer, proxy: DenyProxy, count: number): Promise<Split[]> {
  const dir = tempDir(`tinyagi-b20-direct-${cli}-`);
  const home = join(dir, 'home');
  const cwd = join(dir, 'workspace');
  mkdirSync(home);
  mkdirSync(cwd);
  const { args, env } = directCommand(cli, model.url, dir);
  const splits: Split[] = [];
  for (let i = 0; i <= count; i++) {
    const first = model.calls.length;
    const start = performance.now();
    const child = spawn(join(binDir, cli), args, { cwd, env: directEnv(binDir, home, proxy, env), stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    child.stdin.end(`b20 direct ${i}: say ok`);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const end = performance.now();
    if (code !== 0) throw new Error(`B20: ${cli} directly exited ${code}: ${stderr}`);
    if (i > 0) splits.push(split(start, model.calls.slice(first), end, `${cli} directly`));
  }
  return splits;
}

/** A warm CLI driven by the bench over stdin: `turn(text)` resolves when the turn has ended. */
interface DirectWarm {
  turn(text: string): Promise<void>;
  close(): void;
}

/** Claude Code's warm command line (runtimes/claude-warm.ts): one stream-json user line per turn, which ends at its `result` line. */
function warmClaude(args: string[], spawnCli: (args: string[]) => ChildProcessByStdio<Writable, Readable, null>): DirectWarm {
  const child = spawnCli(['-p', '--input-format', 'stream-json', ...args.slice(1)]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async turn(text) {
      child.stdin.write(`${JSON.stringify({ type: 'user', message: { role: 'user', content: text } })}\n`);
      for (;;) {
        const next = await lines.next();
        if (next.done) throw new Error('B20: claude (direct, warm) closed its output');
        if ((JSON.parse(next.value) as { type?: string }).type === 'result') return;
      }
    },
    close: () => child.kill('SIGKILL'),
  };
}

/**
 * Codex's warm command line (runtimes/codex-warm.ts): `codex app-server` with exec's `-c` settings,
 * JSON-RPC lines without a `jsonrpc` member: initialize, thread/start, then turn/start per turn,
 * which ends at its `turn/completed` notification.
 */
async function warmCodex(args: string[], cwd: string, spawnCli: (args: string[]) => ChildProcessByStdio<Writable, Readable, null>): Promise<DirectWarm> {
  const settings = args.slice(args.indexOf('--dangerously-bypass-approvals-and-sandbox') + 1, args.indexOf('--model'));
  const child = spawnCli(['app-server', ...settings]);
  const answers = new Map<number, (result: Record<string, unknown>) => void>();
  let completed = () => {};
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as { id?: number; method?: string; result?: Record<string, unknown>; error?: unknown };
    if (message.method === 'turn/completed') completed();
    else if (message.id !== undefined && message.method === undefined) {
      if (message.error !== undefined) throw new Error(`B20: codex app-server: ${JSON.stringify(message.error)}`);
      answers.get(message.id)?.(message.result ?? {});
    }
  });
  let nextId = 0;
  const request = (method: string, params: unknown): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      const id = ++nextId;
      answers.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  await request('initialize', { clientInfo: { name: 'b20', title: 'B20', version: '1' }, capabilities: null });
  child.stdin.write(`${JSON.stringify({ method: 'initialized' })}\n`);
  const started = await request('thread/start', { model: MODEL.codex, cwd, approvalPolicy: 'never', sandbox: 'danger-full-access', developerInstructions: SYSTEM_PROMPT });
  const threadId = (started.thread as { id: string }).id;
  return {
    async turn(text) {
      const done = new Promise<void>((resolve) => (completed = resolve));
      await request('turn/start', { threadId, input: [{ type: 'text', text, text_elements: [] }] });
      await done;
    },
    close: () => child.kill('SIGKILL'),
  };
}

/** The CLI's warm command line driven by the bench (Claude Code and Codex; none for OpenCode), one turn after another. */
async function directWarm(cli: 'claude' | 'codex', binDir: string, model: ModelServer, proxy: DenyProxy, count: number): Promise<Split[]> {
  const dir = tempDir(`tinyagi-b20-direct-warm-${cli}-`);
  const home = join(dir, 'home');
  const cwd = join(dir, 'workspace');
  mkdirSync(home);
  mkdirSync(cwd);
  const { args, env } = directCommand(cli, model.url, dir);
  const spawnCli = (cliArgs: string[]) => spawn(join(binDir, cli), cliArgs, { cwd, env: directEnv(binDir, home, proxy, env), stdio: ['pipe', 'pipe', 'inherit'] });
  const warm = cli === 'claude' ? warmClaude(args, spawnCli) : await warmCodex(args, cwd, spawnCli);
  const splits: Split[] = [];
  try {
    for (let i = 0; i <= count; i++) {
      const first = model.calls.length;
      const start = performance.now();
      await warm.turn(`b20 direct warm ${i}: say ok`);
      const end = performance.now();
      if (i > 0) splits.push(split(start, model.calls.slice(first), end, `${cli} directly, warm`));
    }
  } finally {
    warm.close();
  }
  return splits;
}

/** Least squares y = a + b·x, with r². */
function fit(points: Array<{ x: number; y: number }>): { slope: number; r2: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const syy = points.reduce((s, p) => s + (p.y - my) ** 2, 0);
  return { slope: sxy / sxx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

async function liveWarmPids(daemon: TestDaemon): Promise<Array<{ agentId: string; pid: number }>> {
  const { sessions } = await daemon.api.listSessions();
  return sessions.flatMap((s) => (s.pid === null ? [] : [{ agentId: s.agentId, pid: s.pid }]));
}

async function benchCli(cli: B20Cli, binDir: string, version: string, opts: B20Options): Promise<CliFigures> {
  const model = await startModelServer({ respond: () => ({ reply: 'ok' }) });
  const proxy = await startDenyProxy();
  const ours = await startOurs(cli, binDir, model, proxy, opts.sessions);
  try {
    const series = async (agent: string, sender: string): Promise<{ splits: Split[]; cpuMs: number }> => {
      await ours.send(agent, sender, `b20 ${agent} first: say ok`);
      const cpuBefore = cpuS(ours.daemon.pid);
      const splits: Split[] = [];
      for (let i = 0; i < opts.messages; i++) splits.push(await ours.send(agent, sender, `b20 ${agent} ${i}: say ok`));
      return { splits, cpuMs: ((cpuS(ours.daemon.pid) - cpuBefore) * 1000) / opts.messages };
    };
    const perMessage = await series('pm', 'latency');
    const warm = await series('w1', 'latency');
    const directPm = await directPerMessage(cli, binDir, model, proxy, opts.messages);
    const directWarmSplits = cli === 'opencode' ? undefined : await directWarm(cli, binDir, model, proxy, opts.messages);

    // Crash: the warm CLI of w1's conversation killed between two turns, the next message posted at once.
    const w1 = (await liveWarmPids(ours.daemon)).find((s) => s.agentId === 'w1');
    if (!w1) throw new Error(`B20: ${cli}: no live warm process for w1`);
    const killedAt = performance.now();
    process.kill(w1.pid, 'SIGKILL');
    const after = await ours.send('w1', 'latency', 'b20 after the kill: say ok');
    const crashS = (after.end - killedAt) / 1000;

    // Memory: warm sessions opened one at a time (w1's is live again); after each, every live warm
    // process's tree, and the daemon's own process (whose heap moves with its GC, so apart).
    const points: Array<{ sessions: number; mb: number; daemonMb: number }> = [];
    for (let k = 1; k <= opts.sessions; k++) {
      if (k > 1) await ours.send(`w${k}`, 'memory', `b20 w${k} memory: say ok`);
      const live = await waitFor(
        async () => {
          const pids = await liveWarmPids(ours.daemon);
          return pids.length >= k ? pids : undefined;
        },
        30_000,
        `${k} warm sessions`,
      );
      const trees = live.flatMap((s) => [s.pid, ...descendants(s.pid)]);
      points.push({ sessions: live.length, mb: trees.reduce((sum, pid) => sum + privateBytes(pid), 0) / MB, daemonMb: privateBytes(ours.daemon.pid) / MB });
    }
    const line = fit(points.map((p) => ({ x: p.sessions, y: p.mb })));
    return {
      version,
      perMessage: perMessage.splits,
      warm: warm.splits,
      directPerMessage: directPm,
      ...(directWarmSplits ? { directWarm: directWarmSplits } : {}),
      cpuPerMessageMs: perMessage.cpuMs,
      cpuWarmMs: warm.cpuMs,
      memory: { slopeMb: line.slope, r2: line.r2, points },
      crashS,
    };
  } finally {
    await ours.close();
    await Promise.all([model.close(), proxy.close()]);
  }
}

const p50 = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const p90 = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    90,
  );
const ms = (values: Split[] | undefined, pick: (s: Split) => number): string => {
  if (!values) return '—';
  return `${p50(values.map(pick)).toFixed(0)} (${p90(values.map(pick)).toFixed(0)})`;
};

export async function benchB20(opts: B20Options): Promise<string> {
  const { dir, versions } = cliBinDir();
  const figures: Array<[B20Cli, CliFigures]> = [];
  for (const cli of opts.clis) figures.push([cli, await benchCli(cli, dir, versions[cli], opts)]);

  const header = `| | ${figures.map(([cli, f]) => `${cli} ${f.version}`).join(' | ')} |\n|---|${figures.map(() => '---|').join('')}`;
  const row = (label: string, cell: (f: CliFigures) => string) => `| ${label} | ${figures.map(([, f]) => cell(f)).join(' | ')} |`;
  const before = (s: Split) => s.before;
  const after = (s: Split) => s.after;
  const overhead = (s: Split) => s.before + s.after;
  const added = (ours: Split[], floor: Split[] | undefined) => (floor ? `${(p50(ours.map(overhead)) - p50(floor.map(overhead))).toFixed(0)}` : '—');
  const latency = [
    header,
    row('per message: POST → first model request', (f) => ms(f.perMessage, before)),
    row('per message: last model byte → reply event', (f) => ms(f.perMessage, after)),
    row('per message: POST → reply event', (f) => ms(f.perMessage, (s) => s.total)),
    row('directly, per message: spawn → first model request', (f) => ms(f.directPerMessage, before)),
    row('directly, per message: last model byte → exit', (f) => ms(f.directPerMessage, after)),
    row('directly, per message: spawn → exit', (f) => ms(f.directPerMessage, (s) => s.total)),
    row('**TinyAGI adds per message** (p50 of before + after, ours − direct)', (f) => added(f.perMessage, f.directPerMessage)),
    row('warm: POST → first model request', (f) => ms(f.warm, before)),
    row('warm: last model byte → reply event', (f) => ms(f.warm, after)),
    row('warm: POST → reply event', (f) => ms(f.warm, (s) => s.total)),
    row('directly, warm: turn written to stdin → first model request', (f) => ms(f.directWarm, before)),
    row("directly, warm: last model byte → turn's end (result line, turn/completed)", (f) => ms(f.directWarm, after)),
    row('directly, warm: turn written → its end', (f) => ms(f.directWarm, (s) => s.total)),
    row('**TinyAGI adds per message, warm** (ours − direct warm)', (f) => added(f.warm, f.directWarm)),
  ].join('\n');
  const costs = [
    header,
    row('daemon CPU per message, per message (ms)', (f) => f.cpuPerMessageMs.toFixed(1)),
    row('daemon CPU per message, warm (ms)', (f) => f.cpuWarmMs.toFixed(1)),
    row('private memory per warm session (slope, MB; r²)', (f) => `${f.memory.slopeMb.toFixed(1)}; ${f.memory.r2.toFixed(3)}`),
    row("the warm processes' trees at 1 … N sessions (MB)", (f) => f.memory.points.map((p) => p.mb.toFixed(0)).join(', ')),
    row('the daemon process itself at 1 … N sessions (MB)', (f) => f.memory.points.map((p) => p.daemonMb.toFixed(0)).join(', ')),
    row("kill -9 of the warm CLI → the conversation's next reply (s)", (f) => f.crashS.toFixed(2)),
  ].join('\n');
  return `Milliseconds, p50 (p90) of ${opts.messages} messages per row, one at a time.\n\n${latency}\n\n${costs}`;
}
