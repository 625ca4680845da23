/**
 * Auto-merge (docs/git-tasks.md, "Auto-merge"): whether the binding's `autoMerge`
 * merges a task in Review now. Pure: the caller reads the task, and with a forge its pull
 * request's check runs and reviews, and merges through the same step a person's merge runs.
 */
import type { AutoMerge, TaskAutoMergeRefusal, TaskGit } from '@tinyagi/client/contract';
import type { ForgeCheckRun, ForgeReview } from './forge.ts';

export type AutoMergeDecision = { merge: true } | { merge: false; waiting: string };

/** Conclusions of a completed check run that let a merge go on (GitHub's "passing" ones). */
const PASSING = new Set(['success', 'neutral', 'skipped']);

export interface AutoMergeInput {
  autoMerge: AutoMerge;
  status: string;
  git: TaskGit | null | undefined;
  /**
   * With a forge: the pull request's head and what the forge says of it. `quietMs`: how long after
   * the pull request opened (`openedAt`) no check runs at all still means its CI has not
   * registered them yet (a CI's runs appear some seconds after the push), not that there are none.
   */
  forge?: { headSha: string; checkRuns: readonly ForgeCheckRun[]; reviews: readonly ForgeReview[]; openedAt: number; quietMs: number; now: number };
}

export function autoMergeDecision({ autoMerge, status, git, forge }: AutoMergeInput): AutoMergeDecision {
  if (status !== 'review') return { merge: false, waiting: `the task is in ${status}, not review` };
  if (git?.merge !== undefined) return { merge: false, waiting: 'the task is merged already' };
  if (git?.autoMergeWithheld !== undefined) return { merge: false, waiting: `its auto-merge is withheld: ${git.autoMergeWithheld.why}` };
  const check = git?.check;
  if (check?.state !== 'passed' || check.headSha === null) return { merge: false, waiting: 'its Checking has not passed' };
  if (forge === undefined) return { merge: true };
  // What the Checking proved is what the forge's head must be: a newer push is checked first.
  if (forge.headSha !== check.headSha) return { merge: false, waiting: `the pull request's head ${forge.headSha.slice(0, 12)} is not the checked ${check.headSha.slice(0, 12)}` };
  if (forge.checkRuns.length === 0 && forge.now - forge.openedAt < forge.quietMs) return { merge: false, waiting: 'no check runs yet: its CI may not have registered them' };
  const open = forge.checkRuns.filter((r) => r.status !== 'completed');
  if (open.length > 0) return { merge: false, waiting: `check runs not finished: ${open.map((r) => r.name).join(', ')}` };
  const failing = forge.checkRuns.filter((r) => !PASSING.has(r.conclusion ?? ''));
  if (failing.length > 0) return { merge: false, waiting: `check runs not passing: ${failing.map((r) => `${r.name} (${r.conclusion})`).join(', ')}` };
  if (autoMerge.when === 'approved') {
    // Each person's latest review that approves or asks for changes is their verdict (GitHub's way; comments do not change it).
    const verdict = new Map<string, string>();
    for (const review of forge.reviews) if (review.state === 'APPROVED' || review.state === 'CHANGES_REQUESTED' || review.state === 'DISMISSED') verdict.set(review.author, review.state);
    const blocking = [...verdict].filter(([, state]) => state === 'CHANGES_REQUESTED').map(([who]) => who);
    if (blocking.length > 0) return { merge: false, waiting: `changes requested by ${blocking.join(', ')}` };
    const approvals = [...verdict.values()].filter((state) => state === 'APPROVED').length;
    if (approvals < autoMerge.approvals) return { merge: false, waiting: `${approvals} of ${autoMerge.approvals} approvals` };
  }
  return { merge: true };
}

/** The branch's tip and the base's commit as read now (null when unreadable). */
export interface MergeHeads {
  tip: string | null;
  base: string | null;
}

/** The first retry of a refused auto-merge comes this long after it, then twice as long each time, up to `RETRY_MAX_MS`. */
export const AUTO_MERGE_RETRY_MS = 30_000;
const RETRY_MAX_MS = 10 * 60_000;

/** Whether a refused auto-merge is tried again now: its branch or the base moved since, or its backoff is over. */
export function autoMergeRetryDue(refused: TaskAutoMergeRefusal | undefined, heads: MergeHeads, now: number): boolean {
  if (refused === undefined) return true;
  return refused.tip !== heads.tip || refused.base !== heads.base || now >= refused.retryAt;
}

/**
 * The refusal to record after an auto-merge was refused: `attempts` counts the refusals in a row for
 * the same reason (the message), and the next try waits twice as long after each.
 */
export function autoMergeRefusal(
  previous: TaskAutoMergeRefusal | undefined,
  refusal: { code: string; message: string; hint?: string | undefined },
  heads: MergeHeads,
  now: number,
): TaskAutoMergeRefusal {
  const attempts = previous?.message === refusal.message ? previous.attempts + 1 : 1;
  const wait = Math.min(AUTO_MERGE_RETRY_MS * 2 ** (attempts - 1), RETRY_MAX_MS);
  return { code: refusal.code, message: refusal.message, ...(refusal.hint ? { hint: refusal.hint } : {}), at: now, attempts, retryAt: now + wait, ...heads };
}
