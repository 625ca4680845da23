/**
 * "Done" as facts (docs/git-tasks.md): commits beyond the base, a clean worktree, the checks'
 * results, and (with a remote) the branch pushed — by ancestry, so a remote branch that is ahead
 * still counts and one that lost the commit does not.
 */
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { collectDoneFacts } from '../src/facts.ts';
import { createTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, sh, task } from './fixture.ts';

afterEach(cleanupTemp);

/** A check that passes while `file` in the worktree holds `good`. */
const fileCheck = (name: string, file: string) => ({
  name,
  argv: [
    process.execPath,
    '-e',
    `const t = require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'); if (!t.includes('good')) { console.error('expected good, got ' + t.trim()); process.exitCode = 1 }`,
  ],
  timeoutMs: 10_000,
});

describe('collectDoneFacts', () => {
  it('is not done without commits, with a failing check, or unpushed; done when all hold', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project({ checks: [fileCheck('test', 'result.txt')] });
    const wt = await createTaskWorktree(ctx, task(1));

    const empty = await collectDoneFacts(ctx, task(1));
    expect(empty.done).toBe(false);
    expect(empty.commits).toEqual([]);
    expect(empty.missing[0]).toBe(`No commits: the branch ${wt.branch} has no commits beyond main. Commit your work on it.`);

    commitFile(wt.path, 'result.txt', 'bad\n', 'first try');
    const failing = await collectDoneFacts(ctx, task(1));
    expect(failing.commits.map((c) => c.subject)).toEqual(['first try']);
    expect(failing.checks[0]).toMatchObject({ name: 'test', exitCode: 1, ok: false });
    expect(failing.checks[0]!.tail).toContain('expected good, got bad');
    expect(failing.missing).toEqual([expect.stringContaining('The check "test"'), `Not pushed: origin has no branch ${wt.branch}. Push the branch ${wt.branch}.`]);

    const fix = commitFile(wt.path, 'result.txt', 'good\n', 'fix');
    sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
    const done = await collectDoneFacts(ctx, task(1));
    expect(done).toMatchObject({ done: true, missing: [], headSha: fix, push: { pushed: true, remoteTip: fix } });
    expect(done.commits.map((c) => c.subject)).toEqual(['fix', 'first try']);
  });

  it('holds "pushed" when the remote branch is ahead (ancestry, not equality), and not when it lost the commit', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    const mine = commitFile(wt.path, 'work.txt', 'mine\n');
    sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
    // Someone else adds a commit on the remote's branch (e.g. a forge merging the base into it).
    const other = join(fx.root, 'other');
    sh(fx.root, 'clone', '--quiet', '--branch', wt.branch, fx.remoteDir!, other);
    const theirs = commitFile(other, 'theirs.txt', 'theirs\n');
    sh(other, 'push', '--quiet', 'origin', wt.branch);

    const ahead = await collectDoneFacts(ctx, task(1));
    expect(ahead.headSha).toBe(mine);
    expect(ahead.push).toEqual({ pushed: true, remoteTip: theirs });
    expect(ahead.done).toBe(true);

    // The remote's branch is rewritten without our commit: not pushed, whatever the tracking ref said before.
    sh(other, 'reset', '--quiet', '--hard', 'origin/main');
    commitFile(other, 'rewrite.txt', 'rewrite\n');
    sh(other, 'push', '--quiet', '--force', 'origin', wt.branch);
    const rewritten = await collectDoneFacts(ctx, task(1));
    expect(rewritten.push?.pushed).toBe(false);
    expect(rewritten.done).toBe(false);

    // The remote's branch deleted: not pushed, and the stale tracking ref is gone.
    sh(other, 'push', '--quiet', 'origin', '--delete', wt.branch);
    const deleted = await collectDoneFacts(ctx, task(1));
    expect(deleted.push).toEqual({ pushed: false, reason: `origin has no branch ${wt.branch}` });
    expect(sh(fx.repoDir, 'branch', '--remotes', '--list', `origin/${wt.branch}`)).toBe('');
  });

  it('does not count uncommitted work as done', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'a.txt', 'a\n');
    commitFile(wt.path, 'b.txt', 'b\n');
    sh(wt.path, 'rm', '--quiet', 'b.txt');
    const facts = await collectDoneFacts(ctx, task(1));
    expect(facts.push).toBeUndefined();
    expect(facts.uncommitted).toEqual(['b.txt']);
    expect(facts.missing).toEqual(['Uncommitted changes in the worktree: b.txt. Commit them (or remove them): what is checked and pushed is what is committed.']);
  });
});
