/**
 * B27: TinyOffice and the terminal dashboard with 50 live runs, beside a floor of 2.
 *
 * The built `tinyagi` started by `tinyagi start` in a temp home, as a user starts it, with mock
 * agents. A project holds one task per agent: "stream" tasks report a step about every STEP_MS
 * (streamed text, a tool call, its result, in turn) for longer than the bench lasts; "ask" tasks
 * ask approvals one after another (each answer brings the next). Phase "floor": task 1 (streaming)
 * and the last task (asking) are started; phase "fifty": all of them. In each phase, for
 * `windowS` seconds each:
 * - TinyOffice in Debian's Chromium (Playwright, headless, 1440×900): the project's board, the
 *   Office, the run tree of task 1's conversation and the Approvals page. Per page: the gaps
 *   between animation frames, long tasks (PerformanceObserver), React commits (a stand-in
 *   devtools hook counts them) and event → DOM: each streamed step's text is unique, and a
 *   MutationObserver notes when it first shows, against the event's `ts` read from the same
 *   stream here. On the board a quick task (agent aq) goes to Review every second: its
 *   conversation's end → its card in Review; on Approvals a request is answered every second: the
 *   next request → its card. A screenshot of each page goes to `shotsDir`.
 * - The terminal dashboard: `@tinyagi/visualizer` as `tinyagi visualize` composes it, 120×40, in
 *   its own process (fifty-ui-dashboard.ts: CPU, frames, Ink's render time, events applied), and
 *   the real `tinyagi visualize` in tmux (120×40): its CPU from /proc, its screen to `shotsDir`.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient, type ApiClient, type TinyEvent } from '@tinyagi/client';
import { CLI_BUILT, descendants, freePort, runCli, tempHome, tmuxServer, waitFor } from '@tinyagi/test-kit';

const OFFICE_DIR = fileURLToPath(new URL('../../apps/tinyoffice/', import.meta.url));
const DASHBOARD_CHILD = fileURLToPath(new URL('./fifty-ui-dashboard.ts', import.meta.url));
const STEP_MS = 250;
/** Agent i steps every STEP_MS - 50 + (i × 37 mod 100) ms: runs started together drift apart, as real ones do, instead of reporting in lockstep. */
const stepMs = (i: number): number => STEP_MS - 50 + ((i * 37) % 100);
/** The requests each asking run makes, one after the other. */
const ASKS = 40;

export interface B27Options {
  /** Live runs in the loaded phase (50). */
  runs: number;
  /** Of them, those that wait on an approval instead of streaming (10). */
  asking: number;
  /** Seconds measured on each page and on the dashboard, per phase (15). */
  windowS: number;
  /** Where the screenshots and the tmux capture go. */
  shotsDir: string;
}

type Chromium = typeof import('@playwright/test').chromium;
type Page = import('@playwright/test').Page;

/** Playwright is TinyOffice's dependency (its browser tests), resolved from there. */
async function loadChromium(): Promise<Chromium> {
  const path = createRequire(join(OFFICE_DIR, 'package.json')).resolve('@playwright/test');
  const mod = (await import(path)) as { chromium?: Chromium; default: { chromium: Chromium } };
  return mod.chromium ?? mod.default.chromium;
}

const agentId = (i: number) => `a${String(i + 1).padStart(2, '0')}`;

/** The streaming script: text, a tool call and its result in turn, every `every` ms, each step's text unique (`<agent> step <n>`). */
function streamSteps(agent: string, steps: number, every: number): unknown[] {
  return Array.from({ length: steps }, (_, n) => {
    const at = { after_ms: every };
    if (n % 3 === 0) return { text: `${agent} step ${n} thinking about the next change`, ...at };
    if (n % 3 === 1) return { tool: 'Bash', id: `t${n}`, kind: 'command', title: `${agent} step ${n} pnpm test`, input: { command: 'pnpm test' }, ...at };
    return { tool_result: 'Bash', id: `t${n - 1}`, ok: true, output: `${agent} step ${n} 12 passed`, ...at };
  });
}

