/**
 * B28: a task's worktree on a large repository (issue 87), 1 task and N started at once, beside
 * the floor and the naive way in the same run.
 *
 * The repository (bench/src/large-repo.ts, cached): 50,000 tracked files, ~1.15 GB, and an
 * ignored `node_modules` of real npm packages (~700 MB). Each way, in this order:
 * - floor: `git worktree add -b <branch> <dir> main` (no dependencies);
 * - naive: the same, then `cp -r node_modules` into it;
 * - TinyAGI: the `tinyagi` bundle started by `tinyagi start` in a fresh home, the repository bound
 *   through the API with `node_modules` copied (`files: [{ path: 'node_modules', mode: 'copy' }]`)
 *   and, where given, a `checkout` mode; tasks created, then moved to In progress through the API
 *   (PATCH), each timed from its PATCH until its `task.worktree_created` event arrives on
 *   `/api/events`. The daemon's loop: GET /api/health every 50 ms from the daemon's start to its
 *   stop, the worst answer while idle and while tasks start. Several TinyAGI runs may run (a
 *   build of another commit, another checkout mode), each its own daemon.
 * Per way: `rounds` single tasks one after another (each removed before the next; the first may
 * pay for what later ones reuse, so it is shown apart), then `tasks` started at once. Disk of
 * the tasks started at once: the device's used blocks (statfs, after `sync`) after − before,
 * divided by the tasks (anything else writing on the device counts too), and `du -s -x -B1` of
 * their folders and git admin folders (real blocks; `-x`: not into a mounted overlay, whose files
 * are the base's), and apart the bases a layered checkout made once. The write check: a task
 * appends to a file of its `node_modules`; the person's copy and another task's must not change.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BUILT, createDaemon, QUIET_GIT_ENV, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { duBytes, type LargeRepo, type LargeRepoOptions, largeRepository, run, tidy } from './large-repo.ts';
import { percentile } from './machine.ts';

export interface TinyagiRun {
  label: string;
  /** The CLI entry (`…/packages/cli/dist/bin.js`), CLI_BUILT for this checkout's build. */
  bin: string;
  /** The binding's `checkout` (absent: the field is not sent, as a build without it needs). */
  checkout?: 'auto' | 'layered' | 'full';
}

export interface LargeWorktreeBenchOptions extends LargeRepoOptions {
  /** Tasks started at once. */
  tasks: number;
  /** Single tasks, one after another, per way. */
  rounds: number;
  tinyagi: TinyagiRun[];
  /** The git ways run before TinyAGI's (default both). */
  gitWays?: Array<'floor' | 'naive'>;
  /** Where the worktrees go (default: the system's temp folder; on the cache's device for the disk figures). */
  tmpRoot?: string;
}

export interface WayResult {
  id: string;
  label: string;
  /** ms of each single task, in order. */
  single: number[];
  /** ms of each of the tasks started at once, from its own start. */
  atOnce: number[];
  /** ms from the first start until the last task was ready. */
  atOnceWallMs: number;
  statfsPerTask: number;
  duPerTask: number;
  /** Bytes made once and shared by the tasks (a layered checkout's bases); 0 otherwise. */
  sharedOnceBytes: number;
  /** 'passed', or 'n/a' (no dependency folder). */
  writeCheck: string;
  /** The daemon's loop (TinyAGI only): worst GET /api/health, idle, during the single starts, during the starts at once; and that window's p99. */
  lag?: { idleMaxMs: number; singleMaxMs: number; atOnceMaxMs: number; atOnceP99Ms: number; samples: number };
  /** Failed `git worktree add` calls tried again (the floor and naive ways started at once). */
  retries: number;
  /** Tasks whose worktree step failed, with why. */
  failures: string[];
}

export interface LargeWorktreeBenchResult {
  repo: LargeRepo['facts'];
  tasks: number;
  rounds: number;
  ways: WayResult[];
}

interface Made {
  /** NaN when it failed. */
  ms: number;
  /** The task's folder ('' when it failed). */
  dir: string;
  /** Why its worktree step failed (TinyAGI reports it and goes on: the row says how many failed). */
  failed?: string;
}

