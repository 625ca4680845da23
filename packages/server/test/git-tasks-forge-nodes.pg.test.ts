import { join } from 'node:path';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { openPgStores } from '@tinyagi/core/pg';
import { fakeCli, gitRepos, sh, tempDir, waitFor } from '@tinyagi/test-kit';
import { type GitHubStandIn, startGitHubStandIn } from '@tinyagi/test-kit/github-standin';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { dropTestSchema } from '@tinyagi/test-kit/stores';
import { afterEach, describe, expect, it } from 'vitest';
import { baseSettings, eventsOf, raw, type ServerHarness, startHarness } from './harness.ts';
import { prompts, scriptedAgent } from './git-harness.ts';

const db = await pgTestDatabase();
let nodes: ServerHarness[] = [];
let gh: GitHubStandIn | undefined;
let schema = '';
afterEach(async () => {
  for (const n of nodes) await n.close();
  nodes = [];
  await gh?.close();
  gh = undefined;
  if (schema) await dropTestSchema(db.url, schema);
  schema = '';
});

const commitAndPush = (content: string): string =>
  `printf '%s\\n' '${content}' > login.ts && git add login.ts && git -c user.name=Agent -c user.email=agent@example.com commit -q -m 'login: ${content}' && git push -q origin HEAD`;

/** A node: its own server and orchestrator on its own pool of the shared schema; its runs call back to it. */
async function node(env: Record<string, string>, logFile: string): Promise<ServerHarness> {
  let apiUrl = '';
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' } }, teams: {} });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, TINYAGI_API_URL: apiUrl } });
  const stores = await openPgStores({ url: db.url, schema, poolSize: 6 });
  const harness = await startHarness({ settings, invoke, env, stores });
  nodes.push(harness);
  apiUrl = harness.url;
  return harness;
}

describe.skipIf(db.skip !== undefined)('a forge read by two nodes (PostgreSQL)', () => {
  it('both daemons poll one task in review and a person syncs on each: one read at a time, one message to the owner', async () => {
    schema = testSchema('forge_nodes');
    const fx = gitRepos();
    gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web' });
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const logFile = join(tempDir('tinyagi-forge-nodes-log-'), 'fake.log');
    const env = { TINYAGI_TEST_GH_TOKEN: gh.token };
    const a = await node(env, logFile);
    const b = await node(env, logFile);
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 1 };
    const project = await a.client.createProject({
      body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } },
    });
    const agent = scriptedAgent([commitAndPush('v1'), commitAndPush('v2 fixed')]);
    const task = await a.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const reviewed = await waitFor(
      async () => {
        const t = await b.client.getTask({ params: { id: task.id } });
        return t.status === 'review' && t.git?.pullRequest !== undefined ? t : undefined;
      },
      30_000,
      'review with a pull request',
    );
    const v1 = reviewed.git!.check!.headSha!;

    // GitHub holds its answers; CI fails; a node's poll starts reading the task and holds it.
    const release = gh.hold();
    await gh.addCheckRun({ headSha: v1, name: 'ci', conclusion: 'failure', output: { title: 'ci fails on v1' } });
    await waitFor(() => gh!.waiting() > 0, 30_000, "a poll's read of the pull request");
    // Meanwhile a person's sync on either node is refused at once (the reading node by its own guard, the other by the database's hold), asking GitHub nothing.
    let answered = false;
    const syncs = Promise.all([raw(a, 'POST', `/api/tasks/${task.id}/forge/sync`, {}), raw(b, 'POST', `/api/tasks/${task.id}/forge/sync`, {})]).finally(() => (answered = true));
    syncs.catch(() => {});
    // A second reader reaching GitHub (the bug) is seen as a second held request, not as a hang.
    const first = await waitFor(() => (answered ? 'refused' : gh!.waiting() > 1 ? 'a second read' : undefined), 30_000, 'the syncs answered');
    if (first !== 'refused') release();
    expect(first).toBe('refused');
    const [onA, onB] = await syncs;
    expect([onA.status, onB.status]).toEqual([409, 409]);
    expect([onA.body, onB.body]).toEqual(expect.arrayContaining([expect.objectContaining({ error: expect.objectContaining({ message: expect.stringContaining('is being read') }) })]));
    expect(gh.waiting()).toBe(1);
    // And a person's request for changes on either node: the task's review is held (it would send a round beside the read's).
    const asks = await Promise.all([a, b].map((n) => raw(n, 'POST', `/api/tasks/${task.id}/request-changes`, { body: JSON.stringify({ summary: 'Also rename it.' }) })));
    expect(asks.map((r) => [r.status, (r.body as { error: { message: string } }).error.message])).toEqual([
      [409, expect.stringContaining('has a review being sent')],
      [409, expect.stringContaining('has a review being sent')],
    ]);
    release();

    // The read that held the task sends the failure once; the owner fixes and pushes, and both polls find nothing more.
    await waitFor(
      async () => {
        const t = await a.client.getTask({ params: { id: task.id } });
        return t.status === 'review' && t.git?.check?.headSha !== v1 ? t : undefined;
      },
      30_000,
      'review after the fix',
    );
    expect((await eventsOf(a.stores, { types: ['task.review_sent'] })).map((e) => e.data.round)).toEqual([1]);
    expect(prompts(logFile).filter((p) => p.includes('ci fails on v1'))).toHaveLength(1);
    expect((await a.client.listComments({ params: { id: task.id } })).filter((c) => c.author === 'github')).toHaveLength(1);

    // A reviewer comments on a line; a crash had left it stored on the task and not recorded (the rows a read writes before its record):
    // the next read, on either node, matches it instead of storing it again, and sends it once.
    const v2 = (await a.client.getTask({ params: { id: task.id } })).git!.check!.headSha!;
    // (Stored first: a poll between the two then sends the stored one, and GitHub's is matched to it when it comes; the other order could let a poll store it itself.)
    await a.stores.tasks.addComment(task.id, { author: 'github:ann', content: 'Say why.', anchor: { path: 'login.ts', line: 1, side: 'new', commitSha: v2 } });
    await gh.addReviewComment({ pullNumber: 1, path: 'login.ts', line: 1, body: 'Say why.', login: 'ann' });
    await waitFor(() => prompts(logFile).some((p) => p.includes('Say why.')), 30_000, 'the comment reaching the owner');
    await waitFor(async () => (await a.client.getTask({ params: { id: task.id } })).git?.forgeSent?.length === 2, 30_000, 'the comment recorded');
    expect((await eventsOf(a.stores, { types: ['task.review_sent'] })).map((e) => e.data.round)).toEqual([1, 2]);
    const comments = await a.client.listComments({ params: { id: task.id } });
    expect(comments.filter((c) => c.author === 'github:ann').map((c) => c.sentRound)).toEqual([2]);
    expect(prompts(logFile).filter((p) => p.includes('Say why.'))).toHaveLength(1);
  });
});
