/**
 * Each step of a task on the node that holds its disk (docs/git-tasks.md, "Several nodes"): two
 * nodes (servers, orchestrators and task flows) on one PostgreSQL schema, the binding naming the
 * worker. Every request lands on the API node; the binding's check, the start and its worktree,
 * the Checking, a person's request for changes and the diff run on the worker (its
 * worktree is in the worker's home). While the worker is down, the API node takes a merge over
 * (it sees the task's own worktree: this disk is shared) but never starts a task there: that waits
 * for the worker. Real git, the fake claude as the agent; waits on states, no sleeps. (A node
 * that is down and a disk nobody else sees: packages/cli/test/machines.e2e.test.ts, separate machines.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { openPgStores } from '@tinyagi/core/pg';
import { fakeCli, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { dropTestSchema } from '@tinyagi/test-kit/stores';
import { afterEach, describe, expect, it } from 'vitest';
import { baseSettings, raw, type ServerHarness, startHarness } from './harness.ts';
import { scriptedAgent } from './git-harness.ts';

const db = await pgTestDatabase();
let nodes: ServerHarness[] = [];
let schema = '';
afterEach(async () => {
  for (const n of nodes) await n.close();
  nodes = [];
  if (schema) await dropTestSchema(db.url, schema);
  schema = '';
});

const live = new Set<string>();

async function node(name: string): Promise<ServerHarness> {
  let apiUrl = '';
  // The agent is placed on the worker (its runs may still land on either node here: one disk).
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic', node: 'wk1' } }, teams: {} });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, TINYAGI_API_URL: apiUrl } });
  const stores = await openPgStores({ url: db.url, schema, poolSize: 6 });
  const harness = await startHarness({ settings, invoke, stores, taskNode: { name, isLive: async (n) => live.has(n) } });
  nodes.push(harness);
  apiUrl = harness.url;
  live.add(name);
  return harness;
}

const commit = (file: string, content: string): string =>
  `printf '%s\\n' '${content}' > ${file} && git add ${file} && git -c user.name=Agent -c user.email=agent@example.com commit -q -m '${file}: ${content}'`;

describe.skipIf(db.skip !== undefined)('task steps on the node that holds the disk (PostgreSQL)', () => {
  it('the API node asks the worker for the binding check, the start, the Checking, a request for changes and the diff; while it is down the API node takes a merge over on the shared disk but a start waits', {
    timeout: 90_000,
  }, async () => {
    schema = testSchema('task_disk_nodes');
    live.clear();
    const api = await node('api');
    const wk1 = await node('wk1');
    const fx = gitRepos();

    // The binding is checked by the node it names: a path that is not a repository is refused there, a node that is down at once.
    const notRepo = await raw(api, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Bad', repo: { path: join(fx.root, 'nowhere'), node: 'wk1' } }) });
    expect(notRepo.status).toBe(400);
    const down = await raw(api, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Far', repo: { path: fx.repoDir, node: 'wk9' } }) });
    expect([down.status, (down.body as { error: { code: string } }).error.code]).toEqual([503, 'NODE_UNAVAILABLE']);
    const project = await api.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, node: 'wk1', checks: [{ name: 'ok', argv: ['true'], timeoutMs: 60_000 }] } } });
    expect(project.repo?.node).toBe('wk1');

    // Started on the API node: the worker makes the worktree in its own home and sends the task.
    const agent = scriptedAgent([commit('login.ts', 'v1'), commit('login.ts', 'v2')]);
    const created = await api.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    expect(created.git).toMatchObject({ state: 'ready', node: 'wk1' });
    expect(created.git!.worktreePath!.startsWith(join(wk1.home, 'worktrees'))).toBe(true);
    expect(created.conversationId).not.toBeNull();
    expect(existsSync(join(api.home, 'worktrees'))).toBe(false);

    const inReview = async (round: number) =>
      waitFor(
        async () => {
          const t = await api.client.getTask({ params: { id: created.id } });
          return t.status === 'review' && (t.git?.rounds ?? 0) === round ? t : undefined;
        },
        30_000,
        `the task in review after round ${round}`,
      );
    await inReview(0);
    expect((await api.client.getTaskDiff({ params: { id: created.id } })).files.map((f) => f.path)).toEqual(['login.ts']);

    // A person's request for changes, asked of the API node, is carried out by the worker; the agent works again.
    const reviewed = await api.client.requestChanges({ params: { id: created.id }, body: { summary: 'Make it v2.' } });
    expect(reviewed.sent.round).toBe(1);
    expect(reviewed.task.git?.request).toBeUndefined();
    await inReview(1);

    // The worker is down: this disk is shared, so the API node sees the task's own worktree and takes the merge over.
    live.delete('wk1');
    // A node's liveness is read at most once a second: until the API node sees the worker down (a binding check asked of it
    // answers 503, not the worker's 400), it would still ask the worker, which is running here.
    await waitFor(
      async () => (await raw(api, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Bad', repo: { path: join(fx.root, 'nowhere'), node: 'wk1' } }) })).status === 503 || undefined,
      10_000,
      'the API node to see the worker down',
    );
    const merged = await api.client.mergeTask({ params: { id: created.id }, body: {} });
    expect(merged.task.status).toBe('done');
    expect(sh(fx.repoDir, 'show', 'main:login.ts').trim()).toBe('v2');
    // The worktree it removed is the one the task records (in the worker's home), not one under the API node's.
    expect(merged.worktree).toMatchObject({ removed: true, branchDeleted: true });
    expect(existsSync(created.git!.worktreePath!)).toBe(false);

    // A task started while the worker is down waits for it, saying where; the worker starts it when it is back.
    const later = await api.client.createTask({ body: { title: 'Later', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    expect(later).toMatchObject({ conversationId: null, git: { state: 'creating', node: 'wk1', worktreePath: null } });
    // The API node never makes it: it holds no worktree of it to take over.
    await api.app.tiny.taskFlow.sweep(true);
    expect((await api.client.getTask({ params: { id: later.id } })).git?.worktreePath).toBeNull();
    live.add('wk1');
    await wk1.app.tiny.taskFlow.sweep(true);
    const started = await api.client.getTask({ params: { id: later.id } });
    expect(started.conversationId).not.toBeNull();
    expect(started.git!.worktreePath!.startsWith(join(wk1.home, 'worktrees'))).toBe(true);
  });
});
