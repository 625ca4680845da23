/**
 * The failures of a task's Checking as its owner receives them (docs/git-tasks.md, feedback):
 * each missing fact a sentence with a fingerprint that names it, stable for the same failure
 * (so it is sent once) and new when the failure is another. Pure: facts in, failures out.
 */
import { describe, expect, it } from 'vitest';
import type { TaskCheckResult } from '@tinyagi/client/contract';
import { recordedFailures } from '../src/checking-step.ts';
import { factFailures } from '../src/done-facts/index.ts';

/** The failures of these facts, as the Checking reads them (each done-fact's module). */
function taskFailures(
  f: { branch: string; headSha: string; commits: unknown[]; uncommitted: string[]; push?: { pushed: boolean; reason?: string } },
  checks: TaskCheckResult[],
  baseRef: string,
  worktreeFilesCommitted: string[] = [],
) {
  return factFailures({ branch: f.branch, baseRef, headSha: f.headSha, commits: f.commits.length, uncommitted: f.uncommitted, worktreeFilesCommitted, checks, push: f.push });
}

const head = 'a'.repeat(40);
const facts = { branch: 'tinyagi/WEB-1-x', headSha: head, commits: [], uncommitted: ['b.ts', 'a.ts'], push: { pushed: false, reason: 'the remote has no branch tinyagi/WEB-1-x' } };
const failed: TaskCheckResult = {
  name: 'test',
  argv: ['pnpm', 'test'],
  exitCode: null,
  signal: 'SIGKILL',
  timedOut: true,
  timeoutMs: 30_000,
  ok: false,
  durationMs: 30_004,
  log: `${'x'.repeat(5000)}\nwaiting for the server`,
  omittedBytes: 0,
  fingerprint: 'f'.repeat(32),
};

const passing: TaskCheckResult = { name: 'lint', argv: ['pnpm', 'lint'], exitCode: 0, signal: null, timedOut: false, ok: true, durationMs: 5, log: 'ok', omittedBytes: 0 };

describe("the done-facts' failures", () => {
  it('says what is missing, each with a fingerprint: no commits, uncommitted paths, a check timed out with its tail, not pushed', () => {
    const failures = taskFailures(facts, [failed, passing], 'main');
    expect(failures.map((f) => f.text.split('\n')[0])).toEqual([
      'No commits: the branch tinyagi/WEB-1-x has no commits beyond main. Commit your work on it.',
      'Uncommitted changes in the worktree: a.ts, b.ts. Commit them (or remove them): what is checked and pushed is what is committed.',
      'The check "test" (`pnpm test`) timed out after 30 s. The end of its output:',
      'Not pushed: the remote has no branch tinyagi/WEB-1-x. Push the branch tinyagi/WEB-1-x.',
    ]);
    expect(failures[2]!.fingerprint).toBe('f'.repeat(32));
    // The tail, bounded: the end of the log, not all of it.
    expect(failures[2]!.text).toContain('waiting for the server');
    expect(failures[2]!.text.length).toBeLessThan(4_300);
    expect(new Set(failures.map((f) => f.fingerprint)).size).toBe(4);
    // What a reminder of a failure sent before says: one sentence, no log.
    expect(failures[2]!.summary).toBe('The check "test" (`pnpm test`) timed out after 30 s.');
    expect(failures.filter((f) => f !== failures[2]).every((f) => f.summary === f.text)).toBe(true);
  });

  it('sends a check’s excerpt (its failing lines and the end) instead of the end of its log', () => {
    const excerpt = "not ok 21 keeps the trailing slash\n  ---\n    actual:   '/a/b'\n  ...\n… 3,120 bytes cut …\n# fail  1\n";
    const log = `not ok 21 keeps the trailing slash\n${'ok 1 passes\n'.repeat(600)}# fail  1\n`;
    const [failure] = taskFailures(
      { ...facts, commits: [{ sha: head, subject: 's', committedAt: 1 }], uncommitted: [], push: { pushed: true } },
      [{ ...failed, timedOut: false, exitCode: 1, log, excerpt }],
      'main',
    );
    expect(failure!.text).toContain('Its failing lines and the end of its output:');
    expect(failure!.text).toContain(excerpt);
    expect(failure!.text).not.toContain('ok 1 passes');
  });

  it('the same failure gives the same fingerprints (paths in any order); another commit gives new ones', () => {
    const once = taskFailures(facts, [], 'main').map((f) => f.fingerprint);
    expect(taskFailures({ ...facts, uncommitted: ['a.ts', 'b.ts'] }, [], 'main').map((f) => f.fingerprint)).toEqual(once);
    const later = taskFailures({ ...facts, headSha: 'b'.repeat(40) }, [], 'main').map((f) => f.fingerprint);
    expect(later.filter((f) => once.includes(f))).toEqual([]);
    expect(taskFailures({ ...facts, commits: [{ sha: head, subject: 's', committedAt: 1 }], uncommitted: [], push: { pushed: true } }, [], 'main')).toEqual([]);
  });

  it("a committed linked path is a failure with the command that fixes it, also when read back from the recorded Checking (a person's more rounds)", () => {
    const done = { ...facts, commits: [{ sha: head, subject: 's', committedAt: 1 }], uncommitted: [], push: { pushed: true } };
    const [failure, ...rest] = taskFailures(done, [passing], 'main', ['node_modules']);
    expect(rest).toEqual([]);
    expect(failure!.text).toBe(
      "The branch's commits add node_modules, which the binding copies or links into each worktree: it must not be committed (the merge would replace your node_modules with it). Remove it from the branch: git rm -r --cached -- node_modules, then commit.",
    );
    const recorded = recordedFailures(
      {
        state: 'failed',
        headSha: head,
        startedAt: 1,
        finishedAt: 2,
        commits: 1,
        uncommitted: [],
        worktreeFilesCommitted: ['node_modules'],
        pushed: true,
        checks: [passing],
        missing: [failure!.summary],
        error: null,
      },
      done.branch,
      'main',
    );
    expect(recorded).toEqual([failure]);
  });
});