/** Ascending, without the failed (NaN). */
const sorted = (xs: number[]) => xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
const usedBytes = (path: string) => {
  const s = statfsSync(path);
  return (s.blocks - s.bfree) * s.bsize;
};
const freeBytes = (path: string) => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The git admin folders of the worktrees under `root`. */
function adminDirs(repoDir: string, root: string): string[] {
  const base = join(repoDir, '.git', 'worktrees');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((name) => join(base, name))
    .filter((dir) => existsSync(join(dir, 'gitdir')) && readFileSync(join(dir, 'gitdir'), 'utf8').startsWith(root));
}

/** A file of the dependency folder to write to: lodash's package.json, or the first package's. */
function depFile(nodeModules: string): string {
  if (existsSync(join(nodeModules, 'lodash', 'package.json'))) return join('lodash', 'package.json');
  const first = readdirSync(nodeModules)
    .filter((n) => !n.startsWith('.') && !n.startsWith('@'))
    .sort()[0]!;
  return join(first, 'package.json');
}

/** A task writes into its node_modules: its own copy changes, the person's and another task's do not. */
function writeCheck(repoDir: string, dirs: string[]): string {
  if (dirs.length < 2 || !existsSync(join(dirs[0]!, 'node_modules'))) return 'n/a';
  const rel = join('node_modules', depFile(join(repoDir, 'node_modules')));
  const [writer, other] = [join(dirs[0]!, rel), join(dirs[1]!, rel)];
  const before = { person: sha(join(repoDir, rel)), other: sha(other), writer: sha(writer) };
  appendFileSync(writer, '\n');
  const after = { person: sha(join(repoDir, rel)), other: sha(other), writer: sha(writer) };
  if (after.writer === before.writer) throw new Error(`B28 write check: the write to ${writer} did not change it`);
  if (after.person !== before.person) throw new Error(`B28 write check: a task's write to ${rel} changed the person's copy`);
  if (after.other !== before.other) throw new Error(`B28 write check: a task's write to ${rel} changed another task's copy (${other})`);
  return 'passed';
}

/** Fails before a phase that would fill the device (20 full checkouts of a large repository are tens of GB). */
function ensureRoom(root: string, bytes: number, what: string): void {
  const margin = 5 * 2 ** 30;
  if (freeBytes(root) < bytes + margin)
    throw new Error(`B28: ${what} needs ~${(bytes / 2 ** 30).toFixed(1)} GiB and ${(freeBytes(root) / 2 ** 30).toFixed(1)} GiB are free on ${root} (5 GiB kept): start fewer (B28_TASKS)`);
}

interface Phase {
  times: number[];
  wallMs: number;
  dirs: string[];
  statfs: number;
  du: number;
  failures: string[];
}

/** Starts `count` tasks at once with `start(i)`, then reads their disk; `sync` before and after, so writeback is counted. */
async function phase(count: number, root: string, repoDir: string, start: (i: number) => Promise<Made>, duRoots: () => string[]): Promise<Phase> {
  await run('sync', [], root);
  const before = usedBytes(root);
  const t0 = performance.now();
  const made = await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
  const wallMs = performance.now() - t0;
  await run('sync', [], root);
  const statfs = usedBytes(root) - before;
  const du = await duBytes([...duRoots(), ...adminDirs(repoDir, root)], ['-x', '--exclude=.tinyagi-bases']);
  const failures = made.flatMap((m) => (m.failed === undefined ? [] : [m.failed]));
  return { times: made.map((m) => m.ms), wallMs, dirs: made.filter((m) => m.failed === undefined).map((m) => m.dir), statfs, du, failures };
}

