/**
 * The proof that a check kind and a forge are each one folder and one line (docs/kinds.md,
 * "Check kinds" and "Forges"), as runtimes are: a throw-away check kind
 * (fixtures/throwaway-check-kind/: a file that must be in the worktree) and a throw-away forge
 * (fixtures/throwaway-forge/: pull requests in memory, branches in the project's real bare
 * remote), each registered by one line here, and nothing else in the product naming them. A
 * binding naming them is checked by them when it is stored (an unknown kind is a 400 naming the
 * registered ones); a task's Checking runs the check by its kind beside a `command` check that
 * names no kind; the pull request opens on the forge, the forge's poll brings a failed check run
 * back to the owner, and the merge is made there and proved by ancestry after a fetch. Real git,
 * real HTTP, the fake claude as the agent; nothing of ours mocked.
 */
import { join } from 'node:path';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core/internal';
import { checkKinds, forgeKinds } from '@tinyagi/git-tasks';
import { fakeCli, gitRepos, sh, tempDir, waitFor } from '@tinyagi/test-kit';
import { afterAll, afterEach, expect, it } from 'vitest';
import { fileExistsCheckKind } from './fixtures/throwaway-check-kind/index.ts';
import { memoryForge, memoryForgeKind } from './fixtures/throwaway-forge/index.ts';
import { prompts, scriptedAgent } from './git-harness.ts';
import { baseSettings, raw, type ServerHarness, startHarness } from './harness.ts';

// The one line each: as a built-in's list or a plugin registers it.
const unregister = [checkKinds.register(fileExistsCheckKind), forgeKinds.register(memoryForgeKind)];
afterAll(() => {
  for (const undo of unregister) undo();
});

let h: ServerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(): Promise<{ harness: ServerHarness; logFile: string }> {
  let apiUrl = '';
  const logFile = join(tempDir('tinyagi-kinds-log-'), 'fake.log');
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' } }, teams: {} });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_LOG: logFile, TINYAGI_API_URL: apiUrl } });
  // The forge's token, in the variable its kind names (the binding names none).
  const harness = await startHarness({ settings, invoke, env: { MEMORY_FORGE_TOKEN: 'memory-token-1' } });
  h = harness;
  apiUrl = harness.url;
  return { harness, logFile };
}

const commitAndPush = (file: string, content: string): string =>
  `printf '%s\\n' '${content}' > ${file} && git add ${file} && git -c user.name=Agent -c user.email=agent@example.com commit -q -m '${file}: ${content}' && git push -q origin HEAD`;

async function taskWhen(harness: ServerHarness, id: string, test: (t: Awaited<ReturnType<ServerHarness['client']['getTask']>>) => boolean, what: string) {
  return waitFor(
    async () => {
      const t = await harness.client.getTask({ params: { id } });
      return test(t) ? t : undefined;
    },
    30_000,
    what,
  );
}

it('a binding naming a kind nobody registered, or one its kind finds wrong, is refused when it is stored, naming the registered kinds', async () => {
  const fx = gitRepos({ remote: true });
  const { harness } = await start();
  const post = (repo: Record<string, unknown>) => raw(harness, 'POST', '/api/projects', { body: JSON.stringify({ name: 'Web', repo: { path: fx.repoDir, remote: 'origin', ...repo } }) });

  const gitlab = await post({ forge: { kind: 'gitlab', owner: 'team', repo: 'web' } });
  expect(gitlab.status).toBe(400);
  expect(gitlab.body).toMatchObject({
    error: { code: 'VALIDATION_FAILED', details: { issues: [{ path: 'repo.forge.kind', message: 'Unknown forge kind "gitlab": the registered forges are "github", "memory-forge".' }] } },
  });
  const nobody = await post({ checks: [{ name: 'lint', kind: 'nobody-registered-this', timeoutMs: 1000 }] });
  expect(nobody.status).toBe(400);
  expect((nobody.body as { error: { message: string } }).error.message).toContain(
    'repo.checks.0.kind: Unknown check kind "nobody-registered-this" for the check "lint": the registered check kinds are "command", "file-exists".',
  );
  // The kinds' own rules: the file check needs its path, the memory forge its bare repository, GitHub's names are GitHub's.
  const wrong = await post({
    checks: [
      { name: 'notes', kind: 'file-exists', timeoutMs: 1000 },
      { name: 'test', timeoutMs: 1000 },
    ],
    forge: { kind: 'memory-forge', owner: 'team', repo: 'web' },
  });
  expect(wrong.status).toBe(400);
  expect((wrong.body as { error: { details: { issues: Array<{ path: string }> } } }).error.details.issues.map((i) => i.path)).toEqual(['repo.checks.0.path', 'repo.checks.1.argv', 'repo.forge.bare']);
  const github = await post({ forge: { kind: 'github', owner: 'team_with_underscore', repo: 'web' } });
  expect((github.body as { error: { message: string } }).error.message).toContain('repo.forge.owner: "team_with_underscore" is not a GitHub owner');
  expect(await harness.client.listProjects()).toEqual([]);
});

