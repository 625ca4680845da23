/**
 * Crash harness for git-native tasks (docs/git-tasks-design.md, "Crash safety, step by step"): the built
 * daemon runs the whole loop for three tasks of a bound project at once — the worktree and its
 * setup, the agent's run, the Checking (a check that fails on the first round), the feedback, the
 * agent's fix, the Checking again, a person's merge and the worktree's removal — and is killed
 * with SIGKILL at seeded moments across it, then started again with the same home, until every
 * task is done or a bound is hit.
 *
 * The agent is test-kit's fake claude running a script in its cwd (the task's worktree): it adds a
 * line to `notes/<branch>.txt`, commits, pushes to the bare remote and says done through its own
 * update_task route (the MCP tool's). The check passes once that file has two lines, so the first
 * Checking fails and the feedback's run fixes it. The person is the test through the API: a task in
 * todo is moved to in_progress, a task in review is merged, each asked again while the daemon is down.
 *
 * A kill's moment is a state, not a timer: "with the nth moment of kind X" (X: a setup starting —
 * a line the setup writes —, an agent run starting, the agent's nth commit — held before its push
 * until the kill —, a Checking starting, a check's result, a feedback sent, a merge), chosen from
 * the seed. A moment that came while the daemon was down is taken right after the next start (a
 * kill during the start's resumes); one that never comes (the loop finished first) is not made.
 *
 * The invariants are read from the repository and the daemon's own records:
 * - each task merged exactly once: one merge commit naming it in `git log --merges main`, its
 *   file there, `task.merged` once per task in the event log;
 * - no worktree removed with work not in the base or the remote: before each kill the commits of
 *   every worktree that are neither in main nor in the bare remote are noted, and after the
 *   restart (and at the end) each is still reachable from a ref of the repository; every commit
 *   the agent made is in main or the remote at the end;
 * - the feedback of a failure reaches the owner at most once per fingerprint: the queue's
 *   messages of each task (read from the database once the daemon is stopped), the fingerprints
 *   recorded on the task and the `task.feedback_sent` events;
 * - the dispatch message sent once per task; no task stuck: every task done within the bound.
 *
 * The seed is printed; TINYAGI_CRASH_SEED=<seed> replays the same plan (timings still vary).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStores } from '@tinyagi/core/internal';
import { isApiError, type ApiClient, type EventSubscription, type Task, type TinyEvent } from '@tinyagi/client';
import { cleanupTemp, gitRepos, QUIET_GIT_ENV, sh, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { createCoderDaemon, sayDoneLine } from './helpers/git-agent.ts';
import { seededRandom, seedFromEnv } from './helpers/seeded-random.ts';

const TASKS = 3;
const KILLS = [4, 6] as const;
/** The whole loop's bound (a failure, never a wait a passing run serves out). */
const LOOP_BOUND_MS = 150_000;

/** Where a kill may land, in the loop's order; each is counted from the last start. */
const PHASES = ['setup', 'run.started', 'commit', 'task.checking', 'task.checked', 'task.feedback_sent', 'task.merged'] as const;
type Phase = (typeof PHASES)[number];
interface PlannedKill {
  phase: Phase;
  /** The kill comes with the phase's nth moment since the test began. */
  nth: number;
}

/** The highest nth each phase surely reaches with three tasks (each fails once unless a retried run fixed it first). */
const REACHED: Record<Phase, number> = {
  setup: TASKS,
  'run.started': TASKS + 1,
  commit: TASKS + 1,
  'task.checking': TASKS + 1,
  'task.checked': TASKS + 1,
  'task.feedback_sent': 1,
  'task.merged': TASKS,
};

function planKills(seed: number): PlannedKill[] {
  const rand = seededRandom(seed);
  const n = rand.int(...KILLS);
  const kills: PlannedKill[] = [];
  while (kills.length < n) {
    const phase = rand.pick(PHASES);
    const nth = rand.int(1, REACHED[phase]);
    if (!kills.some((k) => k.phase === phase && k.nth === nth)) kills.push({ phase, nth });
  }
  return kills.sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase) || a.nth - b.nth);
}

let daemon: TestDaemon | undefined;
let subscription: EventSubscription | undefined;
let release: string | undefined;
afterEach(async () => {
  // An agent still held between its commit and its push (a failed test) goes on.
  if (release !== undefined) writeFileSync(release, '');
  release = undefined;
  subscription?.close();
  subscription = undefined;
  await daemon?.cleanup();
  daemon = undefined;
  cleanupTemp();
});

