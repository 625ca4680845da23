/**
 * A person's review comments as the task's owner receives them (docs/git-tasks.md, "Review
 * comments"): the message (each comment as `path:line` with its author, the line's text and the
 * comment, then the summary) and an anchor checked against the diff's files (a line's text is
 * read by the client's patchLineText: packages/client/test/diff-text.test.ts). Pure: text in, text out.
 */
import { describe, expect, it } from 'vitest';
import type { TaskDiff, TaskDiffFile } from '@tinyagi/client/contract';
import { isTinyError } from '@tinyagi/core';
import { anchoredFile } from '../src/review-anchor.ts';
import { reviewMessage } from '../src/review-step.ts';

const patch = [
  'diff --git a/login.ts b/login.ts',
  'index 1111111..2222222 100644',
  '--- a/login.ts',
  '+++ b/login.ts',
  '@@ -1,4 +1,4 @@',
  ' import { check } from "./check";',
  '-export const fixed = false;',
  '+export const fixed = true;',
  ' const a = 1;',
  ' const b = 2;',
  '@@ -20,2 +20,3 @@ function later() {',
  ' const y = 20;',
  '+const z = 21;',
  ' const end = 22;',
  '\\ No newline at end of file',
  '',
].join('\n');

function file(path: string, status: TaskDiffFile['status'], oldPath: string | null = null): TaskDiffFile {
  return { path, oldPath, status, additions: 1, deletions: 1, binary: false, patch: status === 'modified' ? patch : '', truncated: false, omittedBytes: 0 };
}

const diff: Pick<TaskDiff, 'files' | 'omitted' | 'tip'> = {
  tip: 'c'.repeat(40),
  omitted: { files: 0, bytes: 0 },
  files: [file('login.ts', 'modified'), file('src/new-name.ts', 'renamed', 'src/old-name.ts'), file('gone.ts', 'deleted'), file('added.ts', 'added')],
};

function refusal(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (isTinyError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  return undefined;
}

describe('anchoredFile', () => {
  it("finds the diff's file by its path, a renamed file's old path on the base's side; refuses another path, a deleted file's new side and an added file's old side", () => {
    expect(anchoredFile(diff, { path: 'login.ts', line: 2, side: 'new' }, 'WEB-1').path).toBe('login.ts');
    expect(anchoredFile(diff, { path: 'src/old-name.ts', line: 3, side: 'old' }, 'WEB-1').path).toBe('src/new-name.ts');
    expect(anchoredFile(diff, { path: 'src/new-name.ts', line: 3, side: 'old' }, 'WEB-1').path).toBe('src/new-name.ts');
    expect(anchoredFile(diff, { path: 'gone.ts', line: 1, side: 'old' }, 'WEB-1').status).toBe('deleted');

    expect(refusal(() => anchoredFile(diff, { path: 'README.md', line: 1, side: 'new' }, 'WEB-1'))).toEqual({
      code: 'INVALID_PATH',
      message: `"README.md" is not a file of task WEB-1's diff (at ${'c'.repeat(12)}); its files: login.ts, src/new-name.ts, gone.ts, added.ts.`,
    });
    // A renamed file's old path is the base's: not a path of the branch.
    expect(refusal(() => anchoredFile(diff, { path: 'src/old-name.ts', line: 3, side: 'new' }, 'WEB-1'))?.code).toBe('INVALID_PATH');
    expect(refusal(() => anchoredFile(diff, { path: 'gone.ts', line: 1, side: 'new' }, 'WEB-1'))?.message).toBe('"gone.ts" is deleted by task WEB-1: it has only the base\'s lines.');
    expect(refusal(() => anchoredFile(diff, { path: 'added.ts', line: 1, side: 'old' }, 'WEB-1'))?.message).toBe('"added.ts" is added by task WEB-1: the base has no lines of it.');
  });
});

describe('reviewMessage', () => {
  it("says a person asks for changes in round n, then each comment as path:line with its author, the line's text and the comment, the summary, and what to do", () => {
    const task = { id: 'task_1', identifier: 'WEB-1', title: 'Fix login' };
    const anchor = (path: string, line: number, side: 'new' | 'old') => ({ path, line, side, commitSha: 'c'.repeat(40) });
    const message = reviewMessage(
      task,
      [
        { comment: { author: 'ann', content: 'Keep it false until the flag ships.', anchor: anchor('login.ts', 2, 'new') }, lineText: 'export const fixed = true;' },
        { comment: { author: 'user', content: 'Why was this removed?', anchor: anchor('gone.ts', 7, 'old') } },
      ],
      { author: 'user', content: 'Close, but not yet.' },
      4,
      '/w/WEB-1',
    );
    expect(message).toMatchInlineSnapshot(`
      "[task:task_1] WEB-1: Fix login

      A person reviewed the task's diff and asks for changes (round 4): 2 comments on its lines.

      1. login.ts:2, from ann, on the line:
      > export const fixed = true;
      Keep it false until the flag ships.

      2. gone.ts:7 (the base's line), from user:
      Why was this removed?

      In summary, from user:
      Close, but not yet.

      Fix it in the worktree /w/WEB-1, commit, and say the task is done again."
    `);
    // A summary alone.
    expect(reviewMessage(task, [], { author: 'bob', content: 'Rename it.' }, 1, '/w/WEB-1').split('\n\n')).toEqual([
      '[task:task_1] WEB-1: Fix login',
      "A person reviewed the task's diff and asks for changes (round 1).",
      'In summary, from bob:\nRename it.',
      'Fix it in the worktree /w/WEB-1, commit, and say the task is done again.',
    ]);
  });
});