function settings(root: string, runs: number, steps: number): Record<string, unknown> {
  const agents: Record<string, unknown> = Object.fromEntries(
    Array.from({ length: runs }, (_, i) => {
      const id = agentId(i);
      return [
        id,
        {
          name: `Agent ${i + 1}`,
          provider: 'mock',
          permission_mode: 'ask',
          permissions: { expires_s: 3600 },
          mock: {
            reply: 'done',
            replies: [
              { match: 'stream', progress: streamSteps(id, steps, stepMs(i)), reply: 'streamed' },
              // One request after another: each answer brings the next (a card on the Approvals page).
              {
                match: 'ask',
                actions: Array.from({ length: ASKS }, (_, k) => ({ ask_approval: { tool: 'Bash', input: { command: `make deploy-${id}-${k + 1}` }, summary: `deploy ${id}'s change` } })),
                reply: 'deployed',
              },
            ],
          },
        },
      ];
    }),
  );
  // aq does the board's quick tasks: to Review at once, and its conversation ends.
  agents['aq'] = { name: 'Quick', provider: 'mock', mock: { reply: 'done', replies: [{ match: 'quick', actions: [{ update_task: { status: 'review' } }], reply: 'done' }] } };
  // queue.concurrency: the default runs 8 at once; 50 agents at work is what is measured.
  return { workspace: { path: join(root, 'workspace') }, models: { provider: 'mock' }, channels: { enabled: [] }, queue: { concurrency: runs + 10 }, agents };
}

interface Daemon {
  url: string;
  token: string;
  client: ApiClient;
  env: Record<string, string>;
  stop(): Promise<void>;
}

async function startDaemon(runs: number, steps: number): Promise<Daemon> {
  const home = tempHome({ prefix: 'tinyagi-b27-' });
  writeFileSync(join(home.home, 'settings.json'), JSON.stringify(settings(home.root, runs, steps), null, 2));
  const port = await freePort();
  const env = { ...home.env, TINYAGI_API_PORT: String(port) };
  const started = spawnSync(process.execPath, [CLI_BUILT, 'start'], { env, encoding: 'utf8', timeout: 120_000 });
  if (started.status !== 0) {
    home.cleanup();
    throw new Error(`B27: tinyagi start failed: ${started.stderr}${started.stdout}`);
  }
  const url = `http://127.0.0.1:${port}`;
  const token = readFileSync(join(home.home, 'api-token'), 'utf8').trim();
  const client = createApiClient({ baseUrl: url, token });
  return {
    url,
    token,
    client,
    env,
    async stop() {
      await runCli(['stop', '--timeout', '20'], env, { build: 'built', timeoutMs: 60_000 });
      home.cleanup();
    },
  };
}

async function loginLink(daemon: Daemon): Promise<string> {
  const out = await runCli(['office', '--no-open'], daemon.env, { build: 'built' });
  const link = /http:\/\/\S+\/login#code=\S+/.exec(out.stdout)?.[0];
  if (!link) throw new Error(`B27: tinyagi office printed no link:\n${out.stdout}${out.stderr}`);
  return link;
}

export async function benchB27(options: B27Options): Promise<string> {
  // Long enough that no streaming run ends before the last window does.
  const steps = Math.ceil(((options.windowS * 10 + 180) * 1000) / (STEP_MS - 50));
  const daemon = await startDaemon(options.runs, steps);
  mkdirSync(options.shotsDir, { recursive: true });
  const tokens = new Map<string, number>();
  const published = { count: 0 };
  const quick = new Map<string, string>();
  const sub = daemon.client.subscribe({ lastEventId: (await daemon.client.status()).lastEventId });
  sub.onEvent((event) => {
    published.count++;
    noteTokens(tokens, quick, event);
  });
  try {
    return await measure(daemon, options, tokens, published);
  } finally {
    sub.close();
    await daemon.stop();
  }
}

