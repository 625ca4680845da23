/**
 * The GitHub forge against the GitHub stand-in (test-kit, written from GitHub's OpenAPI
 * description): a real bare repository, a real HTTP server, Octokit unmocked.
 */
import { isTinyError } from '@tinyagi/core';
import { commitFile, gitRepos, sh } from '@tinyagi/test-kit';
import { githubExchangeProblems } from '@tinyagi/test-kit/github-openapi';
import { type GitHubStandIn, startGitHubStandIn } from '@tinyagi/test-kit/github-standin';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubForge } from '../src/index.ts';

let standin: GitHubStandIn | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

async function setUp(): Promise<{ gh: GitHubStandIn; dir: string }> {
  const { repoDir } = gitRepos();
  const gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'demo', token: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB' });
  standin = gh;
  sh(repoDir, 'remote', 'add', 'origin', gh.barePath);
  sh(repoDir, 'push', '--quiet', 'origin', 'main');
  sh(repoDir, 'checkout', '--quiet', '-b', 'tinyagi/WEB-1-login');
  commitFile(repoDir, 'login.ts', 'export const ok = true;\n');
  sh(repoDir, 'push', '--quiet', 'origin', 'tinyagi/WEB-1-login');
  return { gh, dir: repoDir };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'no error',
    (e: unknown) => e,
  );
}

describe('GitHub forge', () => {
  it('opens one pull request per branch, reads its checks and review comments, and merges only the expected head', async () => {
    const { gh, dir } = await setUp();
    const forge = createGitHubForge({ owner: gh.owner, repo: gh.repo, apiUrl: `${gh.url}/`, token: gh.token });
    const input = { head: 'tinyagi/WEB-1-login', base: 'main', title: 'WEB-1: Fix login', body: 'Task WEB-1' };
    const first = await forge.ensurePullRequest(input);
    expect(first).toMatchObject({ created: true, pullRequest: { number: 1, state: 'open', merged: false, headRef: input.head, baseRef: 'main', title: input.title } });
    expect(await forge.ensurePullRequest(input)).toMatchObject({ created: false, pullRequest: { number: 1 } });
    const tip = sh(dir, 'rev-parse', 'HEAD');
    expect((await forge.getPullRequest(1)).headSha).toBe(tip);

    await gh.addCheckRun({ headSha: tip, name: 'test', conclusion: 'failure', output: { title: '1 failed', summary: 'login', text: 'expected true' } });
    await gh.addCheckRun({ headSha: tip, name: 'lint', conclusion: 'success' });
    expect(await forge.listCheckRuns(tip)).toEqual([
      expect.objectContaining({ name: 'test', status: 'completed', conclusion: 'failure', title: '1 failed', summary: 'login', text: 'expected true', headSha: tip }),
      expect.objectContaining({ name: 'lint', conclusion: 'success' }),
    ]);
    await gh.addReviewComment({ pullNumber: 1, path: 'login.ts', line: 1, body: 'Keep it false.', login: 'ann' });
    expect(await forge.listReviewComments(1)).toEqual([expect.objectContaining({ path: 'login.ts', line: 1, side: 'RIGHT', body: 'Keep it false.', author: 'ann', commitId: tip })]);
    await gh.addReview({ pullNumber: 1, state: 'CHANGES_REQUESTED', body: 'Not yet.', login: 'ann' });
    expect((await forge.listReviews(1)).map((r) => [r.state, r.body, r.author, r.commitId])).toEqual([
      ['COMMENTED', '', 'ann', tip],
      ['CHANGES_REQUESTED', 'Not yet.', 'ann', tip],
    ]);

    // A push after the check: the expected sha is no longer the head, nothing merged.
    const newer = commitFile(dir, 'login.ts', 'export const ok = false;\n');
    sh(dir, 'push', '--quiet', 'origin', 'tinyagi/WEB-1-login');
    const stale = await caught(forge.mergePullRequest({ number: 1, sha: tip, method: 'merge' }));
    expect(isTinyError(stale) && stale.code).toBe('INVALID_STATE');
    expect((stale as Error).message).toContain('Head branch was modified');
    const mainBefore = sh(gh.barePath, 'rev-parse', 'main');
    const merged = await forge.mergePullRequest({ number: 1, sha: newer, method: 'merge' });
    expect(merged.merged).toBe(true);
    expect(sh(gh.barePath, 'rev-parse', 'main')).toBe(merged.sha);
    expect(sh(gh.barePath, 'rev-list', '--parents', '-n', '1', 'main').split(' ').slice(1)).toEqual([mainBefore, newer]);
    expect(await forge.getPullRequest(1)).toMatchObject({ state: 'closed', merged: true, mergeCommitSha: merged.sha });
    expect(gh.exchanges.flatMap(githubExchangeProblems)).toEqual([]);
  });

  it('answers a refused token with FORGE_FAILED that never carries the token', async () => {
    const { gh } = await setUp();
    const wrong = 'ghp_wrongwrongwrongwrongwrongwrongwrong12';
    const error = await caught(createGitHubForge({ owner: gh.owner, repo: gh.repo, apiUrl: gh.url, token: wrong }).getPullRequest(1));
    expect(isTinyError(error) && error.code).toBe('FORGE_FAILED');
    expect(error).toMatchObject({ details: { status: 401, message: 'Bad credentials' } });
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack })).not.toContain(wrong);
    const missing = await caught(createGitHubForge({ owner: gh.owner, repo: gh.repo, apiUrl: gh.url, token: gh.token }).getPullRequest(7));
    expect(missing).toMatchObject({ code: 'FORGE_FAILED', details: { status: 404 } });
    const down = await caught(createGitHubForge({ owner: gh.owner, repo: gh.repo, apiUrl: 'http://127.0.0.1:9', token: gh.token }).listReviewComments(1));
    expect(down).toMatchObject({ code: 'FORGE_FAILED', details: { status: null } });
  });
});
