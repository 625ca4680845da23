/**
 * The GitHub stand-in is honest: driven by the real `@octokit/rest`, every exchange (the request
 * it accepted, the answer it gave) matches GitHub's OpenAPI description, and a merge really
 * merges in its bare repository.
 */
import { Octokit } from '@octokit/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { githubExchangeProblems, githubOperation } from '../src/github-openapi.ts';
import { type GitHubStandIn, startGitHubStandIn } from '../src/github-standin.ts';
import { commitFile, gitRepos, sh } from '../src/git-repos.ts';

let standin: GitHubStandIn | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

// Octokit logs each error answer; the tests expect them.
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A checkout whose origin is the stand-in's bare repository, main pushed. */
async function setUp(): Promise<{ gh: GitHubStandIn; dir: string; octokit: Octokit }> {
  const { repoDir } = gitRepos();
  const gh = await startGitHubStandIn({ owner: 'octo-org', repo: 'demo' });
  standin = gh;
  sh(repoDir, 'remote', 'add', 'origin', gh.barePath);
  sh(repoDir, 'push', '--quiet', 'origin', 'main');
  return { gh, dir: repoDir, octokit: new Octokit({ baseUrl: gh.url, auth: gh.token, log: quiet }) };
}

function branchWith(dir: string, branch: string, file: string, content: string): string {
  sh(dir, 'checkout', '--quiet', '-b', branch, 'main');
  const tip = commitFile(dir, file, content);
  sh(dir, 'push', '--quiet', 'origin', branch);
  sh(dir, 'checkout', '--quiet', 'main');
  return tip;
}

function expectHonest(gh: GitHubStandIn): void {
  expect(gh.exchanges.length).toBeGreaterThan(0);
  expect(gh.exchanges.flatMap(githubExchangeProblems)).toEqual([]);
}