/**
 * The unique texts the scripts and the bench put in events (`a07 step 12`, `deploy-a41-2`, a
 * quick task's `quick 3`), each with its first event's time; a quick task's, with its
 * conversation's end (the board shows it in Review after that).
 */
const TOKEN = /(a\d\d step \d+|quick \d+|deploy-a\d\d-\d+)\b/g;

function noteTokens(tokens: Map<string, number>, conversations: Map<string, string>, event: TinyEvent): void {
  for (const m of JSON.stringify(event.data).matchAll(TOKEN)) {
    if (!tokens.has(m[1]!)) tokens.set(m[1]!, event.ts);
    if (event.conversationId && m[1]!.startsWith('quick ')) conversations.set(event.conversationId, m[1]!);
  }
  const quick = event.type === 'conversation.completed' && event.conversationId ? conversations.get(event.conversationId) : undefined;
  if (quick) tokens.set(quick, event.ts);
}

/** Installed before each page's scripts: frame gaps, long tasks, React commits (a stand-in devtools hook) and when each token first shows. */
function instrument(): void {
  const b = { recording: false, frames: [] as number[], long: [] as number[], commits: 0, shift: 0, seen: {} as Record<string, number> };
  const w = window as unknown as Record<string, unknown>;
  w['__b27'] = b;
  w['__REACT_DEVTOOLS_GLOBAL_HOOK__'] = {
    supportsFiber: true,
    renderers: new Map(),
    inject: () => 1,
    checkDCE: () => undefined,
    onScheduleFiberRoot: () => undefined,
    onCommitFiberUnmount: () => undefined,
    onPostCommitFiberRoot: () => undefined,
    onCommitFiberRoot: () => {
      if (b.recording) b.commits++;
    },
  };
  let last = 0;
  const tick = (t: number) => {
    if (b.recording && last > 0) b.frames.push(t - last);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    if (b.recording) for (const e of list.getEntries()) b.long.push(e.duration);
  }).observe({ type: 'longtask' });
  // Layout shifts (CLS's entries): content that jumps while the person reads it.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { value: number; hadRecentInput: boolean }>) if (b.recording && !e.hadRecentInput) b.shift += e.value;
  }).observe({ type: 'layout-shift' });
  const pattern = /(a\d\d step \d+|quick \d+|deploy-a\d\d-\d+)\b/g;
  // Each token as `token` and, on the board, as `token@<column>` too.
  const note = (node: Node) => {
    const text = node.textContent;
    if (!b.recording || !text) return;
    const at = performance.timeOrigin + performance.now();
    const column = (node instanceof Element ? node : node.parentElement)?.closest('[data-column]')?.getAttribute('data-column');
    for (const m of text.matchAll(pattern)) {
      b.seen[m[1]!] ??= at;
      if (column) b.seen[`${m[1]!}@${column}`] ??= at;
    }
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') note(r.target);
      else for (const n of r.addedNodes) note(n);
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

interface PageFigures {
  frames: number[];
  long: number[];
  commits: number;
  /** The layout shifts' scores added up (no input during the window). */
  shift: number;
  latencies: number[];
  expected: number;
  browserCpuMs: number;
  ms: number;
}

interface Scene {
  name: string;
  path: string;
  ready: (page: Page) => Promise<unknown>;
  /** Which tokens this page should show, and where (the key the page notes it under). */
  shows: (token: string) => string | undefined;
  /** What the person (or another surface) does once a second during the window. */
  act?: (k: number) => Promise<void>;
}

const cpuOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
};
const treeCpu = (pid: number): number => [pid, ...descendants(pid)].reduce((sum, p) => sum + cpuOf(p), 0);
const browserCpu = (): number =>
  descendants(process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').includes('chrom');
      } catch {
        return false;
      }
    })
    .reduce((sum, pid) => sum + cpuOf(pid), 0);