describe('git-native tasks crash harness', () => {
  it('SIGKILLs across the whole loop lose nothing, merge each task once, send each failure once and leave no task stuck', { timeout: 240_000 }, async () => {
    const seed = seedFromEnv('TINYAGI_CRASH_SEED');
    const tag = `seed ${seed} (replay: TINYAGI_CRASH_SEED=${seed} pnpm exec vitest run test/git-tasks-crash.e2e.test.ts)`;
    const started = Date.now();
    const plan = planKills(seed);
    console.log(`git-tasks crash harness: ${tag}: kills planned ${JSON.stringify(plan.map((k) => `${k.phase}#${k.nth}`))}`);

    const fx = gitRepos({ remote: true });
    const worktreeRoot = join(fx.root, 'worktrees');
    const agentDir = tempDir('tinyagi-git-crash-agent-');
    const setupLog = join(agentDir, 'setup.log');
    const commitsLog = join(agentDir, 'commits.log');
    writeFileSync(setupLog, '');
    writeFileSync(commitsLog, '');
    // The agent: one more line in its task's notes file, a commit, a push, "done". Run again (a
    // retried message, the feedback's run) it adds another; the check wants two.
    release = join(agentDir, 'release');
    const agent = join(agentDir, 'agent.sh');
    writeFileSync(
      agent,
      [
        'set -e',
        'k=$(git branch --show-current | sed "s#.*/##")',
        'mkdir -p notes',
        'echo run >> "notes/$k.txt"',
        'git add "notes/$k.txt"',
        'git -c user.name=Agent -c user.email=agent@example.com commit -q -m "$k: one more run"',
        // (What rev-parse said instead of a sha, when it failed: the test names it.)
        `echo "$k $(git rev-parse HEAD 2>&1 | tr ' ' '_')" >> "${commitsLog}"`,
        // The nth commit is held between the commit and its push when a kill is planned there: claim the hold, wait for the kill.
        `n=$(wc -l < "${commitsLog}"); if mv "${agentDir}/hold-$n" "${agentDir}/held-$n" 2>/dev/null; then while [ ! -e "${agentDir}/release" ]; do sleep 0.05; done; fi`,
        'git push -q origin HEAD',
        sayDoneLine(),
        '',
      ].join('\n'),
    );
    const check = {
      name: 'notes',
      argv: ['sh', '-c', 'k=$(git branch --show-current | sed "s#.*/##"); n=$(cat "notes/$k.txt" 2>/dev/null | wc -l); echo "notes/$k.txt has $n runs, 2 wanted"; test "$n" -ge 2'],
      timeoutMs: 60_000,
    };
    const setup = { argv: ['sh', '-c', 'echo "$PWD" >> "$0"; git status --short > /dev/null', setupLog], timeoutMs: 60_000 };

    daemon = await createCoderDaemon('tinyagi-git-crash-');
    // A git identity, as a person's machine has one: the merge commit is the daemon's.
    Object.assign(daemon.env, QUIET_GIT_ENV);
    await daemon.start();
    const d = daemon;
    const api: ApiClient = d.api;
    const project = await api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot, remote: 'origin', setup, checks: [check] } } });
    const tasks: Task[] = [];
    for (const name of ['alpha', 'beta', 'gamma'].slice(0, TASKS)) {
      tasks.push(await api.createTask({ body: { title: `Fix ${name} FAKE:bash=sh ${agent} #`, projectId: project.id, assigneeAgent: 'coder', status: 'todo' } }));
    }

    // --- the daemon's event log, from its first event, across restarts (the client resumes after the last id).
    const seen: TinyEvent[] = [];
    subscription = api.subscribe({ lastEventId: 0, reconnect: { initialDelayMs: 25, maxDelayMs: 250 } });
    subscription.onEvent((event) => seen.push(event));

    // --- the person: moves each todo task to in_progress, merges each task in review; a request the
    // kill cut off is asked again at the next look. What the daemon leaves to a person after a crash
    // is done as the docs say and counted (`interventions`, printed): a task's message the crashes
    // dead-lettered (its attempts spent by lost leases) is retried; a merge refused because the
    // branch moved since its checks passed (an agent's run redelivered after a crash committed
    // again) is sent back with a request for changes, so the agent says done again; a removal
    // refused for uncommitted changes (a redelivered run killed before its commit) gets them
    // committed and pushed, then the merge is asked again. Any other refusal is a finding.
    const asking = new Set<string>();
    const personErrors: string[] = [];
    const interventions: string[] = [];
    let down = false;
    const ask = (t: Task, what: string, call: () => Promise<unknown>): void => {
      if (asking.has(t.id)) return;
      asking.add(t.id);
      void call()
        .catch(async (err: unknown) => {
          if (isApiError(err, 'NETWORK_ERROR')) return;
          const message = err instanceof Error ? err.message : String(err);
          if (isApiError(err, 'INVALID_STATE') && (down || /is being merged|has a review being sent/.test(message))) return;
          // Seen in review before a kill, merged by the start's resume of its recorded merge meanwhile: already done.
          if (isApiError(err, 'INVALID_STATE') && what === 'merge' && /is in done, not review/.test(message)) return;
          if (isApiError(err, 'INVALID_STATE') && /moved since its checks passed/.test(message)) {
            interventions.push(`${t.identifier}: branch moved after review, changes requested`);
            await api.requestChanges({ params: { id: t.id }, body: { summary: 'Your branch moved after its checks passed: say the task is done again.' } }).catch((e: unknown) => {
              if (!isApiError(e, 'NETWORK_ERROR')) personErrors.push(`request changes ${t.identifier}: ${e instanceof Error ? e.message : String(e)}`);
            });
            return;
          }
          if (isApiError(err, 'WORKTREE_UNSAFE') && t.git?.worktreePath && /uncommitted/.test(message)) {
            interventions.push(`${t.identifier}: uncommitted change left in its worktree after the merge, committed and pushed`);
            // (A redelivered run may have committed it meanwhile.)
            sh(t.git.worktreePath, 'add', '-A');
            if (sh(t.git.worktreePath, 'status', '--porcelain') !== '') sh(t.git.worktreePath, 'commit', '-q', '-m', 'what a killed run left');
            sh(t.git.worktreePath, 'push', '-q', 'origin', 'HEAD');
            return;
          }
          personErrors.push(`${what} ${t.identifier}: ${message}`);
        })
        .finally(() => asking.delete(t.id));
    };
    const retried = new Set<string>();
    const person = async (): Promise<Task[] | undefined> => {
      if (personErrors.length > 0) throw new Error(`the person's requests failed: ${personErrors.join('; ')}; ${tag}\n${d.logs()}`);
      let list: Task[];
      let dead: Awaited<ReturnType<ApiClient['queueDead']>>;
      try {
        list = await api.listTasks({ query: { projectId: project.id } });
        dead = await api.queueDead({ query: {} });
      } catch (err) {
        if (isApiError(err, 'NETWORK_ERROR')) return undefined;
        throw err;
      }
      for (const m of dead) {
        const t = list.find((x) => m.senderId === `task:${x.id}`);
        // Only a task left waiting in in_progress needs its message again.
        if (t === undefined || retried.has(m.id) || t.status !== 'in_progress') continue;
        retried.add(m.id);
        interventions.push(`${t.identifier}: its message dead-lettered (${m.lastError?.replace(/\(worker \S+ /, '(')}), retried`);
        await api.retryDead({ params: { id: m.id } }).catch((err: unknown) => {
          if (!isApiError(err, 'NETWORK_ERROR')) throw err;
          retried.delete(m.id);
        });
      }
      for (const t of list) {
        if (t.git?.state === 'failed') throw new Error(`${t.identifier}'s worktree step failed: ${t.git.error?.code}: ${t.git.error?.message}; ${tag}`);
        if (t.status === 'todo') ask(t, 'move', () => api.patchTask({ params: { id: t.id }, body: { status: 'in_progress' } }));
        if (t.status === 'review') ask(t, 'merge', () => api.mergeTask({ params: { id: t.id }, body: { method: 'merge' } }));
      }
      return list.length === TASKS && list.every((t) => t.status === 'done') ? list : undefined;
    };

    // --- what a removal must never lose: each worktree's commits in neither main nor the remote.
    const unpushed = (): Array<{ worktree: string; sha: string }> => {
      if (!existsSync(worktreeRoot)) return [];
      const out: Array<{ worktree: string; sha: string }> = [];
      for (const name of readdirSync(worktreeRoot)) {
        const wt = join(worktreeRoot, name);
        let shas: string[];
        try {
          shas = sh(wt, 'rev-list', 'HEAD', '--not', 'refs/heads/main').split('\n').filter(Boolean);
        } catch {
          continue; // a worktree being made or removed right now
        }
        for (const sha of shas) {
          try {
            sh(fx.remoteDir!, 'cat-file', '-e', `${sha}^{commit}`);
          } catch {
            out.push({ worktree: wt, sha });
          }
        }
      }
      return out;
    };
    const atRisk: Array<{ worktree: string; sha: string; kill: number }> = [];
    const reachable = (sha: string): boolean => sh(fx.repoDir, 'for-each-ref', '--contains', sha, '--format=%(refname)') !== '';

    // --- the kills, each at its moment, while the person drives the loop.
    const made: Array<PlannedKill & { ms: number; late: boolean }> = [];
    let finished = false;
    for (const k of plan) if (k.phase === 'commit') writeFileSync(join(agentDir, `hold-${k.nth}`), '');
    const reached = (k: PlannedKill): boolean => {
      if (k.phase === 'setup') return readFileSync(setupLog, 'utf8').split('\n').filter(Boolean).length >= k.nth;
      if (k.phase === 'commit') return existsSync(join(agentDir, `held-${k.nth}`));
      return seen.filter((e) => e.type === k.phase).length >= k.nth;
    };
    const killer = (async () => {
      const pending = [...plan];
      while (pending.length > 0) {
        // A moment that came while the daemon was down (or while another kill was made) is taken at once after the start: a kill during the resumes.
        const late = pending.filter(reached);
        const next = await waitFor(() => finished || pending.find(reached), LOOP_BOUND_MS, `a kill's moment (${JSON.stringify(pending)}); ${tag}`);
        if (next === true) return;
        pending.splice(pending.indexOf(next), 1);
        for (const r of unpushed()) atRisk.push({ ...r, kill: made.length + 1 });
        down = true;
        await d.kill();
        made.push({ ...next, ms: Date.now() - started, late: late.includes(next) });
        await d.start();
        down = false;
        for (const r of atRisk) expect(reachable(r.sha), `commit ${r.sha} of ${r.worktree}, unpushed at kill ${r.kill}, after the restart; ${tag}`).toBe(true);
      }
    })();
    let done: Task[];
    try {
      done = await waitFor(person, LOOP_BOUND_MS, `every task done; ${tag}`, 50);
    } catch (err) {
      const states = await api.listTasks({ query: { projectId: project.id } }).catch(() => []);
      throw new Error(
        `${(err as Error).message}\nkills made: ${JSON.stringify(made)}\ntasks: ${JSON.stringify(
          states.map((t) => ({ id: t.identifier, status: t.status, git: { state: t.git?.state, check: t.git?.check?.state, rounds: t.git?.rounds, merge: t.git?.merge !== undefined } })),
        )}\n${d.logs()}`,
      );
    } finally {
      finished = true;
    }
    await killer;
    const loopMs = Date.now() - started;

    // --- merged once each, into main, with its work.
    const merges = sh(fx.repoDir, 'log', '--merges', '--format=%H %P|%s', 'main').split('\n').filter(Boolean);
    for (const t of done) {
      const own = merges.filter((m) => m.includes(`${t.identifier}`));
      expect(own, `merge commits of ${t.identifier} in main; ${tag}`).toHaveLength(1);
      const [, , tip] = own[0]!.split('|')[0]!.split(' ');
      expect(tip, `${t.identifier}'s merge brings its recorded tip; ${tag}`).toBe(t.git?.merge?.tip);
      const key = t.git!.branch!.replace(/.*\//, '');
      expect(Number(sh(fx.repoDir, 'show', `main:notes/${key}.txt`).split('\n').length), `${t.identifier}'s notes in main; ${tag}`).toBeGreaterThanOrEqual(2);
      expect(existsSync(t.git!.worktreePath!), `${t.identifier}'s worktree removed; ${tag}`).toBe(false);
    }
    expect(merges, `merge commits in main; ${tag}`).toHaveLength(TASKS);

    // --- nothing lost: what was unpushed at a kill, and every commit the agent made.
    for (const r of atRisk) expect(reachable(r.sha), `commit ${r.sha} of ${r.worktree}, unpushed at kill ${r.kill}; ${tag}`).toBe(true);
    const agentCommits = readFileSync(commitsLog, 'utf8').split('\n').filter(Boolean);
    for (const line of agentCommits) {
      const sha = line.split(' ')[1]!;
      expect(sha, `the agent's record of its commit (${line}) names it; ${tag}\n${d.logs()}`).toMatch(/^[0-9a-f]{40}$/);
      const inMain = sh(fx.repoDir, 'branch', '--contains', sha, '--format=%(refname)', 'main') !== '';
      let inRemote = true;
      try {
        sh(fx.remoteDir!, 'cat-file', '-e', `${sha}^{commit}`);
      } catch {
        inRemote = false;
      }
      expect(inMain || inRemote, `the agent's commit ${line} is in main or the remote; ${tag}`).toBe(true);
    }

    // --- the event log: one task.merged per task, the feedback's fingerprints once each.
    await waitFor(() => seen.filter((e) => e.type === 'task.worktree_removed').length >= TASKS || undefined, 20_000, `the last events to arrive; ${tag}`);
    const ofType = <T extends TinyEvent['type']>(type: T) => seen.filter((e): e is Extract<TinyEvent, { type: T }> => e.type === type);
    for (const t of done) {
      expect(
        ofType('task.merged').filter((e) => e.data.taskId === t.id),
        `task.merged of ${t.identifier}; ${tag}`,
      ).toHaveLength(1);
      const fingerprints = ofType('task.feedback_sent')
        .filter((e) => e.data.taskId === t.id)
        .flatMap((e) => e.data.fingerprints);
      expect(new Set(fingerprints).size, `fingerprints announced for ${t.identifier}: ${fingerprints.join(', ')}; ${tag}`).toBe(fingerprints.length);
      const recorded = t.git?.feedbackSent ?? [];
      expect(new Set(recorded).size, `fingerprints recorded on ${t.identifier}; ${tag}`).toBe(recorded.length);
      // A kill between the feedback's message and its record leaves one without the other (the
      // Checking run again may pass: the agent already has the message); never a fingerprint twice.
      for (const f of recorded) expect(fingerprints.length === 0 || fingerprints.includes(f), `${t.identifier}: recorded ${f} but announced ${fingerprints.join(', ')}; ${tag}`).toBe(true);
    }

    // --- the queue's own records, once no daemon holds the database.
    const counts = {
      checkings: ofType('task.checking').length,
      feedback: ofType('task.feedback_sent').length,
      runs: ofType('run.started').length,
      setups: readFileSync(setupLog, 'utf8').split('\n').filter(Boolean).length,
      rounds: done.map((t) => `${t.identifier} ${t.git?.rounds ?? 0}`),
    };
    subscription.close();
    expect((await d.stop())?.code, d.output()).toBe(0);
    const stores = openStores({ dbPath: join(d.home, 'tinyagi.db') });
    try {
      const rows = stores.db.sqlite.prepare('SELECT sender_id AS sender, idempotency_key AS key, content FROM messages WHERE sender_id LIKE ?').all('task:%') as Array<{
        sender: string;
        key: string;
        content: string;
      }>;
      for (const t of done) {
        const own = rows.filter((r) => r.sender === `task:${t.id}`);
        const feedback = own.filter((r) => r.key.startsWith(`task:${t.id}:feedback:`));
        const dispatch = own.filter((r) => !r.key.startsWith(`task:${t.id}:feedback`) && !r.key.startsWith(`task:${t.id}:review:`));
        expect(dispatch, `${t.identifier}'s dispatch messages; ${tag}`).toHaveLength(1);
        // A fresh failure's message carries the check's output, its key is its fingerprints': the check
        // fails one way only (its output's numbers are not in the fingerprint), so at most one.
        expect(feedback.length, `${t.identifier}'s feedback messages with fresh failures; ${tag}`).toBeLessThanOrEqual(1);
        if ((t.git?.feedbackSent ?? []).length > 0) expect(feedback, `${t.identifier}'s recorded feedback was sent; ${tag}`).toHaveLength(1);
        expect(own.filter((r) => r.content.includes('2 wanted')).length, `${t.identifier}'s messages carrying the failure's output; ${tag}`).toBeLessThanOrEqual(1);
      }
    } finally {
      stores.close();
    }

    console.log(
      `git-tasks crash harness: ${tag}: ${made.length} of ${plan.length} planned kills made ${JSON.stringify(made.map((k) => `${k.phase}#${k.nth}${k.late ? ' (late)' : ''}@${k.ms}ms`))}, ` +
        `${atRisk.length} unpushed commits at kills, ${agentCommits.length} agent commits, person's interventions ${JSON.stringify(interventions)}, ${JSON.stringify(counts)}, loop ${loopMs} ms, total ${Date.now() - started} ms`,
    );
    expect(made.length, `kills made (${JSON.stringify(plan)}); ${tag}`).toBeGreaterThanOrEqual(3);
  });
});
