/**
 * Auto-merge (docs/git-tasks.md): `autoMergeDecision` merges a task in Review whose Checking
 * passed; with a forge only once every check run on the pull request's head passed and, for
 * `approved`, enough people's latest verdict approves; never one whose auto-merge is withheld (a
 * best of N's candidate); it waits, saying on what, otherwise. A refused merge is tried again
 * when the branch or the base moves, else after a growing backoff.
 */
import { describe, expect, it } from 'vitest';
import type { TaskGit } from '@tinyagi/client/contract';
import { AUTO_MERGE_RETRY_MS, autoMergeDecision, autoMergeRefusal, autoMergeRetryDue } from '../src/auto-merge.ts';
import type { ForgeCheckRun, ForgeReview } from '../src/forge.ts';

const sha = 'a'.repeat(40);
const git = (state: 'passed' | 'failed' | 'running', extra: Partial<TaskGit> = {}): TaskGit => ({
  state: 'ready',
  branch: 'tinyagi/WEB-1-x',
  worktreePath: '/w',
  headSha: sha,
  error: null,
  updatedAt: 1,
  check: { state, headSha: state === 'running' ? null : sha, startedAt: 1, finishedAt: 2, commits: 1, uncommitted: [], pushed: null, checks: [], missing: [], error: null },
  ...extra,
});
const run = (name: string, status: string, conclusion: string | null): ForgeCheckRun => ({ id: 1, name, headSha: sha, status, conclusion, url: null, title: null, summary: null, text: null });
const review = (author: string, state: string): ForgeReview => ({ id: 1, state, body: '', author, commitId: sha, url: '' });
const checked = { when: 'checked' as const, method: 'merge' as const, approvals: 1 };
const approved = (n: number) => ({ when: 'approved' as const, method: 'merge' as const, approvals: n });

