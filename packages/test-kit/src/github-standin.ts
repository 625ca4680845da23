/**
 * A GitHub REST API stand-in on a loopback port, for the forge slice of git-native tasks
 * (docs/git-tasks-design.md, "The forge"). Written from GitHub's published OpenAPI
 * description (`@octokit/openapi`, api.github.com): every answer is shaped as that description's
 * schema for the operation says, and `test/github-standin.test.ts` validates the answers and
 * the accepted requests against it while driving the stand-in with the real `@octokit/rest`.
 *
 * What it serves (one repository, `owner/repo`): pull requests (list with `state`/`head`/`base`,
 * create, get), their merge (`sha` must be the head's, `merge_method` `merge` or `squash`;
 * `rebase` is off as on a repository that disallows it: 405), their review comments and
 * reviews, and a commit's check runs. Anything else is GitHub's 404. Every request needs a token
 * (`Authorization: Bearer …` or `token …`): none is 401 "Requires authentication", another is
 * 401 "Bad credentials".
 *
 * The repository is a real bare git repository (`barePath`): a test pushes branches to it as to
 * any remote, a pull request's head is the branch's commit as it is now (as on GitHub, a push
 * moves an open pull request), and a merge is made with git plumbing (`merge-tree
 * --write-tree`, `commit-tree`, `update-ref` with the old value), so the base really moves.
 * Check runs, review comments and reviews are added by the test, as GitHub Actions or a
 * reviewer would (`addCheckRun`, `addReviewComment`, `addReview`).
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './temp.ts';

const run = promisify(execFile);
const DOCS = 'https://docs.github.com/rest';

export interface GitHubStandInOptions {
  owner?: string;
  repo?: string;
  /** The token the stand-in accepts (default `ghs_standin_token`). */
  token?: string;
  /** The login the token belongs to (the pull requests' author). */
  login?: string;
  /** A bare repository to serve; default: a new empty one in a temp folder (its default branch `main`). */
  barePath?: string;
  defaultBranch?: string;
}

/** One request the stand-in answered, kept so a test can check it against the OpenAPI description. */
export interface GitHubExchange {
  /** The OpenAPI operation (`pulls/create`), or null for a route the stand-in does not serve. */
  operationId: string | null;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  response: unknown;
}

export interface CheckRunInput {
  headSha: string;
  name: string;
  status?: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
  output?: { title?: string | null; summary?: string | null; text?: string | null };
  detailsUrl?: string;
}

export interface ReviewCommentInput {
  pullNumber: number;
  path: string;
  line: number;
  side?: 'LEFT' | 'RIGHT';
  body: string;
  login?: string;
  /** The commit the comment is on (default: the pull request's head now). */
  commitId?: string;
}

export interface ReviewInput {
  pullNumber: number;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  body?: string;
  login?: string;
}

export interface GitHubStandIn {
  /** The API's base URL (Octokit's `baseUrl`). */
  url: string;
  token: string;
  owner: string;
  repo: string;
  login: string;
  /** The bare repository: push to it as the project's remote. */
  barePath: string;
  exchanges: GitHubExchange[];
  addCheckRun(input: CheckRunInput): Promise<Record<string, unknown>>;
  addReviewComment(input: ReviewCommentInput): Promise<Record<string, unknown>>;
  addReview(input: ReviewInput): Promise<Record<string, unknown>>;
  /** While on, every request is GitHub's 503 (an outage), for a test of what the client does then. */
  outage(on: boolean): void;
  /**
   * Holds every request that arrives from now on (unanswered, in order) until the returned release
   * is called: a test makes two readers overlap for certain. `waiting()` counts the held requests.
   */
  hold(): () => void;
  waiting(): number;
  close(): Promise<void>;
}

interface PullState {
  number: number;
  id: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  login: string;
  state: 'open' | 'closed';
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  mergedBy: string | null;
  /** The head's commit when merged (the branch may move or go afterwards). */
  mergedHeadSha: string | null;
  /** The base's commit when merged. */
  mergedBaseSha: string | null;
}

interface CheckRunState extends CheckRunInput {
  id: number;
  startedAt: string;
  completedAt: string | null;
}