async function measurePage(page: Page, daemon: Daemon, scene: Scene, options: B27Options, tokens: Map<string, number>, label: string): Promise<PageFigures> {
  await page.goto(`${daemon.url}${scene.path}`);
  await scene.ready(page);
  const from = Date.now();
  const cpu0 = browserCpu();
  await page.evaluate(() => {
    const b = (window as unknown as { __b27: { recording: boolean } }).__b27;
    b.recording = true;
  });
  for (let k = 0; Date.now() - from < options.windowS * 1000; k++) {
    const next = from + (k + 1) * 1000;
    await scene.act?.(k);
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const until = Date.now();
  const got = await page.evaluate(() => {
    const b = (window as unknown as { __b27: { recording: boolean; frames: number[]; long: number[]; commits: number; shift: number; seen: Record<string, number> } }).__b27;
    b.recording = false;
    return { frames: b.frames, long: b.long, commits: b.commits, shift: b.shift, seen: b.seen };
  });
  const ms = Date.now() - from;
  const browserCpuMs = browserCpu() - cpu0;
  await page.screenshot({ path: join(options.shotsDir, `${label}-${scene.name.replace(/ /g, '-')}.png`) });
  // Tokens published in the window (a second's grace at its end for the last to show) that this page shows.
  const latencies: number[] = [];
  let expected = 0;
  for (const [token, ts] of tokens) {
    const key = scene.shows(token);
    if (ts < from || ts > until - 1000 || key === undefined) continue;
    expected++;
    const at = got.seen[key];
    if (at !== undefined) latencies.push(at - ts);
  }
  return { frames: got.frames, long: got.long, commits: got.commits, shift: got.shift, latencies, expected, browserCpuMs, ms };
}

const running = async (client: ApiClient): Promise<Array<{ runId: string; agentId: string; conversationId: string }>> =>
  ((await client.status()).orchestrator as { running?: Array<{ runId: string; agentId: string; conversationId: string }> }).running ?? [];

async function startTasks(client: ApiClient, ids: string[], live: number): Promise<void> {
  for (const id of ids) await client.patchTask({ params: { id }, body: { status: 'in_progress' } });
  let seen = 0;
  const enough = async (): Promise<boolean> => {
    seen = (await running(client)).length;
    return seen >= live;
  };
  await waitFor(enough, 90_000, `${live} live runs`, 250).catch((e: unknown) => {
    throw new Error(`B27: ${(e as Error).message} (${seen} running)`);
  });
}

async function measure(daemon: Daemon, options: B27Options, tokens: Map<string, number>, published: { count: number }): Promise<string> {
  const { client } = daemon;
  const project = await client.createProject({ body: { name: 'Fifty' } });
  const tasks = [];
  for (let i = 0; i < options.runs; i++) {
    const kind = i >= options.runs - options.asking ? 'ask' : 'stream';
    tasks.push(await client.createTask({ body: { title: `${kind}: change ${i + 1} of the login flow`, projectId: project.id, status: 'todo', assigneeAgent: agentId(i) } }));
  }
  const first = tasks[0]!;
  const chromium = await loadChromium();
  const browser = await chromium.launch({
    executablePath: process.env['TINYOFFICE_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const rows: string[] = [];
  const dashboard: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addInitScript(instrument);
    const page = await context.newPage();
    await page.goto(await loginLink(daemon));
    await page.waitForSelector('[data-testid="connection"][data-state="open"]', { timeout: 60_000 });
    // Floor: task 1 streaming and the last task asking.
    await startTasks(client, [first.id, tasks.at(-1)!.id], 2);
    const conversation = (await running(client)).find((r) => r.agentId === agentId(0))!.conversationId;
    let quickTasks = 0;
    const scenes: Scene[] = [
      {
        name: 'board',
        path: `/projects?project=${project.id}`,
        ready: (p) => p.waitForFunction((n) => document.querySelectorAll('[data-testid="kanban"] li[data-task]').length >= n, options.runs, { timeout: 60_000 }),
        // A quick task, from its conversation's end to its card in Review.
        shows: (t) => (t.startsWith('quick ') ? `${t}@review` : undefined),
        act: async () => {
          quickTasks++;
          const task = await client.createTask({ body: { title: `quick ${quickTasks}`, projectId: project.id, status: 'todo', assigneeAgent: 'aq' } });
          await client.patchTask({ params: { id: task.id }, body: { status: 'in_progress' } });
        },
      },
      {
        name: 'office',
        path: '/',
        ready: (p) => p.locator('[data-testid="desks"] [data-testid="bubble"]').first().waitFor({ timeout: 60_000 }),
        // Any streaming agent's text or tool call: its desk's bubble (a frame shows the latest of each agent's, so some are drawn over unseen).
        shows: (t) => (/^a\d\d step /.test(t) && Number(t.split(' ')[2]) % 3 !== 2 ? t : undefined),
      },
      {
        name: 'run tree',
        path: `/conversations/view?id=${conversation}`,
        ready: (p) => p.getByText('a01 step').first().waitFor({ timeout: 60_000 }),
        // A tool call's title and streamed text show; a tool result's output does not (every third step).
        shows: (t) => (t.startsWith('a01 step ') && Number(t.slice(9)) % 3 !== 2 ? t : undefined),
      },
      {
        name: 'approvals',
        path: '/approvals',
        ready: (p) => p.locator('[data-testid="approval"]').first().waitFor({ timeout: 60_000 }),
        shows: (t) => (t.startsWith('deploy-') ? t : undefined),
        act: async () => {
          const oldest = (await client.listApprovals({ query: { status: 'pending' } })).sort((a, b) => a.requestedAt - b.requestedAt)[0];
          if (!oldest) return;
          await client.decideApproval({ params: { id: oldest.id }, body: { decision: 'allow_once' } });
        },
      },
    ];
    for (const [label, live] of [
      ['floor', 2],
      ['fifty', options.runs],
    ] as const) {
      if (label === 'fifty')
        await startTasks(
          client,
          tasks.slice(1, -1).map((t) => t.id),
          options.runs,
        );
      for (const scene of scenes) rows.push(pageRow(label, live, scene.name, await measurePage(page, daemon, scene, options, tokens, label)));
      dashboard.push(await measureDashboard(daemon, options, label, live, published));
    }
  } finally {
    await browser.close();
  }
  return [
    '| live runs | page | frame gap ms, p50/p95/max | frames > 50 ms | long tasks, count/longest ms | React commits/s | event → DOM ms, p50/p95/max (seen/sent) | layout shift | browser CPU |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '| live runs | dashboard: events/s published/applied | CPU | frames/s | Ink render ms, p50/p95/max | KiB/s out | `tinyagi visualize` in tmux, CPU |',
    '|---|---|---|---|---|---|---|',
    ...dashboard,
  ].join('\n');
}

const pct = (xs: number[], p: number): number => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!);
const f0 = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(0));
const f1 = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(1));
const share = (cpuMs: number, ms: number) => `${((cpuMs / ms) * 100).toFixed(0)}%`;

