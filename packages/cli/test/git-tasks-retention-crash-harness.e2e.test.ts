/**
 * Crash harness for the retention of task worktrees (docs/git-tasks.md, "Retention"): the built
 * daemon runs many tasks of a bound project — each started (a worktree and an agent run that
 * commits, pushes and says done), then merged, deleted (its worktree removed, or kept) or
 * abandoned (moved back to To do; a few with a person's unsaved file in the worktree) — while it
 * is SIGKILLed at seeded moments (the nth event of the daemon's log) and started again with the
 * same home. At the end the project's retention is swept once more and the repository is read
 * from git and the disk (helpers/leftovers.ts): no worktree, branch, admin folder or folder of
 * the worktree root that nothing accounts for — a live task's branch, or what the retention
 * report keeps with a reason (the unsaved files, a deleted task's pushed branch) — and nothing
 * lost: every agent commit in main or the remote, every unsaved file still on disk. The check
 * is then shown to fail on a planted orphan of each kind.
 *
 * Each checkout a binding may give (TINYAGI_RETENTION_CHECKOUT: `full,layered` by default): with
 * layered worktrees the disk is also read for layer records, overlay mounts and bases nothing
 * stands on. Sizes: TINYAGI_RETENTION_TASKS (default 32; 1,000 under `pnpm test:stress`), six in
 * flight at a time, a kill per ~12 tasks. The seed is printed; TINYAGI_CRASH_SEED=<seed> replays its plan.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isApiError, type ApiClient, type EventSubscription, type RetentionReport, type Task } from '@tinyagi/client';
import { cleanupTemp, gitRepos, QUIET_GIT_ENV, sh, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { createCoderDaemon, sayDoneLine } from './helpers/git-agent.ts';
import { orphansOf, readLeftovers } from './helpers/leftovers.ts';
import { seededRandom, seedFromEnv } from './helpers/seeded-random.ts';

const STRESS = process.env['npm_lifecycle_event'] === 'test:stress';
const TASKS = Number(process.env['TINYAGI_RETENTION_TASKS'] ?? (STRESS ? 1000 : 32));
const IN_FLIGHT = 6;
const CHECKOUTS = (process.env['TINYAGI_RETENTION_CHECKOUT'] ?? 'full,layered').split(',') as Array<'full' | 'layered'>;
const KILLS = Math.max(4, Math.round(TASKS / 12));
/** Per task, a bound a passing run never nears (one is about a second on two busy cores). */
const BOUND_MS = 60_000 + TASKS * 3_000;

type Fate = 'merge' | 'delete-remove' | 'delete-keep' | 'abandon' | 'abandon-unsaved';
const FATES: Fate[] = ['merge', 'merge', 'merge', 'merge', 'delete-remove', 'delete-keep', 'abandon', 'abandon', 'abandon-unsaved'];

let daemon: TestDaemon | undefined;
let subscription: EventSubscription | undefined;
afterEach(async () => {
  subscription?.close();
  subscription = undefined;
  await daemon?.cleanup();
  daemon = undefined;
  cleanupTemp();
});

interface Tracked {
  task: Task;
  fate: Fate;
  phase: 'waiting' | 'started' | 'final';
  /** Asked back to To do (the answer may have been lost in a kill). */
  abandoned?: boolean;
}

function agentScript(dir: string): { agent: string; commitsLog: string } {
  const commitsLog = join(dir, 'commits.log');
  writeFileSync(commitsLog, '');
  const agent = join(dir, 'agent.sh');
  writeFileSync(
    agent,
    [
      'set -e',
      'k=$(git branch --show-current | sed "s#.*/##")',
      'mkdir -p notes',
      'echo run >> "notes/$k.txt"',
      'git add "notes/$k.txt"',
      'git -c user.name=Agent -c user.email=agent@example.com commit -q -m "$k: work"',
      `echo "$k $(git rev-parse HEAD)" >> "${commitsLog}"`,
      'git push -q origin HEAD',
      sayDoneLine(),
      '',
    ].join('\n'),
  );
  return { agent, commitsLog };
}

