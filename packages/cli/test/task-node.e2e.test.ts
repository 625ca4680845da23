/**
 * What `tinyagi project` and `tinyagi task` say of a task whose disk is on another node
 * (docs/git-tasks.md, "Several nodes"): the built daemon (the API node) and a built `tinyagi
 * worker` wk1 on one PostgreSQL schema, the agent placed on wk1. `project add --node wk1` binds
 * the repository naming the node, `project show` prints it; the task's worktree is made in wk1's
 * home and `task show` says it is on node wk1. With wk1 stopped, `task merge` is refused with
 * NODE_UNAVAILABLE at once (no retry), saying the merge is recorded; `task show` and `task list`
 * say the merge waits for wk1 (down); a second step is refused naming it. wk1 back, it carries the
 * merge out and nothing waits any more. Waits on states, no sleeps. (The nodes share this
 * machine's disk; machines.e2e.test.ts runs them as separate machines.)
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitFile, createDaemon, gitRepos, sh, type TestDaemon, waitFor, type WorkerNode, workerNode } from '@tinyagi/test-kit';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { dropTestSchema } from '@tinyagi/test-kit/stores';

const db = await pgTestDatabase();
const TOKEN = `tk_${'e5f6a7b8'.repeat(6)}`;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

describe.skipIf(db.skip !== undefined)('a task on another node, from the CLI (PostgreSQL)', () => {
  it('project and task commands say which node holds the repository and the worktree, and a merge that waits for it while it is down', { timeout: 150_000 }, async () => {
    const schema = testSchema('task_node_cli');
    cleanups.push(() => dropTestSchema(db.url, schema));
    const storage = { url: db.url, schema, pool_size: 4 };
    const api: TestDaemon = await createDaemon({
      apiToken: TOKEN,
      // git and sh for the binding's check (PATH otherwise holds only node's folder).
      path: ['/usr/bin', '/bin'],
      settings: ({ root }) => ({
        storage,
        workspace: { path: join(root, 'workspace'), name: 'workspace' },
        agents: { coder: { name: 'Coder', provider: 'mock', node: 'wk1', mock: { reply: 'On it.' } } },
      }),
    });
    cleanups.push(() => api.cleanup());
    await api.start();
    const wk1: WorkerNode = workerNode({ name: 'wk1', storage, token: TOKEN });
    cleanups.push(() => wk1.kill());
    const withLogs = (err: Error): never => {
      throw new Error(`${err.message}\n--- wk1 ---\n${wk1.output().slice(-3000)}\n--- api ---\n${api.logs().slice(-3000)}`);
    };
    const nodeState = async (): Promise<string | undefined> => (await api.api.status()).nodes.find((n) => n.name === 'wk1')?.state;
    wk1.start();
    await waitFor(async () => (await nodeState()) === 'live' || undefined, 60_000, 'wk1 to join').catch(withLogs);

    // The binding names the node; wk1 checks it on its disk.
    const fx = gitRepos();
    expect(await api.cliOk(['project', 'add', 'Web', '--path', fx.repoDir, '--node', 'wk1'])).toContain(`Added the project WEB (Web), bound to ${fx.repoDir} on node wk1.`);
    expect(await api.cliOk(['project', 'show', 'Web'])).toMatch(/^node: +wk1 \(it holds the repository and the worktrees: every step of the project's tasks runs there\)$/m);
    expect(await api.cliOk(['project', 'list'])).toContain(`${fx.repoDir} on node wk1`);

    // Started on the API node: the worktree is made in wk1's home.
    const project = await api.api.getProject({ params: { id: 'WEB' } });
    const created = await api.api.createTask({ body: { title: 'Login', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const started = await waitFor(
      async () => {
        const t = await api.api.getTask({ params: { id: created.id } });
        return t.git?.state === 'ready' && t.conversationId !== null ? t : undefined;
      },
      60_000,
      'the worktree made on wk1 and the task sent',
    ).catch(withLogs);
    const worktree = started.git!.worktreePath!;
    expect([started.git!.node, worktree.startsWith(join(wk1.home, 'worktrees'))]).toEqual(['wk1', true]);
    expect(await api.cliOk(['task', 'show', 'WEB-1'])).toMatch(new RegExp(`^worktree: +${worktree.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on node wk1$`, 'm'));

    // A person's Checking (run on wk1) takes the committed work to Review.
    commitFile(worktree, 'login.ts', 'export const login = 1;\n', 'login');
    await api.cliOk(['task', 'check', 'WEB-1']);
    await waitFor(async () => (await api.api.getTask({ params: { id: created.id } })).status === 'review' || undefined, 60_000, 'review after the Checking on wk1').catch(withLogs);

    // wk1 stops: the merge is refused at once and recorded on the task.
    await wk1.stop();
    await waitFor(async () => (await nodeState()) !== 'live' || undefined, 30_000, 'wk1 listed as down');
    const refused = await api.cli(['task', 'merge', 'WEB-1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "error: Task WEB-1's merge runs on node wk1, which holds its disk, and that node is not running (no heartbeat). The merge is recorded on the task and runs when node wk1 is back.",
    );
    expect(refused.stderr).toContain('tinyagi worker --name wk1');
    expect(refused.stderr.trim().endsWith('(NODE_UNAVAILABLE)')).toBe(true);
    const show = await api.cliOk(['task', 'show', 'WEB-1']);
    expect(show).toMatch(/^Merge waits for node wk1 \(down\) since .+: it runs there when the node is back\.$/m);
    expect(show).toMatch(/^worktree: +\S+ on node wk1$/m);
    expect(show).not.toContain('Merge it with');
    expect(await api.cliOk(['task', 'list'])).toContain('merge waits for node wk1');
    const second = await api.cli(['task', 'request-changes', 'WEB-1']);
    expect([second.code, second.stderr]).toEqual([1, expect.stringContaining('has a merge waiting for node wk1')]);

    // wk1 back: it carries the merge out once; nothing waits.
    wk1.start();
    const merged = await waitFor(
      async () => {
        const t = await api.api.getTask({ params: { id: created.id } });
        // The request is taken off the task just after the merge it carried out.
        return t.status === 'done' && t.git?.request === undefined ? t : undefined;
      },
      60_000,
      'the merge carried out by wk1',
    ).catch(withLogs);
    expect(merged.git?.merge?.by).toBe('person');
    expect(sh(fx.repoDir, 'show', 'main:login.ts')).toBe('export const login = 1;');
    const after = await api.cliOk(['task', 'show', 'WEB-1']);
    expect(after).not.toContain('waits for node');
    expect(after).toMatch(/^worktree: +removed at the merge \(was \S+ on node wk1\)$/m);
  });
});