function pageRow(label: string, live: number, name: string, f: PageFigures): string {
  const frames = `${f1(pct(f.frames, 50))}/${f1(pct(f.frames, 95))}/${f0(Math.max(...f.frames))}`;
  const long = `${f.long.length}/${f.long.length ? f0(Math.max(...f.long)) : '–'}`;
  const dom = `${f0(pct(f.latencies, 50))}/${f0(pct(f.latencies, 95))}/${f0(Math.max(...f.latencies))} (${f.latencies.length}/${f.expected})`;
  const over = `${f.frames.filter((x) => x > 50).length}/${f.frames.length}`;
  return `| ${live} (${label}) | ${name} | ${frames} | ${over} | ${long} | ${f1((f.commits * 1000) / f.ms)} | ${dom} | ${f.shift.toFixed(2)} | ${share(f.browserCpuMs, f.ms)} |`;
}

interface DashboardReport {
  ms: number;
  cpuMs: number;
  renders: number[];
  bytes: number;
  events: number;
  connection: string;
}

/** The dashboard in its own process for a window: its CPU, frames and render times, and the events it applied beside those the daemon published. */
async function dashboardInProcess(daemon: Daemon, options: B27Options, published: { count: number }): Promise<{ report: DashboardReport; published: number }> {
  const child = fork(DASHBOARD_CHILD, [JSON.stringify({ url: daemon.url, token: daemon.token })], { execArgv: process.execArgv });
  const replies: Array<(m: DashboardReport) => void> = [];
  let ready: () => void = () => undefined;
  const readyP = new Promise<void>((r) => (ready = r));
  child.on('message', (m: { type: string } & DashboardReport) => {
    if (m.type === 'ready') ready();
    if (m.type === 'report') replies.shift()?.(m);
  });
  const report = (): Promise<DashboardReport> =>
    new Promise((resolve) => {
      replies.push(resolve);
      child.send({ type: 'report' });
    });
  try {
    await readyP;
    await waitFor(async () => (await report()).connection === 'open', 30_000, 'the dashboard connected', 100);
    // Its first frames draw what it loaded: measured from the next report on.
    await new Promise((r) => setTimeout(r, 2000));
    await report();
    const from = published.count;
    await new Promise((r) => setTimeout(r, options.windowS * 1000));
    const got = await report();
    return { report: got, published: published.count - from };
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

/** The real `tinyagi visualize` in tmux (120×40) for a window: its CPU, and its screen written to SHOTS_DIR. */
async function dashboardInTmux(daemon: Daemon, options: B27Options, label: string): Promise<number> {
  const tmux = tmuxServer(`b27-${process.pid}`);
  try {
    const env = Object.entries(daemon.env).map(([k, v]) => `${k}=${v}`);
    tmux.tmux('new-session', '-d', '-s', 'viz', '-x', '120', '-y', '40', 'env', '-i', ...env, 'TERM=xterm-256color', process.execPath, CLI_BUILT, 'visualize');
    const pid = Number(tmux.tmux('display', '-p', '-t', 'viz', '#{pane_pid}').trim());
    const read = () => tmux.tmux('capture-pane', '-p', '-t', 'viz');
    await tmux.until(read, (screen) => /a\d\d/.test(screen), 'the dashboard drew the agents', 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const cpu0 = treeCpu(pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, options.windowS * 1000));
    const share = (treeCpu(pid) - cpu0) / (Date.now() - t0);
    writeFileSync(join(options.shotsDir, `${label}-dashboard.txt`), read());
    return share;
  } finally {
    tmux.kill();
  }
}

async function measureDashboard(daemon: Daemon, options: B27Options, label: string, live: number, published: { count: number }): Promise<string> {
  const { report: r, published: sent } = await dashboardInProcess(daemon, options, published);
  const tmuxShare = await dashboardInTmux(daemon, options, label);
  const s = r.ms / 1000;
  return `| ${live} (${label}) | ${f0(sent / s)}/${f0(r.events / s)} | ${share(r.cpuMs, r.ms)} | ${f1(r.renders.length / s)} | ${f1(pct(r.renders, 50))}/${f1(pct(r.renders, 95))}/${f1(Math.max(...r.renders))} | ${f1(r.bytes / 1024 / s)} | ${(tmuxShare * 100).toFixed(0)}% |`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchB27({ runs: Number(process.env.B27_RUNS ?? 50), asking: Number(process.env.B27_ASKING ?? 10), windowS: Number(process.env.B27_WINDOW_S ?? 15), shotsDir: '/tmp/b27-shots' }));
}