describe('autoMergeDecision', () => {
  it('without a forge: merges a task in review whose Checking passed, and nothing else', () => {
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed') })).toEqual({ merge: true });
    expect(autoMergeDecision({ autoMerge: checked, status: 'in_progress', git: git('passed') })).toMatchObject({ merge: false, waiting: 'the task is in in_progress, not review' });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('failed') })).toMatchObject({ merge: false });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('running') })).toMatchObject({ merge: false });
    // A person moved it to review without a Checking: no facts, no auto-merge.
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: { ...git('passed'), check: undefined } })).toMatchObject({ merge: false });
    const merged = git('passed', { merge: { method: 'merge', branch: 'b', baseRef: 'main', tip: sha, commit: sha, mergedAt: 1 } });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: merged })).toMatchObject({ merge: false, waiting: 'the task is merged already' });
    // A best of N's candidate: withheld until its workflow picks it.
    const withheld = git('passed', { autoMergeWithheld: { why: 'best of 3 in workflow run wf_1', at: 1 } });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: withheld })).toEqual({ merge: false, waiting: 'its auto-merge is withheld: best of 3 in workflow run wf_1' });
  });

  it('with a forge: the head must be the checked commit and every check run completed and passing', () => {
    const forge = (checkRuns: ForgeCheckRun[], headSha = sha) => ({ headSha, checkRuns, reviews: [], openedAt: 0, quietMs: 0, now: 1 });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: forge([]) })).toEqual({ merge: true });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: forge([run('ci', 'completed', 'success'), run('lint', 'completed', 'skipped')]) })).toEqual({
      merge: true,
    });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: forge([run('ci', 'in_progress', null)]) })).toEqual({
      merge: false,
      waiting: 'check runs not finished: ci',
    });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: forge([run('ci', 'completed', 'failure')]) })).toEqual({
      merge: false,
      waiting: 'check runs not passing: ci (failure)',
    });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: forge([], 'b'.repeat(40)) })).toMatchObject({
      merge: false,
      waiting: expect.stringContaining('is not the checked'),
    });
    // No check runs within a poll of the pull request opening: its CI may not have registered them yet.
    const fresh = { headSha: sha, checkRuns: [], reviews: [], openedAt: 1000, quietMs: 120_000 };
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: { ...fresh, now: 60_000 } })).toMatchObject({
      merge: false,
      waiting: expect.stringContaining('no check runs yet'),
    });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: { ...fresh, now: 121_000 } })).toEqual({ merge: true });
    expect(autoMergeDecision({ autoMerge: checked, status: 'review', git: git('passed'), forge: { ...fresh, checkRuns: [run('ci', 'completed', 'success')], now: 60_000 } })).toEqual({ merge: true });
  });

  it('approved: counts each person once by their latest verdict; a request for changes blocks until they approve', () => {
    const forge = (reviews: ForgeReview[]) => ({ headSha: sha, checkRuns: [run('ci', 'completed', 'success')], reviews, openedAt: 0, quietMs: 0, now: 1 });
    expect(autoMergeDecision({ autoMerge: approved(1), status: 'review', git: git('passed'), forge: forge([]) })).toEqual({ merge: false, waiting: '0 of 1 approvals' });
    expect(autoMergeDecision({ autoMerge: approved(1), status: 'review', git: git('passed'), forge: forge([review('ann', 'COMMENTED'), review('ann', 'APPROVED')]) })).toEqual({ merge: true });
    expect(autoMergeDecision({ autoMerge: approved(2), status: 'review', git: git('passed'), forge: forge([review('ann', 'APPROVED'), review('ann', 'APPROVED')]) })).toEqual({
      merge: false,
      waiting: '1 of 2 approvals',
    });
    expect(autoMergeDecision({ autoMerge: approved(1), status: 'review', git: git('passed'), forge: forge([review('ann', 'APPROVED'), review('bob', 'CHANGES_REQUESTED')]) })).toEqual({
      merge: false,
      waiting: 'changes requested by bob',
    });
    expect(autoMergeDecision({ autoMerge: approved(1), status: 'review', git: git('passed'), forge: forge([review('bob', 'CHANGES_REQUESTED'), review('bob', 'APPROVED')]) })).toEqual({ merge: true });
    // A comment after an approval keeps the approval.
    expect(autoMergeDecision({ autoMerge: approved(1), status: 'review', git: git('passed'), forge: forge([review('ann', 'APPROVED'), review('ann', 'COMMENTED')]) })).toEqual({ merge: true });
  });
});

describe('a refused auto-merge', () => {
  const heads = { tip: 'a'.repeat(40), base: 'b'.repeat(40) };
  const reason = { code: 'INVALID_STATE', message: 'notes.txt is in the way' };

  it('is tried again when the branch or the base moves, or once its backoff is over, which doubles for the same reason', () => {
    const first = autoMergeRefusal(undefined, reason, heads, 1000);
    expect(first).toEqual({ ...reason, at: 1000, attempts: 1, retryAt: 1000 + AUTO_MERGE_RETRY_MS, ...heads });
    expect(autoMergeRetryDue(undefined, heads, 0)).toBe(true);
    expect(autoMergeRetryDue(first, heads, 1001)).toBe(false);
    expect(autoMergeRetryDue(first, heads, first.retryAt)).toBe(true);
    expect(autoMergeRetryDue(first, { ...heads, tip: 'c'.repeat(40) }, 1001)).toBe(true);
    expect(autoMergeRetryDue(first, { ...heads, base: 'c'.repeat(40) }, 1001)).toBe(true);
    const second = autoMergeRefusal(first, reason, heads, 2000);
    expect(second).toMatchObject({ attempts: 2, retryAt: 2000 + 2 * AUTO_MERGE_RETRY_MS });
    // A new reason starts again from the first wait; the wait never exceeds ten minutes.
    expect(autoMergeRefusal(second, { ...reason, message: 'a conflict' }, heads, 3000)).toMatchObject({ attempts: 1, retryAt: 3000 + AUTO_MERGE_RETRY_MS });
    expect(autoMergeRefusal({ ...second, attempts: 40 }, reason, heads, 0).retryAt).toBe(600_000);
  });
});
