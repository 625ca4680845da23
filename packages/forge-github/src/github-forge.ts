/**
 * GitHub as a project's forge, through Octokit (`@octokit/rest`): core's `Forge` interface
 * (docs/git-tasks-design.md, "The forge"). Contract:
 * - `ensurePullRequest` is idempotent: it lists the open pull requests of `owner:head` into
 *   `base` first and opens one only when there is none; a create that races another (GitHub's
 *   422 "A pull request already exists") is answered by listing again.
 * - `mergePullRequest` passes the expected head `sha`: GitHub refuses (409) when the branch moved,
 *   so a newer push is never merged unseen; that and GitHub's 405 (not mergeable: a conflict, a
 *   required check or review missing) are `INVALID_STATE` with GitHub's words.
 * - Any other error answer, or no answer, is `FORGE_FAILED` with the status and GitHub's message
 *   in `details`. The token is given to Octokit and never put in a message, a detail or a log
 *   (Octokit's own logging is silenced: it would print request URLs and bodies).
 */
import { Octokit } from '@octokit/rest';
import { TinyError } from '@tinyagi/core';
import type { CreateForge, Forge, ForgeCheckRun, ForgeConnection, ForgeMergeResult, ForgePullRequest, ForgeReview, ForgeReviewComment } from '@tinyagi/git-tasks';

const PER_PAGE = 100;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface GitHubPull {
  number: number;
  html_url: string;
  title: string;
  state: string;
  merged_at: string | null;
  merged?: boolean;
  head: { ref: string; sha: string };
  base: { ref: string };
  merge_commit_sha: string | null;
  mergeable?: boolean | null;
}

function pullRequest(p: GitHubPull): ForgePullRequest {
  return {
    number: p.number,
    url: p.html_url,
    title: p.title,
    state: p.state === 'closed' ? 'closed' : 'open',
    merged: p.merged ?? p.merged_at !== null,
    headRef: p.head.ref,
    headSha: p.head.sha,
    baseRef: p.base.ref,
    mergeCommitSha: p.merge_commit_sha,
    mergeable: p.mergeable ?? null,
  };
}

/** GitHub's error answer: its status and message (and its `errors` list's messages), never the request. */
function forgeError(error: unknown, what: string, connection: ForgeConnection): TinyError {
  // Octokit calls an unreachable server status 500 without a response: that is no answer at all.
  const response = (error as { response?: { status?: unknown; data?: unknown } }).response;
  const status = typeof response?.status === 'number' ? response.status : null;
  const data = response?.data as { message?: unknown; errors?: Array<{ message?: unknown; code?: unknown }> } | undefined;
  const detail = [typeof data?.message === 'string' ? data.message : null, ...(data?.errors ?? []).map((e) => (typeof e.message === 'string' ? e.message : typeof e.code === 'string' ? e.code : null))]
    .filter((x): x is string => x !== null && x !== '')
    .join('; ');
  const said = detail !== '' ? detail : status === null ? (error instanceof Error ? error.message : String(error)) : `HTTP ${status}`;
  const repo = `${connection.owner}/${connection.repo}`;
  const hint =
    status === 401
      ? "Check the token the binding's forge names (forge.tokenEnv): GitHub did not accept it."
      : status === 403 || status === 404
        ? `Check that the token may read and write pull requests of ${repo}.`
        : undefined;
  return new TinyError('FORGE_FAILED', `GitHub could not ${what} for ${repo}: ${said}`, { details: { status, message: said }, ...(hint === undefined ? {} : { hint }) });
}

export const createGitHubForge: CreateForge = (connection) => new GitHubForge(connection);

class GitHubForge implements Forge {
  readonly #octokit: Octokit;
  readonly #connection: ForgeConnection;

