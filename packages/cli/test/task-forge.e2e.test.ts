/**
 * `tinyagi task sync|show|merge` on a project with a GitHub forge (docs/git-tasks.md, "With a
 * GitHub forge"), against the built daemon (its bundle loads @tinyagi/forge-github on first
 * use) and test-kit's GitHub stand-in, whose bare repository is the project's remote. The agent (the
 * fake claude running a script in its worktree) commits, pushes and says done; the pull request
 * opens; a failed check run on GitHub reaches it through `task sync`; it fixes and is checked
 * again; `task show` names the pull request; `task merge` merges on GitHub and the worktree goes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitRepos, sh, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { type GitHubStandIn, startGitHubStandIn } from '@tinyagi/test-kit/github-standin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoderDaemon, sayDoneLine } from './helpers/git-agent.ts';

let daemon: TestDaemon;
let gh: GitHubStandIn;

beforeAll(async () => {
  gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'web', token: 'ghp_cliForgeToken0123456789abcdefghijklmn' });
  daemon = await createCoderDaemon('tinyagi-task-forge-');
  daemon.env.TINYAGI_TEST_GH_TOKEN = gh.token;
  await daemon.start();
}, 60_000);

afterAll(async () => {
  await daemon?.cleanup();
  await gh?.close();
});

describe('tinyagi task with a GitHub forge', () => {
  it('sync sends a failed check run to the agent, show names the pull request, merge merges on GitHub', async () => {
    const fx = gitRepos();
    sh(fx.repoDir, 'remote', 'add', 'origin', gh.barePath);
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const dir = tempDir('tinyagi-task-forge-agent-');
    const script = join(dir, 'agent.sh');
    writeFileSync(
      script,
      [`printf '%s\\n' "$(date +%s%N)" > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -q -m work && git push -q origin HEAD`, sayDoneLine(), ''].join(
        '\n',
      ),
    );
    const api = daemon.api;
    const forge = { kind: 'github' as const, owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenEnv: 'TINYAGI_TEST_GH_TOKEN', pollSeconds: 0 };
    const project = await api.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, remote: 'origin', baseRef: 'origin/main', worktreeRoot: join(fx.root, 'worktrees'), forge } } });
    const task = await api.createTask({ body: { title: `Change FAKE:bash=sh ${script} #`, projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const opened = await waitFor(
      async () => {
        const t = await api.getTask({ params: { id: task.id } });
        return t.status === 'review' && t.git?.pullRequest !== undefined ? t : undefined;
      },
      60_000,
      'review with a pull request',
    );
    const first = opened.git!.check!.headSha!;

    await gh.addCheckRun({ headSha: first, name: 'ci', conclusion: 'failure', output: { title: '2 tests failed' } });
    const synced = await daemon.cliOk(['task', 'sync', 'WEB-1']);
    expect(synced).toContain(`WEB-1: pull request #1 ${opened.git!.pullRequest!.url}, head ${first.slice(0, 10)}.`);
    expect(synced).toMatch(/ci\s+completed\s+failure/);
    expect(synced).toContain('Sent 1 failed check run, 0 reviews and 0 review comments to @coder (round 1); WEB-1 is in progress again.');
    const fixed = await waitFor(
      async () => {
        const t = await api.getTask({ params: { id: task.id } });
        return t.status === 'review' && t.git?.check?.headSha !== first ? t : undefined;
      },
      60_000,
      'review again after the fix',
    );
    expect(await daemon.cliOk(['task', 'sync', 'WEB-1'])).toContain('Nothing new to send.');
    expect(await daemon.cliOk(['task', 'show', 'WEB-1'])).toMatch(new RegExp(`pull request:\\s+#1 ${opened.git!.pullRequest!.url.replace(/[.]/g, '\\.')}`));

    const merged = await daemon.cliOk(['task', 'merge', 'WEB-1']);
    expect(merged).toContain(`Merged WEB-1 (${opened.git!.branch}) into origin/main`);
    expect(sh(gh.barePath, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toContain(fixed.git!.check!.headSha!);
    expect(existsSync(opened.git!.worktreePath!)).toBe(false);
    // The token went to GitHub only: not into the daemon's log or output.
    expect(readFileSync(join(daemon.home, 'logs', 'daemon.log'), 'utf8')).not.toContain(gh.token);
    expect(daemon.output()).not.toContain(gh.token);
  }, 120_000);
});
