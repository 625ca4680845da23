/**
 * The forge's words to the owner (docs/git-tasks.md, "With a GitHub forge"): a failed check
 * run and a review as the message carries them, and the pull request's base from the binding's.
 * Pure: no git, no network.
 */
import { describe, expect, it } from 'vitest';
import { checkRunText, forgeBaseBranch, reviewText } from '../src/forge-step.ts';
import { reviewMessage } from '../src/review-step.ts';

const run = { id: 7, name: 'ci', headSha: 'abc', status: 'completed', conclusion: 'failure', url: 'https://github.example/runs/7', title: '2 failed', summary: 'login.test.ts', text: null };

describe('the forge in the owner message', () => {
  it('a failed check run: its name, conclusion, title and link, its summary, the tail of a long text', () => {
    expect(checkRunText(run, 'GitHub')).toBe('The check run "ci" on GitHub ended failure: 2 failed. https://github.example/runs/7\nlogin.test.ts');
    const long = checkRunText({ ...run, title: null, summary: null, url: null, text: `${'x'.repeat(5000)}END` }, 'GitHub');
    expect(long.split('\n')[0]).toBe('The check run "ci" on GitHub ended failure.');
    expect(long.split('\n')[1]).toHaveLength(4001);
    expect(long.endsWith('END')).toBe(true);
    expect(checkRunText({ ...run, conclusion: null, status: 'completed', title: null, url: null, summary: null }, 'GitHub')).toBe('The check run "ci" on GitHub ended completed.');
  });

  it('a review: who, what it asks, its body', () => {
    expect(reviewText({ id: 1, state: 'CHANGES_REQUESTED', body: ' Not yet. \n', author: 'ann', commitId: 'abc', url: 'https://github.example/pull/1#r1' }, 'GitHub')).toBe(
      'ann requested changes on GitHub (https://github.example/pull/1#r1):\nNot yet.',
    );
    expect(reviewText({ id: 2, state: 'COMMENTED', body: 'Why?', author: 'bob', commitId: null, url: 'u' }, 'GitHub')).toBe('bob commented on GitHub (u):\nWhy?');
  });

  it("the pull request's base is the binding's base without the remote", () => {
    expect(forgeBaseBranch('origin/main', 'origin')).toBe('main');
    expect(forgeBaseBranch('main', 'origin')).toBe('main');
    expect(forgeBaseBranch('refs/heads/release/1.2', 'origin')).toBe('release/1.2');
    expect(forgeBaseBranch('upstream/dev', 'upstream')).toBe('dev');
  });

  it("the message's first sentence says who asks when it is not a person", () => {
    const task = { id: 't1', identifier: 'WEB-1', title: 'Fix login' };
    expect(
      reviewMessage(task, [], { author: 'github', content: 'From the pull request u:\n\nx' }, 2, '/w/WEB-1', 'Its pull request #1 on GitHub asks for changes (round 2): a failed check run.').split(
        '\n\n',
      ),
    ).toEqual([
      '[task:t1] WEB-1: Fix login',
      'Its pull request #1 on GitHub asks for changes (round 2): a failed check run.',
      'In summary, from github:\nFrom the pull request u:',
      'x',
      'Fix it in the worktree /w/WEB-1, commit, and say the task is done again.',
    ]);
  });
});