  constructor(connection: ForgeConnection) {
    this.#connection = connection;
    this.#octokit = new Octokit({
      auth: connection.token,
      log: quiet,
      userAgent: 'tinyagi-forge-github',
      ...(connection.apiUrl === undefined ? {} : { baseUrl: connection.apiUrl.replace(/\/+$/, '') }),
    });
  }

  get #repo(): { owner: string; repo: string } {
    return { owner: this.#connection.owner, repo: this.#connection.repo };
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw forgeError(error, what, this.#connection);
    }
  }

  async #openFor(head: string, base: string): Promise<GitHubPull | undefined> {
    const list = await this.#call('list the pull requests', () => this.#octokit.rest.pulls.list({ ...this.#repo, state: 'open', head: `${this.#connection.owner}:${head}`, base, per_page: PER_PAGE }));
    return (list.data as GitHubPull[]).find((p) => p.head.ref === head && p.base.ref === base);
  }

  async ensurePullRequest(input: { head: string; base: string; title: string; body: string }): Promise<{ pullRequest: ForgePullRequest; created: boolean }> {
    const open = await this.#openFor(input.head, input.base);
    if (open !== undefined) return { pullRequest: pullRequest(open), created: false };
    try {
      const created = await this.#octokit.rest.pulls.create({ ...this.#repo, head: input.head, base: input.base, title: input.title, body: input.body });
      return { pullRequest: pullRequest(created.data as GitHubPull), created: true };
    } catch (error) {
      // Opened meanwhile (another node, a person): that one is the task's.
      if ((error as { status?: unknown }).status === 422) {
        const raced = await this.#openFor(input.head, input.base);
        if (raced !== undefined) return { pullRequest: pullRequest(raced), created: false };
      }
      throw forgeError(error, `open a pull request for ${input.head}`, this.#connection);
    }
  }

  async getPullRequest(number: number): Promise<ForgePullRequest> {
    const got = await this.#call(`read pull request #${number}`, () => this.#octokit.rest.pulls.get({ ...this.#repo, pull_number: number }));
    return pullRequest(got.data as GitHubPull);
  }

  async listCheckRuns(sha: string): Promise<ForgeCheckRun[]> {
    const runs = await this.#call(`list the check runs of ${sha.slice(0, 12)}`, () =>
      this.#octokit.paginate(this.#octokit.rest.checks.listForRef, { ...this.#repo, ref: sha, filter: 'latest', per_page: PER_PAGE }),
    );
    return runs.map((r) => ({
      id: r.id,
      name: r.name,
      headSha: r.head_sha,
      status: r.status,
      conclusion: r.conclusion ?? null,
      url: r.html_url ?? r.details_url ?? null,
      title: r.output.title ?? null,
      summary: r.output.summary ?? null,
      text: r.output.text ?? null,
    }));
  }

  async listReviewComments(number: number): Promise<ForgeReviewComment[]> {
    const comments = await this.#call(`list the review comments of pull request #${number}`, () =>
      this.#octokit.paginate(this.#octokit.rest.pulls.listReviewComments, { ...this.#repo, pull_number: number, per_page: PER_PAGE }),
    );
    return comments.map((c) => ({
      id: c.id,
      path: c.path,
      line: c.line ?? null,
      side: c.side ?? null,
      body: c.body,
      author: c.user?.login ?? 'ghost',
      commitId: c.commit_id,
      url: c.html_url,
      createdAt: c.created_at,
    }));
  }

  async listReviews(number: number): Promise<ForgeReview[]> {
    const reviews = await this.#call(`list the reviews of pull request #${number}`, () =>
      this.#octokit.paginate(this.#octokit.rest.pulls.listReviews, { ...this.#repo, pull_number: number, per_page: PER_PAGE }),
    );
    return reviews.map((r) => ({ id: r.id, state: r.state, body: r.body ?? '', author: r.user?.login ?? 'ghost', commitId: r.commit_id ?? null, url: r.html_url }));
  }

  async mergePullRequest(input: { number: number; sha: string; method: 'merge' | 'squash' | 'rebase'; title?: string }): Promise<ForgeMergeResult> {
    try {
      const merged = await this.#octokit.rest.pulls.merge({
        ...this.#repo,
        pull_number: input.number,
        sha: input.sha,
        merge_method: input.method,
        ...(input.title === undefined ? {} : { commit_title: input.title }),
      });
      return { merged: merged.data.merged, sha: merged.data.sha, message: merged.data.message };
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (status === 405 || status === 409) {
        const said = forgeError(error, `merge pull request #${input.number}`, this.#connection);
        throw new TinyError('INVALID_STATE', said.message, {
          details: said.details,
          hint:
            status === 409
              ? 'The branch moved on GitHub since it was checked: check the new head (tinyagi task check, or Check again in TinyOffice), then merge.'
              : 'Resolve what GitHub names on the pull request (a conflict, a required check or review), then merge again.',
        });
      }
      throw forgeError(error, `merge pull request #${input.number}`, this.#connection);
    }
  }
}