interface ReviewCommentState {
  id: number;
  pullNumber: number;
  reviewId: number | null;
  path: string;
  line: number;
  side: 'LEFT' | 'RIGHT';
  body: string;
  login: string;
  commitId: string;
  diffHunk: string;
  at: string;
}

interface ReviewState {
  id: number;
  pullNumber: number;
  state: string;
  body: string;
  login: string;
  commitId: string;
  at: string;
}

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.message));
    this.status = status;
    this.body = body;
  }
}

const notFound = (): HttpError => new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
const validationFailed = (errors: Array<Record<string, unknown>>, message = 'Validation Failed'): HttpError =>
  new HttpError(422, { message, errors, documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`, status: '422' });

/** Starts the stand-in on 127.0.0.1 (a port the kernel picks, bound here: nothing races for it). */
export async function startGitHubStandIn(options: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const owner = options.owner ?? 'octo-org';
  const repoName = options.repo ?? 'demo';
  const token = options.token ?? 'ghs_standin_token';
  const login = options.login ?? 'tinyagi-bot';
  const defaultBranch = options.defaultBranch ?? 'main';
  let barePath = options.barePath;
  if (barePath === undefined) {
    barePath = join(tempDir('tinyagi-github-'), `${repoName}.git`);
    await git(process.cwd(), 'init', '--quiet', '--bare', '-b', defaultBranch, barePath);
  }
  const bare = barePath;
  const pulls: PullState[] = [];
  const checkRuns: CheckRunState[] = [];
  const comments: ReviewCommentState[] = [];
  const reviews: ReviewState[] = [];
  const exchanges: GitHubExchange[] = [];
  let nextId = 1000;
  let down = false;
  /** While set, requests wait for it (hold()). */
  let held: Promise<void> | undefined;
  let heldCount = 0;
  const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const web = `${base}/web`;
  const repoApi = `${base}/repos/${owner}/${repoName}`;

  async function sha(ref: string): Promise<string | null> {
    const out = await git(bare, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`).catch(() => null);
    return out === null || out === '' ? null : out;
  }
  const branchSha = (branch: string): Promise<string | null> => sha(`refs/heads/${branch}`);

  function user(name: string): Record<string, unknown> {
    const id = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_000, 7) + 1;
    const u = `${base}/users/${name}`;
    return {
      login: name,
      id,
      node_id: `U_${id}`,
      avatar_url: `${web}/avatars/${name}`,
      gravatar_id: '',
      url: u,
      html_url: `${web}/${name}`,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      type: name.endsWith('[bot]') ? 'Bot' : 'User',
      site_admin: false,
    };
  }

  function repository(): Record<string, unknown> {
    const r = repoApi;
    const templated = (path: string, tail: string): string => `${r}/${path}${tail}`;
    return {
      id: 4242,
      node_id: 'R_4242',
      name: repoName,
      full_name: `${owner}/${repoName}`,
      owner: user(owner),
      private: true,
      html_url: `${web}/${owner}/${repoName}`,
      description: null,
      fork: false,
      url: r,
      archive_url: templated('{archive_format}', '{/ref}'),
      assignees_url: templated('assignees', '{/user}'),
      blobs_url: templated('git/blobs', '{/sha}'),
      branches_url: templated('branches', '{/branch}'),
      collaborators_url: templated('collaborators', '{/collaborator}'),
      comments_url: templated('comments', '{/number}'),
      commits_url: templated('commits', '{/sha}'),
      compare_url: templated('compare/', '{base}...{head}'),
      contents_url: templated('contents/', '{+path}'),
      contributors_url: `${r}/contributors`,
      deployments_url: `${r}/deployments`,
      downloads_url: `${r}/downloads`,
      events_url: `${r}/events`,
      forks_url: `${r}/forks`,
      git_commits_url: templated('git/commits', '{/sha}'),
      git_refs_url: templated('git/refs', '{/sha}'),
      git_tags_url: templated('git/tags', '{/sha}'),
      git_url: `git://127.0.0.1/${owner}/${repoName}.git`,
      issue_comment_url: templated('issues/comments', '{/number}'),
      issue_events_url: templated('issues/events', '{/number}'),
      issues_url: templated('issues', '{/number}'),
      keys_url: templated('keys', '{/key_id}'),
      labels_url: templated('labels', '{/name}'),
      languages_url: `${r}/languages`,
      merges_url: `${r}/merges`,
      milestones_url: templated('milestones', '{/number}'),
      notifications_url: templated('notifications', '{?since,all,participating}'),
      pulls_url: templated('pulls', '{/number}'),
      releases_url: templated('releases', '{/id}'),
      ssh_url: `git@127.0.0.1:${owner}/${repoName}.git`,
      stargazers_url: `${r}/stargazers`,
      statuses_url: templated('statuses/', '{sha}'),
      subscribers_url: `${r}/subscribers`,
      subscription_url: `${r}/subscription`,
      tags_url: `${r}/tags`,
      teams_url: `${r}/teams`,
      trees_url: templated('git/trees', '{/sha}'),
      clone_url: bare,
      mirror_url: null,
      hooks_url: `${r}/hooks`,
      svn_url: `${web}/${owner}/${repoName}`,
      homepage: null,
      language: null,
      forks_count: 0,
      stargazers_count: 0,
      watchers_count: 0,
      size: 0,
      default_branch: defaultBranch,
      open_issues_count: pulls.filter((p) => p.state === 'open').length,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: false,
      archived: false,
      disabled: false,
      pushed_at: now(),
      created_at: '2026-01-01T00:00:00Z',
      updated_at: now(),
      open_issues: pulls.filter((p) => p.state === 'open').length,
      watchers: 0,
      license: null,
      forks: 0,
      allow_rebase_merge: false,
      allow_squash_merge: true,
      allow_merge_commit: true,
    };
  }

  /** The head's commit: the branch's now while open, the one merged after a merge. */
  async function headSha(p: PullState): Promise<string> {
    return p.mergedHeadSha ?? (await branchSha(p.head)) ?? '0000000000000000000000000000000000000000';
  }

  async function simplePull(p: PullState): Promise<Record<string, unknown>> {
    const url = `${repoApi}/pulls/${p.number}`;
    const html = `${web}/${owner}/${repoName}/pull/${p.number}`;
    const issue = `${repoApi}/issues/${p.number}`;
    const head = await headSha(p);
    const baseSha = p.mergedBaseSha ?? (await branchSha(p.base)) ?? head;
    const repo = repository();
    return {
      url,
      id: p.id,
      node_id: `PR_${p.id}`,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: issue,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${repoApi}/pulls/comments{/number}`,
      comments_url: `${issue}/comments`,
      statuses_url: `${repoApi}/statuses/${head}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: user(p.login),
      body: p.body,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt,
      merged_at: p.mergedAt,
      merge_commit_sha: p.mergeCommitSha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: { label: `${owner}:${p.head}`, ref: p.head, sha: head, user: user(owner), repo },
      base: { label: `${owner}:${p.base}`, ref: p.base, sha: baseSha, user: user(owner), repo },
      _links: {
        self: { href: url },
        html: { href: html },
        issue: { href: issue },
        comments: { href: `${issue}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${repoApi}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${repoApi}/statuses/${head}` },
      },
      author_association: 'MEMBER',
      auto_merge: null,
      draft: false,
    };
  }

  /** GitHub's `mergeable`: null while it would compute it; here computed at once with merge-tree. */
  async function mergeable(p: PullState): Promise<boolean | null> {
    if (p.state !== 'open') return null;
    const head = await branchSha(p.head);
    const baseSha = await branchSha(p.base);
    if (head === null || baseSha === null) return null;
    return (await mergeTree(bare, baseSha, head)).tree !== null;
  }

  async function fullPull(p: PullState): Promise<Record<string, unknown>> {
    const simple = await simplePull(p);
    const head = simple.head as { sha: string };
    const baseRef = p.mergedBaseSha ?? (await branchSha(p.base));
    let commits = 0;
    let additions = 0;
    let deletions = 0;
    let changed = 0;
    if (baseRef !== null && head.sha !== baseRef) {
      const mergeBase = await git(bare, 'merge-base', baseRef, head.sha).catch(() => baseRef);
      commits = Number(await git(bare, 'rev-list', '--count', `${mergeBase}..${head.sha}`));
      for (const line of (await git(bare, 'diff', '--numstat', mergeBase, head.sha)).split('\n').filter(Boolean)) {
        const [a, d] = line.split('\t');
        additions += Number(a) || 0;
        deletions += Number(d) || 0;
        changed += 1;
      }
    }
    const canMerge = await mergeable(p);
    return {
      ...simple,
      merged: p.mergedAt !== null,
      mergeable: canMerge,
      rebaseable: false,
      mergeable_state: p.state !== 'open' ? 'unknown' : canMerge === false ? 'dirty' : 'clean',
      merged_by: p.mergedBy === null ? null : user(p.mergedBy),
      comments: 0,
      review_comments: comments.filter((c) => c.pullNumber === p.number).length,
      maintainer_can_modify: false,
      commits,
      additions,
      deletions,
      changed_files: changed,
    };
  }

  function checkRun(c: CheckRunState): Record<string, unknown> {
    const url = `${repoApi}/check-runs/${c.id}`;
    return {
      id: c.id,
      head_sha: c.headSha,
      node_id: `CR_${c.id}`,
      external_id: String(c.id),
      url,
      html_url: `${web}/${owner}/${repoName}/runs/${c.id}`,
      details_url: c.detailsUrl ?? `${web}/${owner}/${repoName}/actions/runs/${c.id}`,
      status: c.status ?? 'completed',
      conclusion: (c.status ?? 'completed') === 'completed' ? (c.conclusion ?? 'success') : null,
      started_at: c.startedAt,
      completed_at: c.completedAt,
      output: {
        title: c.output?.title ?? null,
        summary: c.output?.summary ?? null,
        text: c.output?.text ?? null,
        annotations_count: 0,
        annotations_url: `${url}/annotations`,
      },
      name: c.name,
      check_suite: { id: c.id + 1 },
      app: null,
      pull_requests: [],
    };
  }

  function reviewComment(c: ReviewCommentState): Record<string, unknown> {
    const url = `${repoApi}/pulls/comments/${c.id}`;
    const pr = `${repoApi}/pulls/${c.pullNumber}`;
    const html = `${web}/${owner}/${repoName}/pull/${c.pullNumber}#discussion_r${c.id}`;
    return {
      url,
      pull_request_review_id: c.reviewId,
      id: c.id,
      node_id: `PRRC_${c.id}`,
      diff_hunk: c.diffHunk,
      path: c.path,
      commit_id: c.commitId,
      original_commit_id: c.commitId,
      user: user(c.login),
      body: c.body,
      created_at: c.at,
      updated_at: c.at,
      html_url: html,
      pull_request_url: pr,
      author_association: 'MEMBER',
      _links: { self: { href: url }, html: { href: html }, pull_request: { href: pr } },
      line: c.line,
      original_line: c.line,
      side: c.side,
      subject_type: 'line',
    };
  }

  function review(r: ReviewState): Record<string, unknown> {
    const pr = `${repoApi}/pulls/${r.pullNumber}`;
    const html = `${web}/${owner}/${repoName}/pull/${r.pullNumber}#pullrequestreview-${r.id}`;
    return {
      id: r.id,
      node_id: `PRR_${r.id}`,
      user: user(r.login),
      body: r.body,
      state: r.state,
      html_url: html,
      pull_request_url: pr,
      _links: { html: { href: html }, pull_request: { href: pr } },
      submitted_at: r.at,
      commit_id: r.commitId,
      author_association: 'MEMBER',
    };
  }

  function pull(number: string): PullState {
    const p = pulls.find((x) => String(x.number) === number);
    if (p === undefined) throw notFound();
    return p;
  }

  /** GitHub's page and per_page (default 30, at most 100), with its Link header. */
  function page<T>(items: T[], query: Record<string, string>, path: string, res: ServerResponse): T[] {
    const perPage = Math.min(100, Math.max(1, Number(query.per_page ?? 30) || 30));
    const n = Math.max(1, Number(query.page ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string): string => {
      const q = new URLSearchParams({ ...query, per_page: String(perPage), page: String(p) });
      return `<${base}${path}?${q}>; rel="${rel}"`;
    };
    if (last > 1) {
      const links: string[] = [];
      if (n < last) links.push(link(n + 1, 'next'), link(last, 'last'));
      if (n > 1) links.push(link(1, 'first'), link(n - 1, 'prev'));
      res.setHeader('Link', links.join(', '));
    }
    return items.slice((n - 1) * perPage, n * perPage);
  }

  type Route = {
    method: string;
    pattern: RegExp;
    operationId: string;
    handle: (m: string[], query: Record<string, string>, body: Record<string, unknown>, res: ServerResponse, path: string) => Promise<[number, unknown]>;
  };
  const prefix = `/repos/${escapeRegExp(owner)}/${escapeRegExp(repoName)}`;
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/pulls$`),
      operationId: 'pulls/list',
      async handle(_m, query, _b, res, path) {
        const state = query.state ?? 'open';
        if (!['open', 'closed', 'all'].includes(state)) throw validationFailed([{ resource: 'PullRequest', field: 'state', code: 'invalid' }]);
        // `head` is `owner:branch`; GitHub ignores a filter without the owner.
        const head = query.head?.includes(':') === true ? query.head : undefined;
        const list = pulls
          .filter((p) => state === 'all' || p.state === state)
          .filter((p) => head === undefined || `${owner}:${p.head}` === head)
          .filter((p) => query.base === undefined || p.base === query.base)
          .sort((a, b) => (query.direction === 'asc' ? a.number - b.number : b.number - a.number));
        return [200, await Promise.all(page(list, query, path, res).map(simplePull))];
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${prefix}/pulls$`),
      operationId: 'pulls/create',
      async handle(_m, _q, body) {
        const title = body.title;
        const headIn = body.head;
        const baseIn = body.base;
        const missing = [...(typeof title === 'string' && title !== '' ? [] : ['title']), ...(typeof headIn === 'string' ? [] : ['head']), ...(typeof baseIn === 'string' ? [] : ['base'])];
        if (missing.length > 0) throw validationFailed(missing.map((field) => ({ resource: 'PullRequest', field, code: 'missing_field' })));
        const head = String(headIn).replace(new RegExp(`^${escapeRegExp(owner)}:`), '');
        const baseBranch = String(baseIn);
        const headCommit = await branchSha(head);
        const baseCommit = await branchSha(baseBranch);
        if (headCommit === null) throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
        if (baseCommit === null) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
        const open = pulls.find((p) => p.state === 'open' && p.head === head && p.base === baseBranch);
        if (open !== undefined) throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }]);
        if (await isAncestor(bare, headCommit, baseCommit)) throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `No commits between ${baseBranch} and ${head}` }]);
        const at = now();
        const p: PullState = {
          number: pulls.length + 1,
          id: nextId++,
          title: String(title),
          body: typeof body.body === 'string' ? body.body : null,
          head,
          base: baseBranch,
          login,
          state: 'open',
          createdAt: at,
          updatedAt: at,
          closedAt: null,
          mergedAt: null,
          mergeCommitSha: null,
          mergedBy: null,
          mergedHeadSha: null,
          mergedBaseSha: null,
        };
        pulls.push(p);
        return [201, await fullPull(p)];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/pulls/(\\d+)$`),
      operationId: 'pulls/get',
      async handle(m) {
        return [200, await fullPull(pull(m[1] ?? ''))];
      },
    },
    {
      method: 'PUT',
      pattern: new RegExp(`^${prefix}/pulls/(\\d+)/merge$`),
      operationId: 'pulls/merge',
      async handle(m, _q, body) {
        const p = pull(m[1] ?? '');
        const method = body.merge_method ?? 'merge';
        if (typeof method !== 'string' || !['merge', 'squash', 'rebase'].includes(method))
          throw validationFailed([{ resource: 'PullRequest', field: 'merge_method', code: 'invalid' }], 'Invalid request.\n\nmerge_method is not a member of ["merge", "squash", "rebase"].');
        const notMergeable = (message: string): HttpError => new HttpError(405, { message, documentation_url: `${DOCS}/pulls/pulls#merge-a-pull-request`, status: '405' });
        if (p.state !== 'open') throw notMergeable('Pull Request is not mergeable');
        if (method === 'rebase') throw notMergeable('Rebase merges are not allowed on this repository.');
        const head = await branchSha(p.head);
        const baseSha = await branchSha(p.base);
        if (head === null || baseSha === null) throw notMergeable('Pull Request is not mergeable');
        if (typeof body.sha === 'string' && body.sha !== head)
          throw new HttpError(409, { message: 'Head branch was modified. Review and try the merge again.', documentation_url: `${DOCS}/pulls/pulls#merge-a-pull-request`, status: '409' });
        const { tree } = await mergeTree(bare, baseSha, head);
        if (tree === null) throw notMergeable('Pull Request is not mergeable');
        const title = typeof body.commit_title === 'string' ? body.commit_title : method === 'squash' ? `${p.title} (#${p.number})` : `Merge pull request #${p.number} from ${owner}/${p.head}`;
        const message = typeof body.commit_message === 'string' ? `${title}\n\n${body.commit_message}` : method === 'merge' ? `${title}\n\n${p.title}` : title;
        const parents = method === 'merge' ? ['-p', baseSha, '-p', head] : ['-p', baseSha];
        const commit = await git(bare, 'commit-tree', tree, ...parents, '-m', message);
        // Compare-and-swap: a push to the base meanwhile fails the merge, as GitHub's would.
        await git(bare, 'update-ref', `refs/heads/${p.base}`, commit, baseSha);
        const at = now();
        Object.assign(p, { state: 'closed', mergedAt: at, closedAt: at, updatedAt: at, mergeCommitSha: commit, mergedBy: login, mergedHeadSha: head, mergedBaseSha: baseSha });
        return [200, { sha: commit, merged: true, message: 'Pull Request successfully merged' }];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/pulls/(\\d+)/comments$`),
      operationId: 'pulls/list-review-comments',
      async handle(m, query, _b, res, path) {
        const p = pull(m[1] ?? '');
        const since = query.since === undefined ? undefined : Date.parse(query.since);
        const list = comments.filter((c) => c.pullNumber === p.number && (since === undefined || Date.parse(c.at) >= since));
        return [200, page(list, query, path, res).map(reviewComment)];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/pulls/(\\d+)/reviews$`),
      operationId: 'pulls/list-reviews',
      async handle(m, query, _b, res, path) {
        const p = pull(m[1] ?? '');
        return [
          200,
          page(
            reviews.filter((r) => r.pullNumber === p.number),
            query,
            path,
            res,
          ).map(review),
        ];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${prefix}/commits/(.+)/check-runs$`),
      operationId: 'checks/list-for-ref',
      async handle(m, query, _b, res, path) {
        const ref = decodeURIComponent(m[1] ?? '');
        const commit = /^[0-9a-f]{40}$/.test(ref) ? ref : ((await sha(ref)) ?? (await branchSha(ref)));
        if (commit === null) throw new HttpError(422, { message: `No commit found for SHA: ${ref}`, documentation_url: `${DOCS}/checks/runs#list-check-runs-for-a-git-reference`, status: '422' });
        let list = checkRuns.filter((c) => c.headSha === commit);
        if (query.check_name !== undefined) list = list.filter((c) => c.name === query.check_name);
        if (query.status !== undefined) list = list.filter((c) => (c.status ?? 'completed') === query.status);
        // `filter=latest` (the default): the newest run of each name.
        if ((query.filter ?? 'latest') === 'latest') list = list.filter((c) => !list.some((o) => o.name === c.name && o.id > c.id));
        return [200, { total_count: list.length, check_runs: page(list, query, path, res).map(checkRun) }];
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (held !== undefined) {
      heldCount++;
      await held;
      heldCount--;
    }
    const url = new URL(req.url ?? '/', base);
    const query = Object.fromEntries(url.searchParams);
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    const exchange: GitHubExchange = { operationId: null, method: req.method ?? 'GET', path: url.pathname, query, body: raw === '' ? undefined : raw, status: 500, response: null };
    const answer = (status: number, value: unknown): void => {
      exchange.status = status;
      exchange.response = value;
      exchanges.push(exchange);
      res.statusCode = status;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('x-github-media-type', 'github.v3; format=json');
      res.end(value === undefined ? '' : JSON.stringify(value));
    };
    try {
      if (down) throw new HttpError(503, { message: 'Service Unavailable', documentation_url: DOCS, status: '503' });
      const auth = req.headers.authorization;
      const presented = auth?.match(/^(?:bearer|token)\s+(\S+)$/i)?.[1];
      if (presented === undefined) throw new HttpError(401, { message: 'Requires authentication', documentation_url: DOCS, status: '401' });
      if (presented !== token) throw new HttpError(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
      const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (route === undefined) throw notFound();
      exchange.operationId = route.operationId;
      if (raw !== '') {
        try {
          const parsed: unknown = JSON.parse(raw);
          if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('not an object');
          body = (parsed ?? {}) as Record<string, unknown>;
          exchange.body = parsed;
        } catch {
          throw new HttpError(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });
        }
      }
      const [status, value] = await route.handle(url.pathname.match(route.pattern) ?? [], query, body, res, url.pathname);
      answer(status, value);
    } catch (error) {
      if (error instanceof HttpError) answer(error.status, error.body);
      else answer(500, { message: error instanceof Error ? error.message : String(error), documentation_url: DOCS, status: '500' });
    }
  }

  return {
    url: base,
    token,
    owner,
    repo: repoName,
    login,
    barePath: bare,
    exchanges,
    async addCheckRun(input) {
      const at = now();
      const status = input.status ?? 'completed';
      const c: CheckRunState = { ...input, status, id: nextId++, startedAt: at, completedAt: status === 'completed' ? at : null };
      checkRuns.push(c);
      return checkRun(c);
    },
    async addReviewComment(input) {
      const p = pull(String(input.pullNumber));
      const commitId = input.commitId ?? (await headSha(p));
      const reviewer = input.login ?? 'octo-reviewer';
      const at = now();
      const r: ReviewState = { id: nextId++, pullNumber: p.number, state: 'COMMENTED', body: '', login: reviewer, commitId, at };
      reviews.push(r);
      const side = input.side ?? 'RIGHT';
      const mergeBase = await git(bare, 'merge-base', p.mergedBaseSha ?? (await branchSha(p.base)) ?? commitId, commitId).catch(() => commitId);
      const c: ReviewCommentState = {
        id: nextId++,
        pullNumber: p.number,
        reviewId: r.id,
        path: input.path,
        line: input.line,
        side,
        body: input.body,
        login: reviewer,
        commitId,
        diffHunk: await diffHunk(bare, mergeBase, commitId, input.path, input.line, side),
        at,
      };
      comments.push(c);
      return reviewComment(c);
    },
    async addReview(input) {
      const p = pull(String(input.pullNumber));
      const r: ReviewState = { id: nextId++, pullNumber: p.number, state: input.state, body: input.body ?? '', login: input.login ?? 'octo-reviewer', commitId: await headSha(p), at: now() };
      reviews.push(r);
      return review(r);
    },
    outage(on) {
      down = on;
    },
    hold() {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        held = undefined;
        release();
      };
    },
    waiting: () => heldCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