/** floor and naive: git alone, and git plus `cp -r node_modules`. */
async function gitWay(id: 'floor' | 'naive', repo: LargeRepo, root: string, options: LargeWorktreeBenchOptions): Promise<WayResult> {
  const dir = join(root, id);
  mkdirSync(dir);
  let retries = 0;
  let n = 0;
  const start = async (): Promise<Made> => {
    const k = ++n;
    const task = join(dir, `t${k}`);
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await run('git', ['worktree', 'add', '--quiet', '-b', `b28/${id}-${k}`, task, 'main'], repo.dir);
        break;
      } catch (err) {
        // git worktree add reads the other worktrees' admin folders and fails on one another add is writing.
        if (attempt === 3) throw err;
        retries++;
        rmSync(task, { recursive: true, force: true });
        await run('git', ['worktree', 'prune'], repo.dir);
      }
    }
    if (id === 'naive') await run('cp', ['-r', join(repo.dir, 'node_modules'), join(task, 'node_modules')], repo.dir);
    return { ms: performance.now() - t0, dir: task };
  };
  const removeAll = async () => {
    // rm(1), not rmSync: a million files go several times faster, and off this process's loop.
    await run('rm', ['-rf', dir], root);
    mkdirSync(dir);
    await run('git', ['worktree', 'prune'], repo.dir);
    const branches = (await run('git', ['for-each-ref', '--format=%(refname:short)', `refs/heads/b28/${id}-*`], repo.dir)).split('\n').filter(Boolean);
    if (branches.length > 0) await run('git', ['branch', '-D', '--quiet', ...branches], repo.dir);
  };
  const single: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    // Each from a written-back disk, as the tasks started at once (the device is the bound: one checkout is GBs).
    await run('sync', [], root);
    single.push((await start()).ms);
    await removeAll();
  }
  const perTask = repo.facts.checkoutBytes + (id === 'naive' ? repo.facts.nodeModulesBytes : 0);
  ensureRoom(root, options.tasks * perTask, `${options.tasks} tasks the ${id} way`);
  const at = await phase(options.tasks, root, repo.dir, start, () => [dir]);
  const checked = writeCheck(repo.dir, at.dirs);
  await removeAll();
  const label = id === 'floor' ? '`git worktree add -b <branch> <dir> main` (the floor, no dependencies)' : '`git worktree add` + `cp -r node_modules` (the naive way)';
  return {
    id,
    label,
    single,
    atOnce: at.times,
    atOnceWallMs: at.wallMs,
    statfsPerTask: at.statfs / options.tasks,
    duPerTask: at.du / options.tasks,
    sharedOnceBytes: 0,
    writeCheck: checked,
    retries,
    failures: [],
  };
}

/** GET /api/health every 50 ms until stopped: each answer's time, stamped. */
function lagProbe(url: string): { samples: Array<{ at: number; ms: number }>; stop: () => Promise<void> } {
  const samples: Array<{ at: number; ms: number }> = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = performance.now();
      // A probe that fails (the daemon stopping) still counts its time.
      await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(600_000) })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
      const ms = performance.now() - at;
      samples.push({ at, ms });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - ms)));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** The `task.worktree_created` / `task.worktree_failed` events as they arrive, by task id. */