describe.each(CHECKOUTS)('git-native tasks retention crash harness, %s checkouts', (checkout) => {
  it(`${TASKS} tasks merged, deleted and abandoned with the daemon killed at random moments leave no orphan and lose nothing`, { timeout: BOUND_MS + 120_000 }, async () => {
    const seed = seedFromEnv('TINYAGI_CRASH_SEED');
    const tag = `${checkout}, seed ${seed} (replay: TINYAGI_CRASH_SEED=${seed} TINYAGI_RETENTION_TASKS=${TASKS} TINYAGI_RETENTION_CHECKOUT=${checkout} pnpm exec vitest run test/git-tasks-retention-crash-harness.e2e.test.ts)`;
    const rand = seededRandom(seed);
    const started = Date.now();
    const fx = gitRepos({ remote: true });
    const worktreeRoot = join(fx.root, 'worktrees');
    const { agent, commitsLog } = agentScript(tempDir('tinyagi-retention-agent-'));

    daemon = await createCoderDaemon('tinyagi-retention-crash-');
    Object.assign(daemon.env, QUIET_GIT_ENV);
    await daemon.start();
    const d = daemon;
    const api: ApiClient = d.api;
    // Abandoned at once (a moment's keepAbandonedDays): every start's sweep and the last one judge every worktree.
    const project = await api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot, remote: 'origin', keepAbandonedDays: 1e-9, checkout } } });
    const tracked = new Map<string, Tracked>();
    for (let i = 0; i < TASKS; i++) {
      const task = await api.createTask({ body: { title: `Task ${i} FAKE:bash=sh ${agent} #`, projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });
      tracked.set(task.id, { task, fate: rand.pick(FATES), phase: 'waiting' });
    }
    let events = 0;
    subscription = api.subscribe({ lastEventId: 0, reconnect: { initialDelayMs: 25, maxDelayMs: 250 } });
    subscription.onEvent(() => events++);

    // --- the person: starts tasks (six in flight), then merges, deletes or abandons each in review as its fate says.
    const asking = new Set<string>();
    const personErrors: string[] = [];
    const interventions: string[] = [];
    let down = false;
    const ask = (t: Tracked, what: string, call: () => Promise<unknown>, after?: () => void): void => {
      if (asking.has(t.task.id)) return;
      asking.add(t.task.id);
      void call()
        .then(() => after?.())
        .catch(async (err: unknown) => {
          if (isApiError(err, 'NETWORK_ERROR')) return;
          const message = err instanceof Error ? err.message : String(err);
          if (isApiError(err, 'INVALID_STATE') && (down || /is being merged|has a review being sent|is in done, not review/.test(message))) return;
          if (isApiError(err, 'TASK_NOT_FOUND') && what.startsWith('delete')) return after?.();
          if (isApiError(err, 'INVALID_STATE') && /moved since its checks passed/.test(message)) {
            interventions.push(`${t.task.identifier}: branch moved after review, changes requested`);
            await api.requestChanges({ params: { id: t.task.id }, body: { summary: 'Say done again.' } }).catch(() => {});
            return;
          }
          personErrors.push(`${what} ${t.task.identifier}: ${message}`);
        })
        .finally(() => asking.delete(t.task.id));
    };
    const retried = new Set<string>();
    const act = (t: Tracked, now: Task): void => {
      if (now.git?.state === 'failed') personErrors.push(`${now.identifier}'s worktree step failed: ${now.git.error?.code}: ${now.git.error?.message}`);
      if (now.status !== 'review') return;
      if (t.fate === 'merge') {
        ask(t, 'merge', () => api.mergeTask({ params: { id: now.id }, body: { method: 'merge' } }));
        return;
      }
      if (t.fate === 'delete-remove' || t.fate === 'delete-keep') {
        const worktree = t.fate === 'delete-remove' ? 'remove' : 'keep';
        ask(
          t,
          `delete-${worktree}`,
          () => api.deleteTask({ params: { id: now.id }, query: { worktree } }),
          () => (t.phase = 'final'),
        );
        return;
      }
      // A person's unsaved file in the worktree, then the task back to To do: its worktree holds work nowhere else.
      if (t.fate === 'abandon-unsaved' && now.git?.worktreePath && existsSync(now.git.worktreePath)) writeFileSync(join(now.git.worktreePath, 'scratch.txt'), 'unsaved\n');
      t.abandoned = true;
      ask(
        t,
        'abandon',
        () => api.patchTask({ params: { id: now.id }, body: { status: 'todo' } }),
        () => (t.phase = 'final'),
      );
    };
    const person = async (): Promise<true | undefined> => {
      if (killerFailed !== undefined) throw killerFailed;
      if (personErrors.length > 0) throw new Error(`the person's requests failed: ${personErrors.join('; ')}; ${tag}`);
      let list: Task[];
      let dead: Awaited<ReturnType<ApiClient['queueDead']>>;
      try {
        list = await api.listTasks({ query: { projectId: project.id } });
        dead = await api.queueDead({ query: {} });
      } catch (err) {
        if (isApiError(err, 'NETWORK_ERROR')) return undefined;
        throw err;
      }
      const byId = new Map(list.map((t) => [t.id, t]));
      for (const m of dead) {
        const t = list.find((x) => m.senderId === `task:${x.id}`);
        if (t === undefined || retried.has(m.id) || t.status !== 'in_progress') continue;
        retried.add(m.id);
        interventions.push(`${t.identifier}: its message dead-lettered, retried`);
        await api.retryDead({ params: { id: m.id } }).catch(() => retried.delete(m.id));
      }
      let inFlight = 0;
      for (const t of tracked.values()) {
        const now = byId.get(t.task.id);
        if (t.phase !== 'final' && now === undefined && t.phase === 'started' && t.fate.startsWith('delete')) t.phase = 'final';
        if (now?.status === 'done' || (t.abandoned && now?.status === 'todo')) t.phase = 'final';
        if (t.phase === 'started' && now !== undefined) {
          inFlight++;
          // A start the kill cut off before the move (the answer lost, the task still in To do): asked again.
          if (now.status === 'todo' && !t.abandoned) ask(t, 'start', () => api.patchTask({ params: { id: t.task.id }, body: { status: 'in_progress' } }));
          else act(t, now);
        }
      }
      for (const t of tracked.values()) {
        if (inFlight >= IN_FLIGHT) break;
        if (t.phase !== 'waiting') continue;
        t.phase = 'started';
        inFlight++;
        ask(t, 'start', () => api.patchTask({ params: { id: t.task.id }, body: { status: 'in_progress' } }));
      }
      return [...tracked.values()].every((t) => t.phase === 'final') || undefined;
    };

    // --- the kills: at seeded event counts spread over the run's expected events (~12 per task).
    const moments = Array.from({ length: KILLS }, () => rand.int(30, TASKS * 10)).sort((a, b) => a - b);
    const made: number[] = [];
    let finished = false;
    let killerFailed: unknown;
    const killer = (async () => {
      for (const at of moments) {
        if ((await waitFor(() => finished || events >= at, BOUND_MS, `event ${at}; ${tag}`)) && finished) return;
        down = true;
        await d.kill();
        made.push(Date.now() - started);
        await d.start();
        down = false;
      }
    })().catch((err: unknown) => {
      // A start that failed ends the test now, not at the bound.
      killerFailed = err;
    });
    try {
      // (A thousand tasks listed every 50 ms would be most of the daemon's work.)
      await waitFor(person, BOUND_MS, `every task merged, deleted or abandoned; ${tag}`, TASKS > 100 ? 300 : 50);
    } catch (err) {
      const states = await api.listTasks({ query: { projectId: project.id } }).catch(() => []);
      throw new Error(`${(err as Error).message}\nkills at ${JSON.stringify(made)}\n${JSON.stringify(states.map((t) => [t.identifier, t.status, t.git?.state]))}\n${d.logs()}`);
    } finally {
      finished = true;
    }
    await killer;
    if (killerFailed !== undefined) throw killerFailed;
    const loopMs = Date.now() - started;

    // --- the last sweep, then the repository as git and the disk say.
    await waitFor(
      async () => !(await api.listTasks({ query: { projectId: project.id } })).some((t) => t.status === 'done' && t.git?.worktreePath && existsSync(t.git.worktreePath)) || undefined,
      30_000,
      `merged tasks' worktrees removed; ${tag}`,
    );
    const report: RetentionReport = await api.sweepProjectRetention({ params: { id: project.id } });
    expect(report.errors, tag).toEqual([]);
    const live = await api.listTasks({ query: { projectId: project.id } });
    const accounted = {
      worktrees: new Set(report.kept.filter((k) => k.kind === 'worktree').map((k) => k.path!)),
      branches: new Set(
        [...live.filter((t) => t.status !== 'done').map((t) => t.git?.branch), ...report.kept.filter((k) => k.kind === 'branch').map((k) => k.branch)].filter(
          (b): b is string => typeof b === 'string',
        ),
      ),
    };
    const left = readLeftovers(fx.repoDir, worktreeRoot);
    expect(orphansOf(left, accounted), `orphans; ${tag}`).toEqual([]);

    // What is kept is kept for a reason: only the unsaved files' worktrees, each named with it.
    const unsaved = [...tracked.values()].filter((t) => t.fate === 'abandon-unsaved').map((t) => live.find((x) => x.id === t.task.id)!);
    const keptWorktrees = report.kept.filter((k) => k.kind === 'worktree');
    for (const k of keptWorktrees) {
      expect(k.reason, `${k.identifier} kept; ${tag}`).toMatch(/uncommitted changes \(scratch\.txt\)/);
      expect(k.atRisk).toBe(true);
    }
    for (const t of unsaved) {
      const path = t.git!.worktreePath!;
      if (!existsSync(path)) continue; // (its worktree was made again after a kill, without the file: nothing unsaved)
      expect(readFileSync(join(path, 'scratch.txt'), 'utf8'), `${t.identifier}'s unsaved file; ${tag}`).toBe('unsaved\n');
      expect(
        keptWorktrees.map((k) => k.identifier),
        tag,
      ).toContain(t.identifier);
    }
    for (const k of report.kept.filter((x) => x.kind === 'branch')) expect(k.reason, `branch ${k.branch}; ${tag}`).toMatch(/pushed to origin, not merged/);

    // Nothing lost: every agent commit is in main or the remote.
    const commits = readFileSync(commitsLog, 'utf8').split('\n').filter(Boolean);
    for (const line of commits) {
      const sha = line.split(' ')[1]!;
      const inMain = sh(fx.repoDir, 'branch', '--contains', sha, '--format=%(refname)', 'main') !== '';
      let inRemote = true;
      try {
        sh(fx.remoteDir!, 'cat-file', '-e', `${sha}^{commit}`);
      } catch {
        inRemote = false;
      }
      expect(inMain || inRemote, `agent commit ${line}; ${tag}`).toBe(true);
    }

    // The check is real: a planted orphan of each kind is named.
    sh(fx.repoDir, 'worktree', 'add', '--quiet', '-b', 'tinyagi/PLANTED-1-x', join(worktreeRoot, 'PLANTED-1'), 'main');
    sh(fx.repoDir, 'branch', 'tinyagi/PLANTED-2-y');
    mkdirSync(join(fx.repoDir, '.git', 'worktrees', 'planted-admin'), { recursive: true });
    mkdirSync(join(worktreeRoot, 'PLANTED-3'), { recursive: true });
    mkdirSync(join(worktreeRoot, '.tinyagi-layers', 'PLANTED-4', 'upper'), { recursive: true });
    mkdirSync(join(worktreeRoot, '.tinyagi-bases', 'planted-half-made', 'tree'), { recursive: true });
    const plantedMount = join(worktreeRoot, 'PLANTED-5');
    mkdirSync(plantedMount);
    // (A mount needs root, as the layered checkouts' kernel overlays do here; another account's run checks the other kinds.)
    const mounted = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', plantedMount]).status === 0;
    try {
      expect(orphansOf(readLeftovers(fx.repoDir, worktreeRoot), accounted).sort()).toEqual(
        [
          `worktree ${join(worktreeRoot, 'PLANTED-1')}`,
          'branch tinyagi/PLANTED-1-x',
          'branch tinyagi/PLANTED-2-y',
          'admin folder .git/worktrees/planted-admin',
          `folder ${join(worktreeRoot, 'PLANTED-3')}`,
          'layer record .tinyagi-layers/PLANTED-4',
          'base .tinyagi-bases/planted-half-made (half-made)',
          `folder ${plantedMount}`,
          ...(mounted ? [`mount ${plantedMount}`] : []),
        ].sort(),
      );
    } finally {
      if (mounted) spawnSync('umount', [plantedMount]);
    }

    const fates = Object.fromEntries(FATES.map((f) => [f, [...tracked.values()].filter((t) => t.fate === f).length]));
    console.log(
      `git-tasks retention crash harness: ${tag}: ${TASKS} tasks ${JSON.stringify(fates)}, ${made.length} of ${KILLS} kills made, ${events} events, ` +
        `${commits.length} agent commits, interventions ${JSON.stringify(interventions)}, last sweep removed ${report.removed.length} kept ${report.kept.length} ` +
        `(${report.kept.filter((k) => k.atRisk).length} at risk) in ${report.durationMs} ms; loop ${loopMs} ms, total ${Date.now() - started} ms`,
    );
    expect(made.length, `kills made (${JSON.stringify(moments)}); ${tag}`).toBeGreaterThanOrEqual(3);
  });
});
