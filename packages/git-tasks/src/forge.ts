/**
 * A forge (docs/git-tasks-design.md, "The forge"): where a repository-bound project's
 * pull requests, check runs and review comments live, and where its merges are made. Core
 * declares the interface only; an implementation is a package of its own that core never loads
 * (`@tinyagi/forge-github`, through Octokit), which the daemon imports when a bound project has a
 * `forge` in its binding. Every method talks to the forge's API; none touches the local repository.
 *
 * Errors are `TinyError`s: `FORGE_FAILED` (the forge answered with an error or could not be
 * reached: its HTTP status and message in `details`, never the token), `INVALID_STATE` for a
 * merge the forge refuses in the pull request's state (not mergeable, the head moved: the
 * expected sha no longer its head).
 */

/** A pull request as the forge has it now. */
export interface ForgePullRequest {
  number: number;
  /** Its page (for a person). */
  url: string;
  title: string;
  state: 'open' | 'closed';
  merged: boolean;
  headRef: string;
  /** The head's commit now (a push moves it). */
  headSha: string;
  baseRef: string;
  /** The merge's commit once merged. */
  mergeCommitSha: string | null;
  /** Null while the forge has not computed it. */
  mergeable: boolean | null;
}

/** A check run on a commit (GitHub Actions, another CI). */
export interface ForgeCheckRun {
  id: number;
  name: string;
  headSha: string;
  /** `queued`, `in_progress`, `completed` (others the forge may add). */
  status: string;
  /** Set once completed: `success`, `failure`, `timed_out`, `cancelled`, `neutral`, `skipped`, `action_required`. */
  conclusion: string | null;
  url: string | null;
  title: string | null;
  summary: string | null;
  text: string | null;
}

/** A review comment on a line of the pull request's diff. */
export interface ForgeReviewComment {
  id: number;
  path: string;
  /** The line in the file (null when GitHub no longer places it: the diff moved past it). */
  line: number | null;
  /** `RIGHT` the head's file, `LEFT` the base's. */
  side: 'LEFT' | 'RIGHT' | null;
  body: string;
  author: string;
  commitId: string;
  url: string;
  createdAt: string;
}

/** A submitted review of the pull request: its verdict and its body (the line comments are listed apart). */
export interface ForgeReview {
  id: number;
  /** `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`. */
  state: string;
  body: string;
  author: string;
  commitId: string | null;
  url: string;
}

export type ForgeMergeMethod = 'merge' | 'squash' | 'rebase';

export interface ForgeMergeResult {
  merged: boolean;
  /** The base's new commit. */
  sha: string;
  message: string;
}

export interface Forge {
  /** Finds the open pull request for `head` into `base`, or opens one: never two. */
  ensurePullRequest(input: { head: string; base: string; title: string; body: string }): Promise<{ pullRequest: ForgePullRequest; created: boolean }>;
  getPullRequest(number: number): Promise<ForgePullRequest>;
  /** The latest run of each check on a commit. */
  listCheckRuns(sha: string): Promise<ForgeCheckRun[]>;
  listReviewComments(number: number): Promise<ForgeReviewComment[]>;
  listReviews(number: number): Promise<ForgeReview[]>;
  /** Merges only while the head is `sha` (a newer push is not merged unseen). */
  mergePullRequest(input: { number: number; sha: string; method: ForgeMergeMethod; title?: string }): Promise<ForgeMergeResult>;
}

/** What an implementation is made from: the binding's forge and the token it names, read by the daemon. */
export interface ForgeConnection {
  owner: string;
  repo: string;
  /** The API's base URL (GitHub's own when absent). */
  apiUrl?: string;
  token: string;
}

/** An implementation package's entry point. */
export type CreateForge = (connection: ForgeConnection) => Forge;