async function isAncestor(cwd: string, a: string, b: string): Promise<boolean> {
  try {
    await run('git', ['merge-base', '--is-ancestor', a, b], { cwd });
    return true;
  } catch {
    return false;
  }
}

/** The merged tree of two commits, or null on a conflict (`merge-tree` exits 1). */
async function mergeTree(cwd: string, ours: string, theirs: string): Promise<{ tree: string | null }> {
  try {
    const out = await git(cwd, 'merge-tree', '--write-tree', '--no-messages', ours, theirs);
    return { tree: out.split('\n')[0] ?? null };
  } catch (error) {
    if ((error as { code?: unknown }).code === 1) return { tree: null };
    throw error;
  }
}

/** The file's hunk that holds the line (on its side), up to that line, as GitHub's `diff_hunk`; the first hunk when none does. */
async function diffHunk(cwd: string, from: string, to: string, path: string, line: number, side: 'LEFT' | 'RIGHT'): Promise<string> {
  const patch = await git(cwd, 'diff', from, to, '--', path).catch(() => '');
  const hunks = patch.split(/\n(?=@@ )/).filter((h) => h.startsWith('@@ '));
  for (const hunk of hunks) {
    const head = hunk.match(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/);
    if (head === null) continue;
    const start = Number(side === 'LEFT' ? head[1] : head[3]);
    const count = Number((side === 'LEFT' ? head[2] : head[4]) ?? 1);
    if (line < start || line >= start + count) continue;
    const lines = hunk.split('\n');
    let n = start - 1;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i] ?? '';
      if (!l.startsWith(side === 'LEFT' ? '+' : '-')) n++;
      if (n === line) return lines.slice(0, i + 1).join('\n');
    }
    return hunk;
  }
  return hunks[0] ?? `@@ -0,0 +1,${line} @@`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
