/**
 * Two nodes as two machines (issue 86; docs/postgresql.md, "Several nodes"; docs/git-tasks.md,
 * "Several nodes"): test-kit's machines() gives each node a mount and UTS namespace of its own,
 * so each sees only its own home, workspaces and repositories, at the SAME paths as the other's
 * (`<lab>/machine/home/.tinyagi` is a different folder on each), while PostgreSQL and loopback
 * are shared. The API node is the built daemon started by `tinyagi start` on a machine with
 * bubblewrap; the worker is `tinyagi worker --name wk1` started as docs/postgresql.md says (only
 * its documented variables, an empty home) on a machine without bubblewrap.
 *
 * In order: the worker registers; a mock agent placed on it answers; each agent's sandbox status
 * comes from its own node; a Python package that exists on the worker only is bound naming the
 * node (`project show`, `project list` and `task show` say which node holds it) and its task goes
 * from start (worktree on the worker) through the agent's done (Checking on the worker), review and
 * a person's request for changes, during whose second Checking the worker is SIGKILLed and started
 * again and finishes it without a lost round. Then the worker stops: `task merge` from the API
 * machine, which does not see the worktree, is refused at once with NODE_UNAVAILABLE and recorded
 * on the task; `task show` and `task list` say the merge waits for wk1 (down) and a second step is
 * refused naming it. The worker back carries the merge out in its repository while the API
 * machine's disk has no trace of any of it. A check that records where it ran and waits on a file
 * (the "gate") shows which machine ran each step.
 * A failing test prints each node's log tail. Waits on states and files, no sleeps.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '@tinyagi/client';
import { exitOf, FAKE_BIN_DIR, freePort, machines, waitFor, waitForExit, type Machine, type Machines, type SpawnedCli } from '@tinyagi/test-kit';
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import { createTestDatabase } from '@tinyagi/test-kit/stores';

const db = await pgTestDatabase();
const TOKEN = `tk_${'9f8e7d6c'.repeat(6)}`;
const WORKER = 'wk1';

/** The Python package's module: `slugify` as the given body computes it. */
const slugsModule = (body: string) => ['"""Slugs for titles."""', '', '', 'def slugify(title):', `    return ${body}`, ''].join('\n');
/** Its unittest test: `title` gives `slug`. */
const slugsTest = (title: string, slug: string) =>
  [
    'import unittest',
    '',
    'from slugs import slugify',
    '',
    '',
    'class SlugifyTest(unittest.TestCase):',
    '    def test_slug(self):',
    `        self.assertEqual(slugify(${JSON.stringify(title)}), "${slug}")`,
    '',
  ].join('\n');

/** The mock agent on the worker: the person's request first (its message may carry the task's earlier text), then the task, then a greeting. */
const CODER_SCRIPT = {
  replies: [
    {
      match: 'punctuation',
      reply: 'Punctuation is dropped.',
      actions: [
        { write: { path: 'slugs.py', content: slugsModule('"_".join("".join(c for c in title.lower() if c.isalnum() or c.isspace()).split())') } },
        { write: { path: 'test_slugs.py', content: slugsTest('Two, Words!', 'two_words') } },
        { commit: 'slugify: drop punctuation' },
        { update_task: { status: 'review' } },
      ],
    },
    {
      match: 'underscores',
      reply: 'Slugs join with underscores.',
      actions: [
        { write: { path: 'slugs.py', content: slugsModule('"_".join(title.lower().split())') } },
        { write: { path: 'test_slugs.py', content: slugsTest('Two  Words', 'two_words') } },
        { commit: 'slugify: underscores' },
        { update_task: { status: 'review' } },
      ],
    },
    { match: 'hello', reply: 'Hello from the worker.' },
  ],
};

/** The value of a `name:` line of a CLI's key-value output (`task show`). */
const field = (text: string, name: string): string | undefined =>
  text
    .split('\n')
    .find((line) => line.startsWith(`${name}:`))
    ?.slice(name.length + 1)
    .trim();