async function worktreeEvents(daemon: TestDaemon): Promise<{ ready: Map<string, number>; failed: Map<string, string>; close: () => void }> {
  const ready = new Map<string, number>();
  const failed = new Map<string, string>();
  const abort = new AbortController();
  const res = await fetch(`${daemon.url}/api/events?types=task.worktree_created,task.worktree_failed`, { headers: { authorization: `Bearer ${daemon.token()}` }, signal: abort.signal });
  if (!res.ok || res.body === null) throw new Error(`GET /api/events answered ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('');
        if (data !== '') {
          const event = JSON.parse(data) as { type: string; data: { taskId: string; message?: string } };
          if (event.type === 'task.worktree_created') ready.set(event.data.taskId, performance.now());
          else failed.set(event.data.taskId, event.data.message ?? '');
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => undefined);
  return { ready, failed, close: () => abort.abort() };
}

const maxIn = (samples: Array<{ at: number; ms: number }>, from: number, to: number) => samples.filter((s) => s.at + s.ms >= from && s.at <= to).reduce((m, s) => Math.max(m, s.ms), 0);

/** TinyAGI as a user runs it: `tinyagi start`, the binding, tasks moved to In progress through the API. */
async function tinyagiWay(spec: TinyagiRun, index: number, repo: LargeRepo, root: string, options: LargeWorktreeBenchOptions): Promise<WayResult> {
  const worktreeRoot = join(root, `tinyagi-${index}`);
  const daemon = await createDaemon({
    prefix: 'tinyagi-b28-',
    build: spec.bin === CLI_BUILT ? 'built' : { entry: spec.bin },
    path: ['/usr/bin', '/bin'],
    settings: ({ root: home }) => ({
      workspace: { path: join(home, 'workspace') },
      models: { provider: 'mock' },
      agents: { coder: { name: 'Coder', provider: 'mock', mock: { reply: 'on it' } } },
    }),
  });
  try {
    await daemon.cliOk(['start'], { timeoutMs: 120_000 });
    const probe = lagProbe(daemon.url);
    const events = await worktreeEvents(daemon);
    try {
      return await tinyagiTasks(spec, daemon, events, probe, repo, root, worktreeRoot, options);
    } finally {
      events.close();
      await probe.stop();
    }
  } finally {
    await daemon.cleanup();
    await unmountUnder(worktreeRoot);
    rmSync(worktreeRoot, { recursive: true, force: true });
    await tidy(repo.dir);
  }
}

async function tinyagiTasks(
  spec: TinyagiRun,
  daemon: TestDaemon,
  events: Awaited<ReturnType<typeof worktreeEvents>>,
  probe: ReturnType<typeof lagProbe>,
  repo: LargeRepo,
  root: string,
  worktreeRoot: string,
  options: LargeWorktreeBenchOptions,
): Promise<WayResult> {
  const api = daemon.api;
  const files = [{ path: 'node_modules', mode: 'copy' as const }];
  const project = await api.createProject({ body: { name: 'B28', repo: { path: repo.dir, worktreeRoot, files, ...(spec.checkout ? { checkout: spec.checkout } : {}) } } });
  const idleFrom = performance.now();
  await waitFor(() => probe.samples.filter((s) => s.at >= idleFrom).length >= 20, 30_000, '20 idle GET /api/health');
  const idleMaxMs = maxIn(probe.samples, idleFrom, performance.now());
  let n = 0;
  let ids: string[] = [];
  const start = async (): Promise<Made> => {
    const task = await api.createTask({ body: { title: `B28 task ${++n}`, projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });
    const t0 = performance.now();
    // The PATCH answers once the step is done; a long step may outlast fetch's own 300 s wait for headers, so the event is what counts.
    let refused: Error | undefined;
    void api.patchTask({ params: { id: task.id }, body: { status: 'in_progress' } }).catch((err: Error) => {
      if (!/timeout/i.test(`${err.name} ${err.message}`)) refused = err;
    });
    await waitFor(
      () => {
        if (refused) throw new Error(`B28: ${spec.label}: moving task ${task.id} to in_progress failed: ${refused.message}`);
        return events.ready.has(task.id) || events.failed.has(task.id);
      },
      30 * 60_000,
      `task ${task.id}'s task.worktree_created`,
    );
    ids.push(task.id);
    if (events.failed.has(task.id)) return { ms: Number.NaN, dir: '', failed: events.failed.get(task.id)! };
    const shown = await api.getTask({ params: { id: task.id } });
    if (shown.git?.state !== 'ready' || !shown.git.worktreePath) throw new Error(`B28: task ${task.id} has git ${JSON.stringify(shown.git)} after its worktree_created event`);
    return { ms: events.ready.get(task.id)! - t0, dir: shown.git.worktreePath };
  };
  const removeAll = async () => {
    // A failed step may have left half a worktree the daemon will not remove: tidy() after the way does.
    for (const id of ids) await api.deleteTask({ params: { id }, query: { worktree: 'remove', force: true } }).catch(() => undefined);
    ids = [];
  };
  const single: number[] = [];
  const failures: string[] = [];
  const singleFrom = performance.now();
  for (let r = 0; r < options.rounds; r++) {
    await run('sync', [], root);
    const made = await start();
    single.push(made.ms);
    if (made.failed !== undefined) failures.push(made.failed);
    await removeAll();
  }
  const singleMaxMs = maxIn(probe.samples, singleFrom, performance.now());
  if (spec.checkout === undefined || spec.checkout === 'full')
    ensureRoom(root, options.tasks * (repo.facts.checkoutBytes + repo.facts.nodeModulesBytes), `${options.tasks} TinyAGI tasks (full checkouts)`);
  const atFrom = performance.now();
  const at = await phase(options.tasks, root, repo.dir, start, () => [worktreeRoot]);
  const atTo = performance.now();
  const during = sorted(probe.samples.filter((s) => s.at + s.ms >= atFrom && s.at <= atTo).map((s) => s.ms));
  const bases = join(worktreeRoot, '.tinyagi-bases');
  const sharedOnceBytes = existsSync(bases) ? await duBytes([bases]) : 0;
  const checked = writeCheck(repo.dir, at.dirs);
  await removeAll();
  return {
    id: `tinyagi-${spec.checkout ?? 'default'}`,
    label: spec.label,
    single,
    atOnce: at.times,
    atOnceWallMs: at.wallMs,
    statfsPerTask: at.statfs / options.tasks,
    duPerTask: at.du / options.tasks,
    sharedOnceBytes,
    writeCheck: checked,
    lag: { idleMaxMs, singleMaxMs, atOnceMaxMs: during.at(-1) ?? 0, atOnceP99Ms: percentile(during, 99), samples: probe.samples.length },
    retries: 0,
    failures: [...failures, ...at.failures],
  };
}