it("a binding's checks and forge of a plugin's kind round-trip: a change to another field, or the stored binding sent back, keeps them as they were", async () => {
  const fx = gitRepos({ remote: true });
  const { harness } = await start();
  const checks = [
    { name: 'notes', kind: 'file-exists', path: 'NOTES.md', timeoutMs: 5_000 },
    { name: 'test', argv: ['true'], timeoutMs: 5_000 },
  ];
  const forge = { kind: 'memory-forge', owner: 'team', repo: 'web', bare: fx.remoteDir!, pollSeconds: 30, tokenEnv: 'MEMORY_FORGE_TOKEN' };
  const project = await harness.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', checks, forge } } });
  const stored = project.repo!;
  const edited = await harness.client.patchProject({ params: { id: project.id }, body: { repo: { ...stored, maxRounds: 3 } } });
  expect(edited.repo).toEqual({ ...stored, maxRounds: 3 });
  expect(edited.repo?.checks).toEqual(checks);
  expect(edited.repo?.forge).toEqual(forge);
  const again = await harness.client.patchProject({ params: { id: project.id }, body: { repo: edited.repo } });
  expect((await harness.client.getProject({ params: { id: project.id } })).repo).toEqual(again.repo);
  expect(again.repo).toEqual(edited.repo);
});

it("a task's Checking runs the throw-away check kind beside a command check; its pull request opens on the throw-away forge, whose failed check run reaches the owner by the poll, and whose merge is proved", async () => {
  const fx = gitRepos({ remote: true });
  const bare = fx.remoteDir!;
  const { harness, logFile } = await start();
  const forge = { kind: 'memory-forge', owner: 'team', repo: 'web', bare, pollSeconds: 1 };
  const project = await harness.client.createProject({
    body: {
      name: 'Web',
      repo: {
        path: fx.repoDir,
        remote: 'origin',
        baseRef: 'origin/main',
        worktreeRoot: join(fx.root, 'worktrees'),
        checks: [
          { name: 'notes', kind: 'file-exists', path: 'NOTES.md', timeoutMs: 5_000 },
          { name: 'true', argv: ['true'], timeoutMs: 5_000 },
        ],
        forge,
      },
    },
  });
  // Stored as given, the kinds' own keys kept; the token's variable is the forge kind's; the command check still names no kind.
  expect(project.repo?.forge).toEqual({ ...forge, tokenEnv: 'MEMORY_FORGE_TOKEN' });
  expect(project.repo?.checks).toEqual([
    { name: 'notes', kind: 'file-exists', path: 'NOTES.md', timeoutMs: 5_000 },
    { name: 'true', argv: ['true'], timeoutMs: 5_000 },
  ]);

  const agent = scriptedAgent([commitAndPush('login.ts', 'v1'), commitAndPush('NOTES.md', 'login: done'), commitAndPush('login.ts', 'v2 for ci')]);
  const task = await harness.client.createTask({ body: { title: agent.title('Fix login'), projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

  // Round 1: the file check fails by its kind (the command check passes); its words and output reach the owner.
  const reviewed = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.pullRequest !== undefined, 'review with a pull request');
  expect(prompts(logFile)[1]).toContain('The check "notes" (`file-exists NOTES.md`) exited with code 1.');
  expect(prompts(logFile)[1]).toContain('NOTES.md is missing from the worktree.');
  expect(reviewed.git?.rounds).toBe(1);
  expect(reviewed.git?.check?.checks.map((c) => [c.name, c.argv, c.ok, c.log])).toEqual([
    ['notes', ['file-exists', 'NOTES.md'], true, 'NOTES.md: 12 bytes.\n'],
    ['true', ['true'], true, ''],
  ]);
  // The pull request is the forge's, opened with the token from the kind's variable.
  const head = reviewed.git!.check!.headSha!;
  expect(reviewed.git?.pullRequest).toMatchObject({ number: 1, url: 'memory://team/web/pull/1', headRef: reviewed.git!.branch, baseRef: 'main' });
  expect(memoryForge.opened[0]).toEqual({ owner: 'team', repo: 'web', token: 'memory-token-1' });

  // CI fails on the forge: the poll (every second) sends it to the owner, named by the forge's title; the owner pushes again.
  memoryForge.addCheckRun({ headSha: head, name: 'ci', conclusion: 'failure', title: '1 test failed' });
  const again = await taskWhen(harness, task.id, (t) => t.status === 'review' && t.git?.check?.headSha !== head, 'review after the forge feedback');
  expect(again.git).toMatchObject({ rounds: 2, forgeSent: [expect.stringMatching(/^check:\d+$/)] });
  expect(prompts(logFile)[2]).toContain('Its pull request #1 on Memory forge asks for changes (round 2): a failed check run.');
  expect(prompts(logFile)[2]).toContain('The check run "ci" on Memory forge ended failure: 1 test failed.');
  expect((await harness.client.listComments({ params: { id: task.id } })).map((c) => c.author)).toEqual(['memory-forge']);

  // The merge is the forge's (a merge commit in the bare remote), fetched and proved by ancestry; the worktree goes.
  const merged = await harness.client.mergeTask({ params: { id: task.id }, body: {} });
  expect(merged).toMatchObject({ task: { status: 'done' }, worktree: { removed: true } });
  expect(sh(bare, 'rev-parse', 'main')).toBe(memoryForge.pulls[0]!.mergeCommitSha);
  expect(sh(bare, 'merge-base', '--is-ancestor', again.git!.check!.headSha!, 'main')).toBe('');
});
