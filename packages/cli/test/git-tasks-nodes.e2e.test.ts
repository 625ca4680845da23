/**
 * The task flow on every node (docs/git-tasks.md, "Several nodes"): the API node (the built daemon
 * as `tinyagi start` runs it) and a worker node (the built `tinyagi worker`) on one PostgreSQL
 * schema and one machine's disk, the binding's worktree root on it (one path for both nodes, whose
 * homes differ). The agent's "done" reaches the API node through its run's own tool route; the API
 * node, which made the worktree and holds the task's disk (`git.node`), starts the Checking and
 * holds the task; it is killed (SIGKILL) while the check runs. The worker takes the step over only
 * once the API node is down (its heartbeat stale, three intervals after the last) and because it
 * sees the task's own worktree (the disk both share): it runs the Checking again. The API node
 * starts again and the worker is killed in the middle of its run; the API node's flow takes the
 * task back and the Checking ends, once, in Review. Waits on files and states, no sleeps.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createApiClient } from '@tinyagi/client';
import { mintRunToken } from '@tinyagi/server/internal';
import { commitFile, createDaemon, gitRepos, tempDir, type TestDaemon, waitFor, workerNode } from '@tinyagi/test-kit';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';

const db = await pgTestDatabase();
const TOKEN = `tk_${'a1b2c3d4'.repeat(6)}`;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

describe.skipIf(db.skip !== undefined)('the task flow on two nodes (PostgreSQL)', () => {
  it('the API node is killed in the middle of a Checking: the worker node runs it again; the worker killed in turn, the restarted API node does; the task reaches review once', {
    timeout: 150_000,
  }, async () => {
    const admin = new pg.Pool({ connectionString: db.url, max: 1 });
    cleanups.push(() => admin.end());
    const schema = testSchema('taskflow_nodes');
    cleanups.push(() => dropSchema(admin, schema));
    const fx = gitRepos();
    const signals = tempDir('tinyagi-taskflow-signals-');
    // A check a killed node left running ends with the test, whatever happened.
    cleanups.push(async () => writeFileSync(join(signals, 'release'), ''));
    const storage = { url: db.url, schema, pool_size: 4 };
    // The agent's run lasts (its run-scoped token works only while it runs): its "done" is said from inside it.
    const agents = { coder: { name: 'Coder', provider: 'mock', mock: { reply: 'On it.', latency_ms: 600_000 } } };
    const api: TestDaemon = await createDaemon({
      apiToken: TOKEN,
      // git and sh for the worktree step and the check (PATH otherwise holds only node's folder).
      path: ['/usr/bin', '/bin'],
      settings: ({ root }) => ({ agents, storage, workspace: { path: join(root, 'workspace'), name: 'workspace' } }),
    });
    cleanups.push(() => api.cleanup());
    await api.start();

    // A check that records each start (epoch ms), then runs until the test lets it end.
    const check = { name: 'slow', argv: ['sh', '-c', `date +%s%3N >> '${signals}/runs'; while [ ! -f '${signals}/release' ]; do sleep 0.05; done; echo ok`], timeoutMs: 120_000 };
    const runs = (): number[] => (existsSync(join(signals, 'runs')) ? readFileSync(join(signals, 'runs'), 'utf8').trim().split('\n').map(Number) : []);
    const project = await api.api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [check] } } });
    const started = await api.api.createTask({ body: { title: 'Login', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const dispatched = await waitFor(
      async () => {
        const t = await api.api.getTask({ params: { id: started.id } });
        return t.conversationId !== null && t.git?.worktreePath ? t : undefined;
      },
      30_000,
      'the task sent to its agent',
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(await api.api.getTask({ params: { id: started.id } }))}\n${api.logs().slice(-3000)}`);
    });
    commitFile(dispatched.git!.worktreePath!, 'login.ts', 'export const login = 1;\n', 'login');
    const tree = await waitFor(
      async () => {
        const t = await api.api.getConversation({ params: { id: dispatched.conversationId! } });
        return t.roots[0]?.status === 'running' ? t : undefined;
      },
      30_000,
      "the agent's run",
    );

    // The agent's "done", through its run's own tool route on the API node (its run-scoped token).
    const runId = tree.roots[0]!.runId;
    const asRun = createApiClient({ baseUrl: api.url, token: mintRunToken(TOKEN, runId, dispatched.conversationId!) });
    const said = await asRun.updateRunTask({ params: { id: runId }, body: { status: 'review' } });
    expect(said.task?.status).toBe('checking');
    await waitFor(() => runs().length === 1 || undefined, 30_000, "the API node's check to start");

    // The worker joins, then the API node dies with the check running (its hold goes with its connections; it stays the disk node).
    const worker = workerNode({ name: 'w1', storage, token: TOKEN });
    cleanups.push(() => worker.kill());
    worker.start();
    await waitFor(async () => (await admin.query(`SELECT 1 FROM "${schema}".nodes WHERE name = 'w1' AND stopped_at IS NULL`)).rows.length > 0 || undefined, 60_000, 'the worker to join');
    await api.kill();

    // The worker's flow takes the task over and runs its check again, once the API node's heartbeat is stale (~15 s).
    const withWorkerLog = (err: Error): never => {
      throw new Error(`${err.message}\n${worker.output()}`);
    };
    await waitFor(() => runs().length === 2 || undefined, 60_000, 'the worker to run the check again').catch(withWorkerLog);
    const { rows: killed } = await admin.query<{ heartbeat_at: string; heartbeat_ms: number }>(`SELECT heartbeat_at, heartbeat_ms FROM "${schema}".nodes WHERE role = 'api'`);
    expect(killed).toHaveLength(1);
    expect(runs()[1]).toBeGreaterThan(Number(killed[0]!.heartbeat_at) + 3 * killed[0]!.heartbeat_ms);

    // The reverse: the API node comes back, the worker dies in the middle of its run of the check; the API node's flow takes it.
    await api.start();
    await worker.kill();
    await waitFor(() => runs().length === 3 || undefined, 60_000, 'the API node to run the check again');
    writeFileSync(join(signals, 'release'), '');
    const reviewed = await waitFor(
      async () => {
        const { rows } = await admin.query<{ status: string; git: string }>(`SELECT status, git FROM "${schema}".tasks WHERE id = $1`, [started.id]);
        return rows[0]?.status === 'review' ? rows[0] : undefined;
      },
      60_000,
      "review after the worker's Checking",
    ).catch(withWorkerLog);
    const git = (typeof reviewed.git === 'string' ? JSON.parse(reviewed.git) : reviewed.git) as { check: { state: string; commits: number; checks: Array<{ name: string; exitCode: number }> } };
    expect(git.check).toMatchObject({ state: 'passed', commits: 1, checks: [{ name: 'slow', exitCode: 0 }] });
    // Once per node that held it: the killed API node's start, the killed worker's, the restarted API node's; none after.
    expect(runs()).toHaveLength(3);
    const { rows: checked } = await admin.query(`SELECT 1 FROM "${schema}".events WHERE type = 'task.checked'`);
    expect(checked).toHaveLength(1);
  });
});