describe.skipIf(db.skip !== undefined)('two nodes on two machines (PostgreSQL)', () => {
  let lab: Machines;
  let apiBox: Machine;
  let workerBox: Machine;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: ApiClient;
  let apiEnv: Record<string, string>;
  let workerEnv: Record<string, string>;
  let worker: SpawnedCli | undefined;
  let workerOutput = '';
  /** The same paths on both machines. */
  let home: string;
  let tinyagiHome: string;
  let repo: string;
  let signals: string;
  let apiNode: string;
  let taskId: string;
  let conversationId: string;
  /** The repository's main before the merge (step 6). */
  let mainBefore: string;

  const startWorker = (): SpawnedCli => {
    if (worker) workerOutput += worker.output();
    worker = workerBox.spawnCli(['worker', '--name', WORKER], workerEnv);
    return worker;
  };
  /** A person's stop of the worker (SIGTERM): the registry says it stopped at once. */
  const stopWorker = async (): Promise<void> => {
    if (!worker?.child.pid || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
    worker.child.kill('SIGTERM');
    await waitForExit(worker.child, 15_000);
  };
  const tail = (box: Machine, file: string, lines = 60): string => {
    const path = box.disk(file);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n') : `(no ${file})`;
  };
  const logs = (): string =>
    [
      `--- API node (machine ${apiBox.name}): logs/daemon.log ---`,
      tail(apiBox, join(tinyagiHome, 'logs', 'daemon.log')),
      `--- worker ${WORKER} (machine ${workerBox.name}): output ---`,
      (workerOutput + (worker?.output() ?? '')).split('\n').slice(-60).join('\n'),
    ].join('\n');
  /** A wait on the worker's work ends at once, saying so, when its process has exited. */
  const workerRunning = (): void => {
    const exit = worker?.child.exitCode ?? worker?.child.signalCode;
    if (worker && exit !== null && exit !== undefined) throw new Error(`the worker exited (${exit}): ${worker.output().trim().split('\n').slice(-5).join('\n')}`);
  };
  const task = async () => {
    expect(taskId, 'the task of step 4').toBeDefined();
    workerRunning();
    return api.getTask({ params: { id: taskId } });
  };
  /** The gate check's runs, one line per start (the folder it ran in), on one machine's disk. */
  /** Waits for the task's `status`; ends at once on a failed step, a dead letter of its agent or the worker's exit. */
  const taskReaches = (status: string, what: string, timeoutMs = 45_000) =>
    waitFor(
      async () => {
        const t = await task();
        if (t.git?.state === 'failed') throw new Error(`the task's step failed: ${JSON.stringify(t.git.error)}`);
        const dead = (await api.queueDead({ query: {} })).filter((m) => m.agentId === 'coder');
        if (dead.length > 0) throw new Error(`the agent's message went dead: ${dead.map((m) => m.lastError).join('; ')}`);
        return t.status === status ? t : undefined;
      },
      timeoutMs,
      what,
      100,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\ntask: ${JSON.stringify(await api.getTask({ params: { id: taskId } }))}`);
    });
  /** The worker's gate runs reached `n` (while the worker runs). */
  const gateStarted = (n: number) => () => {
    workerRunning();
    return gateRuns(workerBox).length === n || undefined;
  };
  const gateRuns = (box: Machine): string[] => {
    const file = box.disk(join(signals, 'runs'));
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  };

  beforeAll(async () => {
    lab = machines();
    [apiBox, workerBox] = await Promise.all([lab.addMachine('api'), lab.addMachine('worker', { bwrap: false })]);
    home = join(lab.dir, 'home');
    tinyagiHome = join(home, '.tinyagi');
    repo = join(lab.dir, 'repos', 'slugs');
    signals = join(lab.dir, 'signals');
    for (const box of [apiBox, workerBox]) {
      mkdirSync(box.disk(home), { recursive: true });
      // On both: a step run on the wrong machine leaves its line there.
      mkdirSync(box.disk(signals), { recursive: true });
    }
    database = await createTestDatabase('machines');
    const port = await freePort();
    // The agent CLIs installed on both machines (the kit's fake claude); git, python3 and sh from the system.
    const path = [FAKE_BIN_DIR, dirname(process.execPath), '/usr/bin', '/bin'].join(':');
    apiEnv = { HOME: home, PATH: path, TINYAGI_HOME: tinyagiHome, TINYAGI_DATABASE_URL: database.url, TINYAGI_API_TOKEN: TOKEN, TINYAGI_API_PORT: String(port), NO_COLOR: '1' };
    // docs/postgresql.md, "Running a worker": these four, and nothing in its home.
    workerEnv = {
      HOME: home,
      PATH: path,
      TINYAGI_HOME: tinyagiHome,
      TINYAGI_DATABASE_URL: database.url,
      TINYAGI_API_URL: `http://127.0.0.1:${port}`,
      TINYAGI_API_TOKEN: TOKEN,
    };
    const started = await apiBox.cli(['start'], apiEnv, { timeoutMs: 90_000 });
    if (started.code !== 0) throw new Error(`tinyagi start on machine api exited ${started.code}\n${started.stdout}${started.stderr}\n${logs()}`);
    api = createApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN });
    startWorker();
  }, 120_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(`${ctx.task.name}\n${logs()}`);
  });

  afterAll(async () => {
    await stopWorker().catch(() => undefined);
    await apiBox?.cli(['stop', '--timeout', '10'], apiEnv).catch(() => undefined);
    await lab?.cleanup();
    await database?.drop();
  }, 60_000);

  it('1. the worker, started as docs/postgresql.md says on a machine of its own, registers', async () => {
    const status = await waitFor(
      async () => {
        workerRunning();
        const s = await api.status();
        return s.nodes.some((n) => n.name === WORKER && n.state === 'live') ? s : undefined;
      },
      30_000,
      `node ${WORKER} live in GET /api/status`,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\nnodes: ${JSON.stringify((await api.status()).nodes)}`);
    });
    const self = status.nodes.find((n) => n.self);
    expect(self).toMatchObject({ role: 'api', hostname: 'api', state: 'live' });
    apiNode = self!.name;
    expect(status.nodes.find((n) => n.name === WORKER)).toMatchObject({ role: 'worker', hostname: 'worker' });
  });

  it('2. an agent placed on the worker answers a message, run on the worker', async () => {
    const added = await apiBox.cliOk(['agent', 'add', 'coder', '--provider', 'mock', '--node', WORKER, '--config', JSON.stringify({ mock: CODER_SCRIPT })], apiEnv);
    expect(added).toContain('coder');
    const sent = await api.sendMessage({ body: { message: 'hello there', agent: 'coder' } });
    const detail = await waitFor(
      async () => {
        workerRunning();
        const d = await api.getMessage({ params: { id: sent.messageId } });
        if (d.message.status === 'dead') throw new Error(`the message went dead: ${JSON.stringify(d.message)}`);
        return d.message.status === 'completed' ? d : undefined;
      },
      30_000,
      "coder's answer",
    );
    const seen = `${JSON.stringify(detail)}\nagent: ${JSON.stringify(await api.getAgent({ params: { id: 'coder' } }))}`;
    expect(
      detail.replies.map((r) => r.text.split('\n')[0]),
      seen,
    ).toEqual(['Hello from the worker.']);
    expect(detail.run?.node, seen).toBe(WORKER);
  });

  it("3. each agent's sandbox status is its own node's: enforced on the API node, degraded on the worker without bubblewrap", async () => {
    // As a person adds them (warm, sandboxed, asking: the API node's self-test passed), one on each node.
    await waitFor(async () => (await api.status()).sandbox !== null || undefined, 30_000, "the API node's sandbox self-test");
    const here = await apiBox.cliOk(['agent', 'add', 'boxed', '--provider', 'claude-code', '--node', apiNode], apiEnv);
    expect(here).toContain('Sandboxed (on)');
    await apiBox.cliOk(['agent', 'add', 'boxed-wk', '--provider', 'claude-code', '--node', WORKER], apiEnv);
    const status = await waitFor(
      async () => {
        workerRunning();
        const s = await api.status();
        return s.nodes.find((n) => n.name === WORKER)?.sandbox ? s : undefined;
      },
      30_000,
      `node ${WORKER}'s own sandbox status in GET /api/status`,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\nnodes: ${JSON.stringify((await api.status()).nodes)}`);
    });
    expect(status.nodes.find((n) => n.name === apiNode)?.sandbox).toMatchObject({ ok: true });
    expect(status.nodes.find((n) => n.name === WORKER)?.sandbox).toMatchObject({ ok: false });
    const agents = await api.listAgents();
    const boxed = agents.find((a) => a.id === 'boxed');
    const boxedWk = agents.find((a) => a.id === 'boxed-wk');
    expect(boxed?.sandboxStatus).toMatchObject({ setting: 'on', state: 'enforced', node: apiNode });
    expect(boxedWk?.sandboxStatus).toMatchObject({ setting: 'on', state: 'degraded', node: WORKER });
    expect(boxedWk?.sandboxStatus?.reason).toMatch(/bwrap|bubblewrap/i);
  });

  it('4. a repository only on the worker, bound naming the node: the task starts there, its agent says done, the Checking runs there, review', { timeout: 90_000 }, async () => {
    // The package on the worker's disk; nothing at that path on the API machine.
    const disk = workerBox.disk(repo);
    mkdirSync(disk, { recursive: true });
    writeFileSync(join(disk, '.gitignore'), '__pycache__/\n');
    writeFileSync(join(disk, 'slugs.py'), slugsModule('"-".join(title.lower().split())'));
    writeFileSync(join(disk, 'test_slugs.py'), slugsTest('Two  Words', 'two-words'));
    const git = (...args: string[]) => workerBox.sh(['git', '-C', repo, ...args]);
    git('init', '--quiet', '-b', 'main');
    git('config', 'user.name', 'Person');
    git('config', 'user.email', 'person@example.invalid');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'slugify');
    expect(existsSync(apiBox.disk(repo))).toBe(false);

    // Bound from the API machine, where the path means nothing, as docs/git-tasks.md says: naming the node.
    // The gate records where it ran, then holds while the test's hold file is there.
    const gate = `sh -c 'echo $PWD >> ${signals}/runs; while [ -e ${signals}/hold ]; do sleep 0.05; done'`;
    await apiBox.cliOk(['project', 'add', 'Slugs'], apiEnv);
    // The project's own check as docs/git-tasks.md's Python recipe without pytest (no pip: nothing downloaded).
    const bound = await apiBox.cliOk(
      ['project', 'bind', 'Slugs', '--path', repo, '--node', WORKER, '--check', 'test=python3 -B -m unittest', '--check', `gate=${gate}`, '--check-timeout', '120'],
      apiEnv,
    );
    const project = (await api.listProjects()).find((p) => p.name === 'Slugs');
    expect(project?.repo).toMatchObject({ path: repo, node: WORKER, checks: [{ name: 'test' }, { name: 'gate', argv: ['sh', '-c', expect.stringContaining('/runs')] }] });
    // The CLI says which node holds it.
    expect(bound).toContain(`Bound ${project!.prefix} (Slugs) to ${repo} on node ${WORKER}.`);
    expect(await apiBox.cliOk(['project', 'show', 'Slugs'], apiEnv)).toMatch(/^node: +wk1 \(it holds the repository and the worktrees: every step of the project's tasks runs there\)$/m);
    expect(await apiBox.cliOk(['project', 'list'], apiEnv)).toContain(`${repo} on node ${WORKER}`);
    const created = await api.createTask({ body: { title: 'Join slug words with underscores', projectId: project!.id, assigneeAgent: 'coder', status: 'in_progress' } });
    taskId = created.id;
    const reviewed = await taskReaches('review', 'the task in review');
    conversationId = reviewed.conversationId!;
    expect(reviewed.git).toMatchObject({ node: WORKER, check: { state: 'passed' } });
    const worktree = reviewed.git!.worktreePath!;
    // Made, checked and committed on the worker; the API machine has no such folder.
    expect(workerBox.sh(['git', '-C', worktree, 'log', '-1', '--format=%s'])).toBe('slugify: underscores');
    expect(existsSync(apiBox.disk(worktree))).toBe(false);
    expect(gateRuns(workerBox)).toEqual([worktree]);
    expect(gateRuns(apiBox)).toEqual([]);
    expect(field(await apiBox.cliOk(['task', 'show', reviewed.identifier!], apiEnv), 'worktree')).toBe(`${worktree} on node ${WORKER}`);
  });

  it("5. a person's request for changes is carried out on the worker; the worker SIGKILLed mid-Checking and started again finishes it without a lost round", { timeout: 180_000 }, async () => {
    // The next Checking's gate holds until the test lets it end.
    await task();
    writeFileSync(workerBox.disk(join(signals, 'hold')), '');
    const asked = await api.requestChanges({ params: { id: taskId }, body: { summary: 'Please drop punctuation too.' } });
    expect(asked.task.status).toBe('in_progress');
    await waitFor(gateStarted(2), 45_000, "the second Checking's gate to start on the worker").catch(async (err: Error) => {
      throw new Error(`${err.message}\ntask: ${JSON.stringify(await task())}`);
    });
    const checking = await task();
    expect(checking.status).toBe('checking');
    const rounds = checking.git?.rounds;

    // kill -9 of the worker's process only: what it started (the check) is orphaned, as on a real machine.
    const killed = worker!;
    const gone = exitOf(killed.child);
    process.kill(killed.child.pid!, 'SIGKILL');
    expect((await gone).signal).toBe('SIGKILL');
    startWorker();
    await waitFor(gateStarted(3), 45_000, 'the restarted worker to run the Checking again').catch(async (err: Error) => {
      throw new Error(`${err.message}\ntask: ${JSON.stringify(await task())}`);
    });
    rmSync(workerBox.disk(join(signals, 'hold')));
    const reviewed = await taskReaches('review', 'review after the Checking');
    expect(reviewed.git).toMatchObject({ node: WORKER, check: { state: 'passed' } });
    expect(reviewed.git?.rounds).toBe(rounds);
    const worktree = reviewed.git!.worktreePath!;
    expect(workerBox.sh(['git', '-C', worktree, 'log', '-1', '--format=%s'])).toBe('slugify: drop punctuation');
    // No failed Checking reached the agent, and the API node never ran a step.
    const transcript = await api.getTranscript({ params: { id: conversationId } });
    expect(transcript.entries.filter((e) => e.direction === 'in' && /The check "/.test(e.text))).toEqual([]);
    expect(gateRuns(apiBox)).toEqual([]);
  });

  it('6. the worker stopped: a merge asked on the API machine is refused at once and recorded; task show and list say it waits; a second step is refused', { timeout: 60_000 }, async () => {
    const inReview = await task();
    expect(inReview.status).toBe('review');
    const id = inReview.identifier!;
    mainBefore = workerBox.sh(['git', '-C', repo, 'rev-parse', 'main']);
    // A person's stop: the registry says stopped at once.
    await stopWorker();
    await waitFor(async () => (await api.status()).nodes.find((n) => n.name === WORKER)?.state === 'stopped' || undefined, 15_000, `node ${WORKER} stopped in GET /api/status`);

    // Refused well within the 120 s an ask waits for its answer.
    const refused = await apiBox.cli(['task', 'merge', id], apiEnv, { timeoutMs: 20_000 });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      `error: Task ${id}'s merge runs on node wk1, which holds its disk, and that node is not running (no heartbeat). The merge is recorded on the task and runs when node wk1 is back.`,
    );
    expect(refused.stderr).toContain('tinyagi worker --name wk1');
    expect(refused.stderr.trim().endsWith('(NODE_UNAVAILABLE)')).toBe(true);
    const waiting = await api.getTask({ params: { id: taskId } });
    expect(waiting.status).toBe('review');
    expect(waiting.git?.request).toMatchObject({ step: 'merge', node: WORKER });
    const show = await apiBox.cliOk(['task', 'show', id], apiEnv);
    expect(show).toMatch(/^Merge waits for node wk1 \(down\) since .+: it runs there when the node is back\.$/m);
    expect(field(show, 'worktree')).toBe(`${waiting.git!.worktreePath} on node ${WORKER}`);
    expect(show).not.toContain('Merge it with');
    expect(await apiBox.cliOk(['task', 'list'], apiEnv)).toContain(`merge waits for node ${WORKER}`);
    const second = await apiBox.cli(['task', 'request-changes', id], apiEnv, { timeoutMs: 20_000 });
    expect([second.code, second.stderr]).toEqual([1, expect.stringContaining(`has a merge waiting for node ${WORKER}`)]);
    expect(workerBox.sh(['git', '-C', repo, 'rev-parse', 'main'])).toBe(mainBefore);
  });

  it("7. the worker back carries the merge out in its repository; nothing waits; the API machine's disk has no trace of any of it", { timeout: 90_000 }, async () => {
    expect(mainBefore, 'the main of step 6').toBeDefined();
    const { worktreePath: worktree, request } = (await api.getTask({ params: { id: taskId } })).git ?? {};
    expect(request?.step).toBe('merge');
    startWorker();
    const done = await taskReaches('done', 'the task done by the merge the worker carried out', 60_000);
    // The request is taken off the task just after the merge it carried out.
    await waitFor(async () => (await task()).git?.request === undefined || undefined, 15_000, 'the merge request taken off the task');
    expect(done.git?.merge).toMatchObject({ by: 'person', method: 'merge' });
    const main = workerBox.sh(['git', '-C', repo, 'log', '-1', '--format=%H %P', 'main']).split(' ');
    expect(main).toHaveLength(3); // a merge commit: itself and two parents
    expect(main[1]).toBe(mainBefore);
    expect(workerBox.sh(['git', '-C', repo, 'show', 'main:slugs.py'])).toContain('isalnum');
    expect(existsSync(workerBox.disk(worktree!))).toBe(false);
    const after = await apiBox.cliOk(['task', 'show', done.identifier!], apiEnv);
    expect(after).not.toContain('waits for node');
    expect(field(after, 'worktree')).toBe(`removed at the merge (was ${worktree} on node ${WORKER})`);
    // Nothing of the repository, its worktrees or its checks on the API machine.
    for (const path of [repo, join(tinyagiHome, 'worktrees'), join(tinyagiHome, 'repos'), join(signals, 'runs')]) expect(existsSync(apiBox.disk(path)), path).toBe(false);
  });
});