/** Overlays a failed run left mounted under `root` (a layered task not removed), deepest first: never an rm through a mount. */
async function unmountUnder(root: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run('umount', ['-l', point], '/').catch(() => undefined);
}

export async function measureB28(options: LargeWorktreeBenchOptions): Promise<LargeWorktreeBenchResult> {
  // No system or user git config, no automatic gc (test-kit's quiet git) for the floor's and the naive way's git; put back at the end.
  const saved = Object.fromEntries(Object.keys(QUIET_GIT_ENV).map((name) => [name, process.env[name]]));
  Object.assign(process.env, QUIET_GIT_ENV);
  const repo = await largeRepository(options);
  const root = mkdtempSync(join(options.tmpRoot ?? tmpdir(), 'tinyagi-b28-'));
  try {
    const ways: WayResult[] = [];
    for (const id of options.gitWays ?? (['floor', 'naive'] as const)) {
      ways.push(await gitWay(id, repo, root, options));
      process.stderr.write(`B28 ${id}: ${summary(ways.at(-1)!)}\n`);
    }
    for (const [i, spec] of options.tinyagi.entries()) {
      ways.push(await tinyagiWay(spec, i, repo, root, options));
      process.stderr.write(`B28 ${spec.label}: ${summary(ways.at(-1)!)}\n`);
    }
    return { repo: repo.facts, tasks: options.tasks, rounds: options.rounds, ways };
  } finally {
    await unmountUnder(root);
    rmSync(root, { recursive: true, force: true });
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function summary(w: WayResult): string {
  const at = sorted(w.atOnce);
  return `single ${w.single.map((x) => x.toFixed(0)).join('/')} ms; at once p50 ${percentile(at, 50).toFixed(0)} p99 ${percentile(at, 99).toFixed(0)} ms; ${(w.duPerTask / 2 ** 20).toFixed(1)} MiB/task (du), ${(w.statfsPerTask / 2 ** 20).toFixed(1)} (statfs)${w.lag ? `; lag idle ${w.lag.idleMaxMs.toFixed(0)} max ${w.lag.atOnceMaxMs.toFixed(0)} ms` : ''}`;
}

const s = (ms: number) => (Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(2)} s`);
const mib = (b: number) => `${(b / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`;

export function formatB28(result: LargeWorktreeBenchResult): string {
  const { repo, tasks, rounds, ways } = result;
  const about =
    `The repository: ${repo.files.toLocaleString('en-US')} tracked files, ${(repo.trackedBytes / 1e9).toFixed(2)} GB (${mib(repo.checkoutBytes)} checked out, \`.git\` ${mib(repo.gitBytes)}), ${repo.commits} commits; ` +
    `ignored \`node_modules\`: ${repo.deps}, ${repo.nodeModulesPackages.toLocaleString('en-US')} top-level packages, ${repo.nodeModulesFiles.toLocaleString('en-US')} files, ${mib(repo.nodeModulesBytes)}; the whole folder ${mib(repo.totalBytes)}` +
    `${repo.madeMs > 0 ? ` (made in this run in ${s(repo.madeMs)})` : ' (from the cache)'}.`;
  const time = [
    `Time until a task's worktree is ready: ${rounds} single tasks one after another (the first apart), then ${tasks} started at once (each from its own start).`,
    '',
    `| way | 1 task: first | 1 task: median of the next ${Math.max(0, rounds - 1)} | ${tasks} at once: p50 | p99 | until the last |`,
    '|---|---|---|---|---|---|',
    ...ways.map((w) => {
      const at = sorted(w.atOnce);
      return `| ${w.label} | ${s(w.single[0] ?? Number.NaN)} | ${s(percentile(sorted(w.single.slice(1)), 50))} | ${s(percentile(at, 50))} | ${s(percentile(at, 99))} | ${s(w.atOnceWallMs)} |`;
    }),
  ];
  const lagged = ways.filter((w) => w.lag);
  const lag = [
    "The daemon's loop: GET /api/health every 50 ms, its slowest answer (ms).",
    '',
    `| way | idle | during the single starts | during the ${tasks} at once | p99 during the ${tasks} at once |`,
    '|---|---|---|---|---|',
    ...lagged.map((w) => `| ${w.label} | ${w.lag!.idleMaxMs.toFixed(0)} | ${w.lag!.singleMaxMs.toFixed(0)} | ${w.lag!.atOnceMaxMs.toFixed(0)} | ${w.lag!.atOnceP99Ms.toFixed(0)} |`),
  ];
  const disk = [
    `Disk per task, of the ${tasks} started at once (real blocks), against the repository's ${mib(repo.totalBytes)}; and the write check (a task writes into its \`node_modules\`).`,
    '',
    "| way | device's used blocks, after − before, ÷ tasks | `du -s -x -B1` ÷ tasks | of the repository | made once, shared | write check |",
    '|---|---|---|---|---|---|',
    ...ways.map(
      (w) =>
        `| ${w.label} | ${mib(w.statfsPerTask)} | ${mib(w.duPerTask)} | ${((w.duPerTask / repo.totalBytes) * 100).toFixed(1)} % | ${w.sharedOnceBytes > 0 ? mib(w.sharedOnceBytes) : '—'} | ${w.writeCheck} |`,
    ),
  ];
  const retries = ways.filter((w) => w.retries > 0).map((w) => `${w.id}: ${w.retries}`);
  const failed = ways
    .filter((w) => w.failures.length > 0)
    .map((w) => `${w.label}: ${w.failures.length} of ${w.single.length + w.atOnce.length} tasks failed their worktree step (${[...new Set(w.failures)].join('; ')}).`);
  return [
    about,
    '',
    ...time,
    '',
    ...lag,
    '',
    ...disk,
    ...(retries.length > 0 ? ['', `\`git worktree add\` tried again after a failure (started at once): ${retries.join(', ')}.`] : []),
    ...(failed.length > 0 ? ['', ...failed] : []),
  ].join('\n');
}

export async function benchB28(options: LargeWorktreeBenchOptions): Promise<string> {
  return formatB28(await measureB28(options));
}

/** The TinyAGI runs `pnpm bench` asks for: B28_BASELINE_BIN first (another build), then B28_BIN (default this checkout's; B28_BIN_LABEL names it) once per B28_CHECKOUT mode. */
export function b28Runs(env: NodeJS.ProcessEnv): TinyagiRun[] {
  const runs: TinyagiRun[] = [];
  if (env.B28_BASELINE_BIN) runs.push({ label: `TinyAGI ${env.B28_BASELINE_LABEL ?? env.B28_BASELINE_BIN}, \`node_modules\` copied`, bin: env.B28_BASELINE_BIN });
  const bin = env.B28_BIN ?? CLI_BUILT;
  const modes = (env.B28_CHECKOUT ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean) as Array<NonNullable<TinyagiRun['checkout']>>;
  const name = `TinyAGI${env.B28_BIN_LABEL ? ` ${env.B28_BIN_LABEL}` : ''}, \`node_modules\` copied`;
  if (modes.length === 0) runs.push({ label: name, bin });
  for (const checkout of modes) runs.push({ label: `${name}, checkout \`${checkout}\``, bin, checkout });
  return runs;
}