describe('GitHub stand-in', () => {
  it('serves the forge operations as the OpenAPI description has them', () => {
    expect(githubOperation('pulls/create')).toEqual({ method: 'POST', template: '/repos/{owner}/{repo}/pulls' });
    expect(githubOperation('pulls/merge')).toEqual({ method: 'PUT', template: '/repos/{owner}/{repo}/pulls/{pull_number}/merge' });
    expect(githubOperation('checks/list-for-ref')).toEqual({ method: 'GET', template: '/repos/{owner}/{repo}/commits/{ref}/check-runs' });
    expect(githubOperation('pulls/list-review-comments')?.template).toBe('/repos/{owner}/{repo}/pulls/{pull_number}/comments');
    expect(githubOperation('pulls/list-reviews')?.template).toBe('/repos/{owner}/{repo}/pulls/{pull_number}/reviews');
    // The validator is not blind: a wrong answer, body, query or route is named.
    const merge = { operationId: 'pulls/merge', method: 'PUT', path: '/repos/o/r/pulls/1/merge', query: {}, status: 200 };
    expect(githubExchangeProblems({ ...merge, body: { merge_method: 'merge' }, response: { sha: 'abc', merged: true, message: 'ok' } })).toEqual([]);
    expect(githubExchangeProblems({ ...merge, body: { merge_method: 'ff' }, response: { sha: 'abc', merged: true, message: 'ok' } })).toHaveLength(1);
    expect(githubExchangeProblems({ ...merge, body: undefined, response: { sha: 'abc', merged: 'yes' } })).toHaveLength(1);
    expect(githubExchangeProblems({ ...merge, status: 418, body: undefined, response: {} })).toHaveLength(1);
    expect(githubExchangeProblems({ ...merge, method: 'POST', body: undefined, response: { sha: 'abc', merged: true, message: 'ok' } })).toHaveLength(1);
    const list = { operationId: 'pulls/list', method: 'GET', path: '/repos/o/r/pulls', body: undefined, status: 200, response: [] };
    expect(githubExchangeProblems({ ...list, query: { state: 'merged' } })).toHaveLength(1);
  });

  it('opens, lists, reads and merges a pull request through Octokit; the base really moves', async () => {
    const { gh, dir, octokit } = await setUp();
    const tip = branchWith(dir, 'tinyagi/WEB-1-login', 'login.ts', 'export const ok = true;\n');
    const owner = gh.owner;
    const repo = gh.repo;

    const created = await octokit.rest.pulls.create({ owner, repo, head: 'tinyagi/WEB-1-login', base: 'main', title: 'WEB-1: Fix login', body: 'Task WEB-1' });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ number: 1, state: 'open', merged: false, mergeable: true, commits: 1, additions: 1, changed_files: 1 });
    expect(created.data.head).toMatchObject({ ref: 'tinyagi/WEB-1-login', sha: tip });

    const again = await octokit.rest.pulls.create({ owner, repo, head: 'tinyagi/WEB-1-login', base: 'main', title: 'again' }).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 422 });
    expect((again as { response: { data: { errors: Array<{ message: string }> } } }).response.data.errors[0]?.message).toBe('A pull request already exists for octo-org:tinyagi/WEB-1-login.');
    expect(await octokit.rest.pulls.create({ owner, repo, head: 'main', base: 'main', title: 'nothing' }).catch((e: unknown) => e)).toMatchObject({ status: 422 });

    const listed = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:tinyagi/WEB-1-login`, state: 'open' });
    expect(listed.data.map((p) => p.number)).toEqual([1]);
    expect((await octokit.rest.pulls.list({ owner, repo, head: `${owner}:other` })).data).toEqual([]);

    // A push moves the open pull request's head; a merge with the old sha is refused.
    sh(dir, 'checkout', '--quiet', 'tinyagi/WEB-1-login');
    const newer = commitFile(dir, 'login.ts', 'export const ok = 2;\n');
    sh(dir, 'push', '--quiet', 'origin', 'tinyagi/WEB-1-login');
    sh(dir, 'checkout', '--quiet', 'main');
    expect((await octokit.rest.pulls.get({ owner, repo, pull_number: 1 })).data.head.sha).toBe(newer);
    const stale = await octokit.rest.pulls.merge({ owner, repo, pull_number: 1, sha: tip, merge_method: 'merge' }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 409, response: { data: { message: 'Head branch was modified. Review and try the merge again.' } } });
    expect(await octokit.rest.pulls.merge({ owner, repo, pull_number: 1, merge_method: 'rebase' }).catch((e: unknown) => e)).toMatchObject({ status: 405 });
    const mainBefore = sh(gh.barePath, 'rev-parse', 'main');

    const merged = await octokit.rest.pulls.merge({ owner, repo, pull_number: 1, sha: newer, merge_method: 'merge' });
    expect(merged.data).toMatchObject({ merged: true, message: 'Pull Request successfully merged' });
    const mainAfter = sh(gh.barePath, 'rev-parse', 'main');
    expect(mainAfter).toBe(merged.data.sha);
    expect(sh(gh.barePath, 'rev-list', '--parents', '-n', '1', 'main').split(' ').slice(1)).toEqual([mainBefore, newer]);
    expect(sh(gh.barePath, 'show', 'main:login.ts')).toBe('export const ok = 2;');

    const after = (await octokit.rest.pulls.get({ owner, repo, pull_number: 1 })).data;
    expect(after).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: mainAfter });
    expect(after.head.sha).toBe(newer);
    expect(await octokit.rest.pulls.merge({ owner, repo, pull_number: 1 }).catch((e: unknown) => e)).toMatchObject({ status: 405 });
    expect((await octokit.rest.pulls.list({ owner, repo, state: 'closed' })).data.map((p) => p.merged_at !== null)).toEqual([true]);
    expectHonest(gh);
  });

  it('squashes, and refuses a conflicting pull request with 405', async () => {
    const { gh, dir, octokit } = await setUp();
    const { owner, repo } = gh;
    branchWith(dir, 'a', 'x.txt', 'a\n');
    branchWith(dir, 'b', 'x.txt', 'b\n');
    await octokit.rest.pulls.create({ owner, repo, head: 'a', base: 'main', title: 'A' });
    await octokit.rest.pulls.create({ owner, repo, head: 'b', base: 'main', title: 'B' });
    const squashed = await octokit.rest.pulls.merge({ owner, repo, pull_number: 1, merge_method: 'squash' });
    expect(sh(gh.barePath, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toHaveLength(2);
    expect(sh(gh.barePath, 'log', '-1', '--format=%s', 'main')).toBe('A (#1)');
    expect(squashed.data.sha).toBe(sh(gh.barePath, 'rev-parse', 'main'));
    expect((await octokit.rest.pulls.get({ owner, repo, pull_number: 2 })).data).toMatchObject({ mergeable: false, mergeable_state: 'dirty' });
    expect(await octokit.rest.pulls.merge({ owner, repo, pull_number: 2 }).catch((e: unknown) => e)).toMatchObject({
      status: 405,
      response: { data: { message: 'Pull Request is not mergeable' } },
    });
    expect(sh(gh.barePath, 'rev-parse', 'main')).toBe(squashed.data.sha);
    expectHonest(gh);
  });

  it('lists check runs, review comments and reviews a test added as GitHub would, paged', async () => {
    const { gh, dir, octokit } = await setUp();
    const { owner, repo } = gh;
    const tip = branchWith(dir, 'feature', 'src/a.ts', 'one\ntwo\nthree\n');
    await octokit.rest.pulls.create({ owner, repo, head: 'feature', base: 'main', title: 'F' });
    await gh.addCheckRun({ headSha: tip, name: 'test', conclusion: 'failure', output: { title: '1 failed', summary: 'a.test.ts', text: 'expected 1, got 2' } });
    await gh.addCheckRun({ headSha: tip, name: 'test', conclusion: 'success' });
    await gh.addCheckRun({ headSha: tip, name: 'lint', status: 'in_progress' });
    const runs = await octokit.rest.checks.listForRef({ owner, repo, ref: tip });
    expect(runs.data.total_count).toBe(2);
    expect(runs.data.check_runs.map((r) => [r.name, r.status, r.conclusion])).toEqual([
      ['test', 'completed', 'success'],
      ['lint', 'in_progress', null],
    ]);
    expect((await octokit.rest.checks.listForRef({ owner, repo, ref: 'feature', filter: 'all' })).data.total_count).toBe(3);
    expect(await octokit.rest.checks.listForRef({ owner, repo, ref: 'no-such-branch' }).catch((e: unknown) => e)).toMatchObject({ status: 422 });

    for (let i = 1; i <= 3; i++) await gh.addReviewComment({ pullNumber: 1, path: 'src/a.ts', line: i, body: `comment ${i}` });
    const first = await octokit.rest.pulls.listReviewComments({ owner, repo, pull_number: 1, per_page: 2 });
    expect(first.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.pulls.listReviewComments, { owner, repo, pull_number: 1, per_page: 2 });
    expect(all.map((c) => [c.path, c.line, c.side, c.body, c.commit_id])).toEqual([
      ['src/a.ts', 1, 'RIGHT', 'comment 1', tip],
      ['src/a.ts', 2, 'RIGHT', 'comment 2', tip],
      ['src/a.ts', 3, 'RIGHT', 'comment 3', tip],
    ]);
    expect(all[1]?.diff_hunk).toBe('@@ -0,0 +1,3 @@\n+one\n+two');
    await gh.addReview({ pullNumber: 1, state: 'CHANGES_REQUESTED', body: 'Not yet.' });
    const reviews = await octokit.rest.pulls.listReviews({ owner, repo, pull_number: 1 });
    expect(reviews.data.map((r) => r.state)).toEqual(['COMMENTED', 'COMMENTED', 'COMMENTED', 'CHANGES_REQUESTED']);
    expect(await octokit.rest.pulls.get({ owner, repo, pull_number: 9 }).catch((e: unknown) => e)).toMatchObject({ status: 404 });
    expectHonest(gh);
  });

  it('answers 401 without a token or with a wrong one, in GitHub error shape', async () => {
    const { gh } = await setUp();
    const anonymous = await new Octokit({ baseUrl: gh.url, log: quiet }).rest.pulls.list({ owner: gh.owner, repo: gh.repo }).catch((e: unknown) => e);
    expect(anonymous).toMatchObject({ status: 401, response: { data: { message: 'Requires authentication' } } });
    const wrong = await new Octokit({ baseUrl: gh.url, auth: 'ghp_wrong', log: quiet }).rest.pulls.list({ owner: gh.owner, repo: gh.repo }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 401, response: { data: { message: 'Bad credentials' } } });
    const bearer = await fetch(`${gh.url}/repos/${gh.owner}/${gh.repo}/pulls`, { headers: { authorization: `Bearer ${gh.token}` } });
    expect(await bearer.json()).toEqual([]);
    expectHonest(gh);
  });
});
